"""A StopNCII-shaped partner hub on loopback for the exchange tests, which can be
told to misbehave: answer 500 or 429, drop the connection, stall, stream a page
without end, repeat a page token, move its checkpoint backwards, send non-JSON.

``faults`` is a queue: each request takes the next fault (``None``: behave)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


def record(value: str, *, status: str = "Active", ts: int = 1_700_000_000,
           signal_type: str = "ImagePDQ", cases: Any = None) -> dict[str, Any]:
    return {"lastModtimestamp": ts, "signalType": signal_type, "hashValue": value,
            "hashStatus": status, "caseNumbers": cases if cases is not None else {"c1": status},
            "CSPFeedbacks": []}


class Partner:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.page_size = 3
        self.next_set_timestamp = 1_700_000_100
        self.faults: list[str | None] = []
        self.requests: list[dict[str, Any]] = []
        self.feedback: list[dict[str, Any]] = []
        self.keys = {"fetch-key"}
        self.stall_s = 2.0
        self._lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def _fault(self) -> str | None:
        """This request's fault: each request uses up one item of the queue."""
        with self._lock:
            return self.faults.pop(0) if self.faults else None

    def page(self, start: int, token: str | None, size: int) -> dict[str, Any]:
        listed = [r for r in self.records if r.get("lastModtimestamp", start) >= start]
        offset = int(token[1:]) if token else 0
        size = min(size, self.page_size)
        chunk = listed[offset:offset + size]
        more = offset + size < len(listed)
        return {"count": len(chunk), "nextPageToken": f"p{offset + size}" if more else None,
                "nextSetTimestamp": self.next_set_timestamp, "hasMoreRecords": more,
                "hashRecords": chunk}


#: Faults instead of an answer (the others, in the page: repeat, backwards, future).
BEFORE = frozenset({"500", "503", "429", "401", "drop", "stall", "huge", "notjson"})


def _handler(partner: Partner) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            if status == 429:
                self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(body)

        def _faulted(self, fault: str | None) -> bool:
            if fault not in BEFORE:
                return False
            if fault in ("500", "503", "429", "401"):
                self._send(int(fault), b'{"error": "injected"}')
            elif fault == "drop":
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
            elif fault == "stall":
                time.sleep(partner.stall_s)
                self.close_connection = True
            elif fault == "huge":
                # a page with no end in sight, sent without a length
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.close_connection = True
                chunk = b" " * 65536
                try:
                    self.wfile.write(b'{"hashRecords": [')
                    for _ in range(1600):  # 100 MB unless the client hangs up first
                        self.wfile.write(chunk)
                except OSError:
                    pass
            elif fault == "notjson":
                self._send(200, b"<html>maintenance</html>", "text/html")
            else:
                return False
            return True

        def do_GET(self) -> None:
            url = urlparse(self.path)
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            partner.requests.append({"path": url.path, **q,
                                     "key": self.headers.get("x-functions-key")})
            fault = partner._fault()
            if self._faulted(fault):
                return
            if self.headers.get("x-functions-key") not in partner.keys:
                self._send(401, b'{"error": "bad key"}')
                return
            if not url.path.endswith("/FetchHashes"):
                self._send(404, b"{}")
                return
            body = partner.page(int(q.get("startTimestamp", "10")), q.get("nextPageToken"),
                                int(q.get("pageSize", "800")))
            if fault == "repeat" and body["nextPageToken"]:
                body["nextPageToken"] = q.get("nextPageToken") or body["nextPageToken"]
                body["hasMoreRecords"] = True
            elif fault == "backwards":
                body["nextSetTimestamp"] = 5
            elif fault == "future":
                body["nextSetTimestamp"] = int(time.time()) + 10 ** 6
            self._send(200, json.dumps(body).encode())

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            partner.requests.append({"path": self.path, "post": True})
            if self._faulted(partner._fault()):
                return
            if self.path.endswith("/SubmitFeedback"):
                partner.feedback.extend(json.loads(raw)["hashFeedbacks"])
                self._send(200, b"{}")
            else:
                self._send(404, b"{}")

    return Handler


@contextmanager
def running_partner() -> Iterator[Partner]:
    partner = Partner()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(partner))
    server.daemon_threads = True
    partner.server = server
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield partner
    finally:
        server.shutdown()
        server.server_close()
