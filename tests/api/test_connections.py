"""A real ``veil serve`` closes connections that send no request headers in time, and
keeps serving while they try."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from served import free_port, stop, wait_ready


def test_idle_and_trickling_connections_are_closed(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "VEIL_HOME": str(tmp_path / "home"), "VEIL_API_HEADER_TIMEOUT_S": "1"}
    env.pop("VEIL_DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "veil.cli.__main__", "serve", "--port",
                             str(port), "--log-level", "warning"], env=env)
    try:
        assert wait_ready(f"http://127.0.0.1:{port}", proc, 60)
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(100)]
        trickle = socket.create_connection(("127.0.0.1", port))
        trickle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        # the server answers others meanwhile
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        deadline = time.monotonic() + 15
        for s in [*idle, trickle]:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            got = b"x"
            try:
                got = s.recv(1)  # b"" once the server closed it
            except OSError:
                got = b""
            finally:
                s.close()
            if s is trickle:
                continue
            assert got == b"", "an idle connection was kept open"
        # a slow header byte every half second does not keep a connection alive either
        slow = socket.create_connection(("127.0.0.1", port))
        slow.settimeout(10)
        closed = False
        for ch in b"GET /healthz HTTP/1.1\r\nX-Slow: abcdefghijklmnopqrstuvwxyz":
            try:
                slow.sendall(bytes([ch]))
            except OSError:
                closed = True
                break
            time.sleep(0.5)
        if not closed:
            try:
                closed = slow.recv(1) == b""
            except OSError:
                closed = True
        slow.close()
        assert closed, "a trickling request was never closed"
    finally:
        stop(proc)
