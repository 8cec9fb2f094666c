"""Starting a real ``veil serve`` in tests: a free loopback port, and waiting for it."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import time

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(base_url: str, proc: subprocess.Popen, timeout_s: float) -> bool:
    """True once ``/readyz`` answers 200; False if the process dies or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(base_url + "/readyz", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            return False
        time.sleep(0.1)
    return False


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM (the graceful path under test elsewhere), then kill if it hangs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def read_response(sock: socket.socket) -> tuple[int, dict[str, object]]:
    """One HTTP response read off a raw socket: its status and JSON body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), None)
    while length is not None and len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, json.loads(body) if body else {}


def review_login(base_url: str, key: str) -> tuple[dict[str, str], str]:
    """Log in to a served reviewer page with ``key``, each request on a connection of
    its own; returns the session's cookie header and the page's CSRF token."""
    r = httpx.post(base_url + "/review/login", data={"key": key}, timeout=10,
                   follow_redirects=False)
    assert r.status_code == 303, r.text
    cookie = {"Cookie": f"veil_review={r.cookies['veil_review']}"}
    page = httpx.get(base_url + "/review", headers=cookie, timeout=10)
    found = re.search(r'name="veil-csrf" content="([^"]+)"', page.text)
    assert page.status_code == 200 and found, page.text[:500]
    return cookie, found.group(1)


def review_next(base_url: str, cookie: dict[str, str], csrf: str) -> int:
    """The status of the reviewer page's ``next`` call on a new connection."""
    return httpx.post(base_url + "/review/api/next", timeout=10,
                      headers={**cookie, "X-CSRF-Token": csrf}).status_code
