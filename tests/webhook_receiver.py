"""A webhook receiver on loopback for tests: checks every signature, processes each
delivery id once (as docs/webhooks.md tells receivers to), and fails on demand."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from veil.actions.webhook_events import verify


class Receiver:
    def __init__(self, secret: str = "") -> None:
        self.secret = secret
        #: Requests still to refuse with 503 before processing anything.
        self.fail_next = 0
        #: Deliveries still to process and then answer 500 anyway (an answer lost on
        #: the way back): the sender retries, the receiver must not process them twice.
        self.lose_answers = 0
        #: Every request: delivery id, event, attempt header, signature verdict, answer.
        self.requests: list[dict[str, Any]] = []
        #: Event bodies processed, in the order processed (each delivery id once).
        self.processed: list[dict[str, Any]] = []
        self.bad_signatures = 0
        self.duplicates = 0
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(receiver.handle(dict(self.headers), body))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/veil"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            signed = verify(self.secret, headers.get("Veil-Signature", ""), body)
            delivery_id = headers.get("Veil-Delivery-Id", "")
            seen = {"delivery_id": delivery_id, "event": headers.get("Veil-Event"),
                    "attempt": headers.get("Veil-Attempt"), "signed": signed}
            self.requests.append(seen)
            if self.fail_next > 0:
                self.fail_next -= 1
                seen["answer"] = 503
                return 503
            if not signed:
                self.bad_signatures += 1
                seen["answer"] = 401
                return 401
            event = json.loads(body)
            assert event["delivery_id"] == delivery_id and event["type"] == seen["event"]
            if delivery_id in self._seen:
                self.duplicates += 1  # done already: acknowledge, do nothing
            else:
                self._seen.add(delivery_id)
                self.processed.append(event)
                if self.lose_answers > 0:
                    self.lose_answers -= 1
                    seen["answer"] = 500
                    return 500
            seen["answer"] = 200
            return 200

    def wait_processed(self, n: int, timeout_s: float = 20) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.processed) >= n:
                    return list(self.processed)
            time.sleep(0.02)
        raise AssertionError(f"{len(self.processed)} of {n} events processed; requests: "
                             f"{self.requests}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
