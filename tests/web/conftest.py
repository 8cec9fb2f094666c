"""Fixtures for the web tests: real Chromium, a loopback file server for the hashing
tests, and a real ``veil serve`` for the intake pages (/protect, /case).

The page's own JavaScript (src/veil/web/static/js) runs in Debian's headless
Chromium driven by Playwright. Nothing is downloaded: Playwright's bundled-browser
installer is never used; ``VEIL_CHROMIUM`` (default /usr/bin/chromium) names the
browser. These tests FAIL when Chromium or Playwright is missing (CI installs both:
``apt-get install -y chromium`` and the ``dev`` extra's ``playwright``).

Server routes (127.0.0.1, a free port):
  /                 an empty HTML page (the origin the tests run in)
  /static/...       src/veil/web/static (the real app will serve it at /static too)
  /data/...         the shared corpus (../shared/data), read-only
  /blob/<key>       bytes a test registered with ``web.put(key, data)``

The intake page tests use ``veil_server`` (``veil serve`` as a subprocess on a free
loopback port, its own VEIL_HOME and SQLite database, and a ``platform`` key made
with ``veil keys create``) and ``pages`` (fresh browser contexts on it; a page error
or console error such as a CSP violation fails the test). The server is configured
as an operator would: helplines (``web_support.HELPLINES``, with characters that
must be escaped) and a quick-exit destination, which is the test file server's
empty page: every navigation stays on loopback. Their accessibility test needs
axe-core: ``npm ci --prefix tests/web`` (``make install`` runs it).
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest

from served import free_port, stop, wait_ready

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "src" / "veil" / "web" / "static"
CHROMIUM = os.environ.get("VEIL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_HINT = (
    "install Debian's Chromium (apt-get update && apt-get install -y chromium) and "
    "the dev extra (pip install -e '.[dev]', which brings playwright); never run "
    "`playwright install`"
)

_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}
_INDEX = b"<!doctype html><html><head><meta charset='utf-8'><title>veil web tests</title>" \
    b"</head><body></body></html>"


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    blobs: dict[str, bytes]
    roots: dict[str, Path]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes; without this, Nagle + delayed
    # ACK stalls every keep-alive response by ~40 ms
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = unquote(urlsplit(self.path).path)
        if path == "/":
            return self._send(200, _INDEX, _TYPES[".html"])
        if path == "/favicon.ico":
            return self._send(204, b"", "image/x-icon")
        if path.startswith("/blob/"):
            data = self.server.blobs.get(path[len("/blob/"):])
            if data is None:
                return self._send(404, b"no such blob", "text/plain")
            return self._send(200, data, "application/octet-stream")
        for prefix, root in self.server.roots.items():
            if path.startswith(prefix):
                target = (root / path[len(prefix):]).resolve()
                if not target.is_relative_to(root) or not target.is_file():
                    return self._send(404, b"not found", "text/plain")
                ctype = _TYPES.get(target.suffix.lower(), "application/octet-stream")
                return self._send(200, target.read_bytes(), ctype)
        return self._send(404, b"not found", "text/plain")


class WebServer:
    def __init__(self, server: _Server) -> None:
        self._server = server
        self.base = f"http://127.0.0.1:{server.server_address[1]}"

    def put(self, key: str, data: bytes) -> str:
        """Serve ``data`` at /blob/<key>; returns the path."""
        self._server.blobs[key] = bytes(data)
        return f"/blob/{key}"

    def clear(self) -> None:
        self._server.blobs.clear()


@pytest.fixture(scope="session")
def web_server(shared_data: Path) -> Iterator[WebServer]:
    assert (STATIC / "js" / "pdq.js").is_file(), f"static assets missing under {STATIC}"
    server = _Server(("127.0.0.1", 0), _Handler)
    server.blobs = {}
    server.roots = {"/static/": STATIC.resolve(), "/data/": shared_data.resolve()}
    thread = threading.Thread(target=server.serve_forever, name="veil-web-test", daemon=True)
    thread.start()
    try:
        yield WebServer(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Any]:
    """Playwright itself (one per session: its sync API cannot be started twice)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: {INSTALL_HINT}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(f"the playwright package is missing: {INSTALL_HINT}")
    pw = sync_playwright().start()
    try:
        yield pw
    finally:
        pw.stop()


@pytest.fixture(scope="session")
def chromium_context(playwright_driver: Any) -> Iterator[Any]:
    """A persistent Chromium context with a fresh, throw-away profile."""
    profile = tempfile.mkdtemp(prefix="veil-chromium-")
    try:
        context = playwright_driver.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        try:
            yield context
        finally:
            context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def chromium(playwright_driver: Any) -> Iterator[Any]:
    """A Chromium browser for tests that need fresh contexts (language, viewport,
    cookies): ``chromium.new_context(...)``."""
    browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture(scope="session")
def page(chromium_context: Any, web_server: WebServer) -> Iterator[Any]:
    """One page on the test server's origin; JS errors fail the test that caused them."""
    pg = chromium_context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(web_server.base + "/")
    pg.evaluate(WORKER_HARNESS)
    pg.js_errors = errors  # type: ignore[attr-defined]
    yield pg
    pg.close()


@pytest.fixture(autouse=True)
def _no_page_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "page" in request.fixturenames:
        pg = request.getfixturevalue("page")
        errors = list(pg.js_errors)
        pg.js_errors.clear()
        assert not errors, f"uncaught errors in the page: {errors}"


#: Installs ``window.hashWithWorker(jobs)``: hashes each {url | bytes, options} in
#: the real worker, one after the other, and returns each final message plus the
#: progress stages seen and the wall time from postMessage to the answer.
WORKER_HARNESS = """
() => {
  window.hashWithWorker = async (jobs) => {
    const worker = new Worker('/static/js/hash-worker.js', { type: 'module' });
    const out = [];
    try {
      for (const [i, job] of jobs.entries()) {
        const file = job.url
          ? await (await fetch(job.url)).blob()
          : new Blob([new Uint8Array(job.bytes ?? [])]);
        const stages = [];
        const t0 = performance.now();
        const msg = await new Promise((resolve) => {
          worker.onmessage = (e) => {
            if (e.data.id !== i) return;
            if (e.data.type === 'progress') {
              if (stages[stages.length - 1] !== e.data.stage) stages.push(e.data.stage);
            } else resolve(e.data);
          };
          worker.onerror = (e) => resolve({ type: 'worker-error', message: String(e.message) });
          worker.postMessage({ type: 'hash', id: i, file, options: job.options || {} });
        });
        out.push({ ...msg, stages, wallMs: performance.now() - t0 });
      }
    } finally {
      worker.terminate();
    }
    return out;
  };
}
"""


@pytest.fixture(scope="session")
def worker_hash(page: Any) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    """``worker_hash(jobs)``: run ``window.hashWithWorker`` (see WORKER_HARNESS)."""

    def run(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return page.evaluate("jobs => window.hashWithWorker(jobs)", jobs)

    return run


# -- the real service, for the intake pages (/protect, /case) ---------------------------
VEIL = Path(sys.executable).parent / "veil"


class VeilServer:
    """``veil serve`` as a subprocess on a free loopback port, with its own VEIL_HOME
    and SQLite database, and a ``platform`` API key made with ``veil keys create``;
    ``env``: more settings (``VEIL_*``)."""

    def __init__(self, home: Path, env: dict[str, str] | None = None) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self.env = {
            **os.environ,
            "VEIL_HOME": str(home),
            "VEIL_DATABASE_URL": f"sqlite:///{home / 'veil.db'}",
            # many submissions from one loopback address during the tests
            "VEIL_API_INTAKE_RATE_PER_MIN": "100000",
            "VEIL_API_INTAKE_BURST": "100000",
            **(env or {}),
        }
        self.quick_exit_url = self.env.get("VEIL_QUICK_EXIT_URL", "about:blank")
        made = subprocess.run([str(VEIL), "keys", "create", "--scope", "platform",
                               "--name", "web-tests"], env=self.env, capture_output=True,
                              text=True, timeout=120)
        assert made.returncode == 0, made.stderr
        self.platform_key = made.stdout.strip().splitlines()[-1]
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = (home / "serve.log").open("wb")
        self.proc = subprocess.Popen(
            [str(VEIL), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--log-level", "warning"], env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        if wait_ready(self.base, self.proc, 60):
            return
        self.stop()
        raise AssertionError("veil serve did not become ready: "
                             + (home / "serve.log").read_text(errors="replace")[-3000:])

    def match(self, signal: str, value: str) -> list[dict[str, Any]]:
        """The matches of one hash through ``POST /v1/match`` (as a platform would)."""
        r = httpx.post(self.base + "/v1/match", timeout=10,
                       headers={"Authorization": f"Bearer {self.platform_key}"},
                       json={"signals": [{"signal": signal, "value": value}]})
        assert r.status_code == 200, r.text
        return r.json()["results"][0]["matches"]  # type: ignore[no-any-return]

    def stop(self) -> None:
        stop(self.proc)
        self.log.close()


@pytest.fixture(scope="session")
def veil_server(tmp_path_factory: pytest.TempPathFactory, web_server: WebServer
                ) -> Iterator[VeilServer]:
    from web_support import HELPLINES

    server = VeilServer(tmp_path_factory.mktemp("veil-web") / "home", {
        "VEIL_HELPLINES": json.dumps(HELPLINES),
        # "Leave quickly" goes to another loopback origin (the file server's empty page)
        "VEIL_QUICK_EXIT_URL": web_server.base + "/",
    })
    try:
        yield server
    finally:
        server.stop()


#: Chromium logs an API answer of 4xx (a wrong case code) and a cut connection (a test
#: that simulates one) as console errors; anything else (a CSP violation…) fails the test.
_EXPECTED_CONSOLE = re.compile(r"Failed to load resource: (the server responded with a status "
                               r"of 4\d\d|net::ERR_INTERNET_DISCONNECTED)")


class Pages:
    """Fresh browser contexts on the Veil server; every page opened fails its test on an
    uncaught error or a console error (a CSP violation is one)."""

    def __init__(self, browser: Any, server: VeilServer) -> None:
        self.browser = browser
        self.server = server
        self.contexts: list[Any] = []
        self.errors: list[str] = []

    def context(self, **options: Any) -> Any:
        options.setdefault("locale", "en-GB")  # None: Chromium's own (or extra headers)
        if options["locale"] is None:
            del options["locale"]
        options.setdefault("viewport", {"width": 1280, "height": 800})
        ctx = self.browser.new_context(accept_downloads=True, **options)
        ctx.set_default_timeout(15_000)
        self.contexts.append(ctx)
        return ctx

    def open_plain(self, path: str, ctx: Any = None, **options: Any) -> Any:
        """A page at ``path`` (on the Veil server), once loaded, errors watched: for a
        page without Veil's scripts (the status page)."""
        ctx = ctx or self.context(**options)
        page = ctx.new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"{path}: {exc}"))
        page.on("console", lambda m: self.errors.append(f"{path}: console: {m.text}")
                if m.type == "error" and not _EXPECTED_CONSOLE.match(m.text) else None)
        page.goto(self.server.base + path)
        return page

    def open(self, path: str, ctx: Any = None, **options: Any) -> Any:
        """A new page at ``path`` (on the Veil server), once its script has started."""
        page = self.open_plain(path, ctx, **options)
        page.wait_for_selector("body[data-ready='true']", state="attached")
        return page

    def close(self) -> None:
        for ctx in self.contexts:
            ctx.close()


@pytest.fixture
def pages(chromium: Any, veil_server: VeilServer) -> Iterator[Pages]:
    p = Pages(chromium, veil_server)
    try:
        yield p
        assert not p.errors, f"errors in the page: {p.errors}"
    finally:
        p.close()


# -- the reviewer page (/review) --------------------------------------------------------
#: Seconds a revealed picture stays clear on the reviewer page under test: short, so a
#: test sees it blurred again on its own.
REVIEW_REVEAL_S = 3


def make_key(server: VeilServer, scope: str) -> str:
    """A new API key of ``scope`` on ``server`` (``veil keys create``)."""
    made = subprocess.run([str(VEIL), "keys", "create", "--scope", scope, "--name",
                           f"web-{scope}"], env=server.env, capture_output=True, text=True,
                          timeout=120)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip().splitlines()[-1]


@pytest.fixture
def review_server(tmp_path: Path) -> Iterator[VeilServer]:
    """A fresh ``veil serve`` (an empty review queue) with ``review_key`` and
    ``admin_key`` besides its platform key."""
    server = VeilServer(tmp_path / "home", {"VEIL_REVIEW_REVEAL_S": str(REVIEW_REVEAL_S)})
    try:
        server.review_key = make_key(server, "review")  # type: ignore[attr-defined]
        server.admin_key = make_key(server, "admin")  # type: ignore[attr-defined]
        yield server
    finally:
        server.stop()


@pytest.fixture
def review_pages(chromium: Any, review_server: VeilServer) -> Iterator[Pages]:
    p = Pages(chromium, review_server)
    try:
        yield p
        assert not p.errors, f"errors in the page: {p.errors}"
    finally:
        p.close()
