"""``veil serve`` as a real process on loopback: slow and oversized bodies, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from served import free_port, read_response, stop, wait_ready
from veil.config import load_settings
from veil.store import open_store

VEIL = Path(sys.executable).parent / "veil"


class Server:
    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [str(VEIL), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        if wait_ready(self.url, self.proc, 30):
            return
        self.stop()
        raise AssertionError(f"veil serve did not become ready: {self.output()}")

    def raw(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def output(self) -> str:
        if self.proc.poll() is None:
            return ""
        return (self.proc.stdout.read() if self.proc.stdout else b"").decode(errors="replace")

    def stop(self) -> None:
        stop(self.proc)


@pytest.fixture
def server_env(database_url: str, veil_home: Path, monkeypatch: pytest.MonkeyPatch
               ) -> tuple[dict[str, str], str]:
    monkeypatch.setenv("VEIL_API_BODY_IDLE_TIMEOUT_S", "1")
    with open_store(load_settings()) as store:
        key = store.create_api_key(["platform"], actor="test")[1]
    env = {**os.environ, "VEIL_HOME": str(veil_home), "VEIL_DATABASE_URL": database_url,
           "VEIL_API_BODY_IDLE_TIMEOUT_S": "1"}
    return env, key


@pytest.fixture
def server(server_env: tuple[dict[str, str], str]) -> Iterator[Server]:
    s = Server(server_env[0])
    yield s
    s.stop()


def test_huge_declared_body_is_refused_at_once(server: Server,
                                               server_env: tuple[dict[str, str], str]) -> None:
    with server.raw() as sock:
        started = time.monotonic()
        sock.sendall(b"POST /v1/match HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Authorization: Bearer " + server_env[1].encode() + b"\r\n"
                     b"Content-Length: 90000000\r\n\r\n" + b'{"signals": [')
        status, body = read_response(sock)
        assert status == 413 and body["error"]["code"] == "request.too_large"  # type: ignore[index]
        assert time.monotonic() - started < 2


def test_slow_body_times_out(server: Server, server_env: tuple[dict[str, str], str]) -> None:
    with server.raw() as sock:
        sock.sendall(b"POST /v1/match HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Authorization: Bearer " + server_env[1].encode() + b"\r\n"
                     b"Content-Length: 500\r\n\r\n" + b'{"signals": [')
        started = time.monotonic()
        status, body = read_response(sock)  # nothing more is sent
        assert status == 408 and body["error"]["code"] == "request.timeout"  # type: ignore[index]
        assert 0.8 < time.monotonic() - started < 5


def test_sigterm_lets_an_in_flight_request_finish(server: Server, photos: list[Path],
                                                  server_env: tuple[dict[str, str], str]
                                                  ) -> None:
    data = photos[0].read_bytes()
    with server.raw() as sock:
        sock.sendall(b"POST /v1/scan HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                     b"Authorization: Bearer " + server_env[1].encode() + b"\r\n"
                     b"Content-Length: " + str(len(data)).encode() + b"\r\n\r\n")
        sock.sendall(data[: len(data) // 2])
        time.sleep(0.3)
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert server.proc.poll() is None  # still finishing our request
        # new connections are no longer accepted
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
        sock.sendall(data[len(data) // 2:])  # the slow upload completes
        status, body = read_response(sock)
    assert status == 200, body
    assert body["format"] == "jpeg" and body["decision"] == "allow"
    # uvicorn re-raises SIGTERM after its graceful shutdown, as a process should
    assert server.proc.wait(15) in (0, -signal.SIGTERM)
    log = server.output()
    lines = [json.loads(x) for x in log.splitlines() if x.startswith("{")]
    assert any(x.get("route") == "/v1/scan" and x.get("status") == 200 for x in lines)
    assert server_env[1] not in log


def test_a_hash_list_that_stops_half_way_imports_nothing(
        server: Server, server_env: tuple[dict[str, str], str], database_url: str) -> None:
    with open_store(load_settings()) as store:
        key = store.create_api_key(["admin"], actor="test")[1]
        store.create_bank("half", "imported", actor="test")
    rows = "".join(f"pdq,{i:064x}\n" for i in range(1, 2001))
    body = ("signal,value\n" + rows).encode()
    with server.raw() as sock:
        sock.sendall(b"POST /v1/admin/banks/half/entries HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: text/csv\r\nAuthorization: Bearer " + key.encode() +
                     b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n")
        sock.sendall(body[: len(body) // 2])  # whole lines, then nothing more
        status, answer = read_response(sock)
    assert status == 408, answer
    with open_store(load_settings()) as store:
        assert store.get_bank("half").counts["active"] == 0
        assert not store.audit(action="bank.import")


def test_changes_made_by_other_processes_reach_the_running_service(
        server_env: tuple[dict[str, str], str], tmp_path: Path) -> None:
    """A bank import and a withdrawal run as separate ``veil`` processes (not through
    the API) match, and stop matching, in a running service within its sync interval."""
    env, key = server_env
    env = {**env, "VEIL_API_INDEX_SYNC_MS": "200"}
    server = Server(env)
    values = [f"{i:02x}" * 32 for i in (17, 42, 99)]
    hashes = tmp_path / "list.csv"
    hashes.write_text("signal,value\n" + "".join(f"pdq,{v}\n" for v in values))

    def veil(*args: str) -> None:
        done = subprocess.run([str(VEIL), *args], env=env, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr

    def decision(value: str) -> str:
        r = httpx.post(server.url + "/v1/match", headers={"Authorization": f"Bearer {key}"},
                       json={"signals": [{"signal": "pdq", "value": value}]}, timeout=10)
        assert r.status_code == 200, r.text
        return str(r.json()["results"][0]["decision"])

    def within(seconds: float, value: str, expected: str) -> float:
        started = time.monotonic()
        while decision(value) != expected:
            assert time.monotonic() - started < seconds, f"{value[:8]}… never {expected}"
            time.sleep(0.05)
        return time.monotonic() - started

    try:
        assert decision(values[0]) == "allow"
        veil("bank", "create", "ncii", "--category", "confirmed_ncii", "--action", "block")
        veil("bank", "import", "ncii", str(hashes))
        within(10, values[0], "block")
        assert decision(values[2]) == "block"
        veil("bank", "withdraw", "ncii", values[1])
        within(10, values[1], "allow")
        assert decision(values[0]) == "block"
    finally:
        server.stop()
