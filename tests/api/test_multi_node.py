"""Two ``veil serve`` nodes (separate homes) on one database: a bank change made
through either is matchable through the other within the change feed's sync
interval plus one second, and a reviewer logged in through one is logged in on both.
CI runs it on SQLite and again on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from served import free_port, review_login, review_next, stop, wait_ready
from veil.config import load_settings
from veil.store import open_store

VEIL = Path(sys.executable).parent / "veil"
SYNC_MS = 500
WITHIN_S = SYNC_MS / 1000 + 1.0
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


@pytest.fixture
def two_nodes(database_url: str, tmp_path: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    with open_store(load_settings()) as store:
        keys = {s: store.create_api_key([s], name=f"multi-{s}", actor="t")[1]
                for s in ("admin", "platform", "review")}
        store.create_bank("ncii", "confirmed_ncii", actor="t")
    procs, urls = [], []
    try:
        for name in ("a", "b"):
            home = tmp_path / name
            env = {k: v for k, v in os.environ.items() if not k.startswith("VEIL_")}
            env.update(VEIL_HOME=str(home), VEIL_DATABASE_URL=database_url,
                       VEIL_API_INDEX_SYNC_MS=str(SYNC_MS))
            home.mkdir()
            port = free_port()
            proc = subprocess.Popen(
                [str(VEIL), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                stdout=(home / "serve.log").open("ab"), stderr=subprocess.STDOUT)
            procs.append(proc)
            url = f"http://127.0.0.1:{port}"
            assert wait_ready(url, proc, 60), (home / "serve.log").read_text()[-2000:]
            urls.append(url)
        yield urls[0], urls[1], keys
    finally:
        for p in procs:
            stop(p)


def _matches(url: str, key: str) -> bool:
    r = httpx.post(url + "/v1/match", headers={"Authorization": f"Bearer {key}"}, timeout=10,
                   json={"signals": [{"signal": "pdq", "value": PDQ}]})
    assert r.status_code == 200, r.text
    return bool(r.json()["results"][0]["matches"])


def _seconds_until(url: str, key: str, want: bool) -> float:
    started = time.monotonic()
    while _matches(url, key) != want:
        assert time.monotonic() - started < 30, "timed out"
        time.sleep(0.02)
    return time.monotonic() - started


def test_a_change_through_one_node_matches_through_the_other(
        two_nodes: tuple[str, str, dict[str, str]]) -> None:
    a, b, keys = two_nodes
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    assert not _matches(b, keys["platform"])
    r = httpx.post(a + "/v1/admin/banks/ncii/entries", timeout=10,
                   headers={**admin, "Content-Type": "application/x-ndjson"},
                   content=f'{{"signal": "pdq", "value": "{PDQ}", "quality": 100}}\n')
    assert r.status_code == 200 and r.json()["imported"] == 1, r.text
    assert _matches(a, keys["platform"])  # its own change: before the answer
    took = _seconds_until(b, keys["platform"], True)
    assert took <= WITHIN_S, f"matchable through B {took:.2f} s after A's change"

    # and back: disabled through B, it stops matching through A just as fast
    with open_store(load_settings()) as store:
        entry = store.list_entries(bank="ncii")[0].id
    r = httpx.post(f"{b}/v1/admin/entries/{entry}/disable", headers=admin, timeout=10,
                   json={"reason": "test"})
    assert r.status_code == 200, r.text
    took = _seconds_until(a, keys["platform"], False)
    assert took <= WITHIN_S, f"still matching through A {took:.2f} s after B's change"


def test_a_reviewer_logged_in_through_one_node_is_served_by_both(
        two_nodes: tuple[str, str, dict[str, str]]) -> None:
    a, b, keys = two_nodes
    cookie, csrf = review_login(a, keys["review"])
    assert review_next(b, cookie, csrf) == 200
    assert httpx.post(b + "/review/api/next", headers={**cookie, "X-CSRF-Token": "x"},
                      timeout=10).status_code == 403  # the CSRF token still holds
    r = httpx.post(b + "/review/logout", headers={**cookie, "X-CSRF-Token": csrf}, timeout=10)
    assert r.status_code == 200, r.text
    assert review_next(a, cookie, csrf) == 401  # ended on both at once

    # a key revoked through one node logs its reviewer out of the other at once
    cookie, csrf = review_login(b, keys["review"])
    assert review_next(a, cookie, csrf) == 200
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    listed = httpx.get(b + "/v1/admin/keys", headers=admin, timeout=10).json()
    review_key = next(k["id"] for k in listed["keys"] if k["name"] == "multi-review")
    r = httpx.delete(f"{b}/v1/admin/keys/{review_key}", headers=admin, timeout=10)
    assert r.status_code == 200, r.text
    # A's key cache may not have heard yet; the session itself is gone
    assert review_next(a, cookie, csrf) == 401
