"""``veil serve --workers 2``: two processes on one socket sharing one mapped copy of
the index; a withdrawal stops matching in both and leaves no file mapped that holds
it; a reviewer's session holds on both; a worker that dies is replaced; SIGTERM
stops them all."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from served import free_port, review_login, review_next, stop, wait_ready
from veil.config import Settings, snapshot_path
from veil.store import HashRow, open_store

VEIL = Path(sys.executable).parent / "veil"
SYNC_MS = 300
WITHIN_S = SYNC_MS / 1000 + 1.0
ROWS = 3000


def workers_of(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return sorted(int(c) for c in children)


def snapshot_mappings(pid: int) -> set[tuple[str, str]]:
    """(inode, path) of each index snapshot ``pid`` maps (deleted files included)."""
    found = set()
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        parts = line.split(None, 5)
        if len(parts) == 6 and re.search(r"/index/pdq\.snapshot( \(deleted\))?$", parts[5]):
            found.add((parts[4], parts[5]))
    return found


def until(check: object, timeout_s: float, what: str) -> float:
    started = time.monotonic()
    while not check():  # type: ignore[operator]
        assert time.monotonic() - started < timeout_s, f"timed out: {what}"
        time.sleep(0.05)
    return time.monotonic() - started


@pytest.fixture
def served(settings: Settings, tmp_path: Path) -> Iterator[tuple[subprocess.Popen, str,
                                                                  dict[str, str], list[str]]]:
    rng = np.random.default_rng(21)
    values = [rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex() for _ in range(ROWS)]
    with open_store(settings) as store:
        keys = {s: store.create_api_key([s], name=f"w-{s}", actor="t")[1]
                for s in ("admin", "platform", "review")}
        store.create_bank("ncii", "confirmed_ncii", actor="t")
        store.import_entries("ncii", [HashRow("pdq", v) for v in values], actor="t")
    env = {**os.environ, "VEIL_API_INDEX_SYNC_MS": str(SYNC_MS),
           "VEIL_INDEX_SNAPSHOT_MIN_ENTRIES": "1000"}
    port = free_port()
    log = tmp_path / "serve.log"
    proc = subprocess.Popen([str(VEIL), "serve", "--port", str(port), "--workers", "2"],
                            env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_ready(url, proc, 60), log.read_text()[-3000:]
        until(lambda: len(workers_of(proc.pid)) == 2, 10, "two workers")
        until(lambda: all(snapshot_mappings(pid) for pid in workers_of(proc.pid)), 30,
              "both workers loaded the index")
        yield proc, url, keys, values
    finally:
        stop(proc)


def matched(url: str, key: str, value: str) -> list[int]:
    # a new connection each time: the kernel hands it to either worker
    r = httpx.post(url + "/v1/match", headers={"Authorization": f"Bearer {key}"}, timeout=10,
                   json={"signals": [{"signal": "pdq", "value": value}]})
    assert r.status_code == 200, r.text
    return [m["entry_id"] for m in r.json()["results"][0]["matches"]]


def test_workers_share_one_mapped_index_and_drop_a_withdrawn_hash(
        served: tuple[subprocess.Popen, str, dict[str, str], list[str]],
        settings: Settings) -> None:
    proc, url, keys, values = served
    path = str(snapshot_path(settings.home, "pdq"))
    pids = workers_of(proc.pid)
    first = {m for pid in pids for m in snapshot_mappings(pid)}
    assert len(first) == 1 and next(iter(first))[1] == path, first  # one file for both
    assert not snapshot_mappings(proc.pid)  # the parent holds no index

    entry = matched(url, keys["platform"], values[42])[0]
    r = httpx.post(f"{url}/v1/admin/entries/{entry}/withdraw", timeout=10,
                   headers={"Authorization": f"Bearer {keys['admin']}"}, json={})
    assert r.status_code == 200, r.text
    took = until(lambda: all(not matched(url, keys["platform"], values[42])
                             for _ in range(8)), 10, "withdrawn everywhere")
    assert took <= WITHIN_S
    assert matched(url, keys["platform"], values[43])  # the others still match

    def remapped() -> bool:
        now = {m for pid in pids for m in snapshot_mappings(pid)}
        return len(now) == 1 and now != first and not any("deleted" in p for _, p in now)

    until(remapped, 15, "both workers map one rewritten file, the old one released")


def test_a_reviewer_session_holds_on_every_worker(
        served: tuple[subprocess.Popen, str, dict[str, str], list[str]]) -> None:
    _, url, keys, _ = served
    cookie, csrf = review_login(url, keys["review"])
    # each call on a new connection, which the kernel hands to either worker: with
    # sessions in one process's memory about half of these would answer 401
    assert [review_next(url, cookie, csrf) for _ in range(12)] == [200] * 12
    r = httpx.post(url + "/review/logout", timeout=10,
                   headers={**cookie, "X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    assert [review_next(url, cookie, csrf) for _ in range(8)] == [401] * 8


def test_a_dead_worker_is_replaced_and_sigterm_stops_them_all(
        served: tuple[subprocess.Popen, str, dict[str, str], list[str]]) -> None:
    proc, url, keys, values = served
    victim, survivor = workers_of(proc.pid)
    os.kill(victim, signal.SIGKILL)
    until(lambda: len(workers_of(proc.pid)) == 2 and victim not in workers_of(proc.pid),
          10, "a new worker")
    assert survivor in workers_of(proc.pid)
    until(lambda: all(matched(url, keys["platform"], values[1]) for _ in range(8)), 20,
          "every worker answers")

    pids = workers_of(proc.pid)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(
            f"/proc/{pid}/stat").read_text().split()[2]


def gone(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def test_workers_stop_when_the_parent_is_killed(
        served: tuple[subprocess.Popen, str, dict[str, str], list[str]]) -> None:
    """Killed outright, the parent cannot pass SIGTERM on: workers left behind would
    go on serving, holding the port."""
    proc, url, _, _ = served
    pids = workers_of(proc.pid)
    proc.kill()
    proc.wait(10)
    until(lambda: all(gone(pid) for pid in pids), 30, "the workers stopped")
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/healthz", timeout=5)
