"""Authentication comes before the body: an unauthenticated upload is refused from its
headers, never buffered; a 401 is never remembered as an idempotent reply; one
caller's Idempotency-Keys cannot push out another's."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from api_support import ATTEST, PDQ
from fastapi.testclient import TestClient

from served import free_port, read_response, stop, wait_ready


def test_an_unauthenticated_upload_is_refused_before_its_body(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "VEIL_HOME": str(tmp_path / "home"),
           "VEIL_API_BODY_IDLE_TIMEOUT_S": "30"}
    env.pop("VEIL_DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "veil.cli.__main__", "serve", "--port",
                             str(port), "--log-level", "warning"], env=env)
    try:
        assert wait_ready(f"http://127.0.0.1:{port}", proc, 60)
        for auth in (b"", b"Authorization: Bearer veil_not-a-key\r\n"):
            with socket.create_connection(("127.0.0.1", port)) as s:
                # 50 MB announced, nothing sent: a server that buffers first would wait
                # for the body (30 s idle timeout here) before it could answer
                s.sendall(b"POST /v1/scan HTTP/1.1\r\nHost: x\r\n" + auth +
                          b"Content-Type: application/octet-stream\r\n"
                          b"Idempotency-Key: k-1\r\nContent-Length: 52428800\r\n\r\n")
                s.settimeout(10)
                started = time.monotonic()
                status, _ = read_response(s)
                took = time.monotonic() - started
            assert status == 401 and took < 5, (status, took)
    finally:
        stop(proc)


def test_refusals_are_not_remembered_and_callers_cannot_evict_each_other(
        client: TestClient, auth: Callable[[str], dict[str, str]]) -> None:
    body = {"signals": [{"signal": "pdq", "value": PDQ, "quality": 90}],
            "attestation": ATTEST}
    partner = {**auth("intake"), "Idempotency-Key": "partner-case-1"}
    first = client.post("/v1/cases", json=body, headers=partner)
    assert first.status_code == 201
    # a flood: bad keys with the partner's Idempotency-Key and many others, and many
    # anonymous callers' keys
    for i in range(150):
        r = client.post("/v1/cases", json=body, headers={
            "Authorization": f"Bearer veil_junk{i}",
            "Idempotency-Key": "partner-case-1" if i % 2 else f"junk-{i}"})
        assert r.status_code == 401
    for i in range(150):
        r = client.post("/v1/match", json={"signals": []},
                        headers={**auth("platform"), "Idempotency-Key": f"other-{i}"})
        assert r.status_code == 422
    retry = client.post("/v1/cases", json=body, headers=partner)
    assert retry.status_code == 201 and retry.headers.get("idempotent-replayed") == "true"
    assert retry.json()["case_id"] == first.json()["case_id"]  # no duplicate case
    # a 401 with a key that later becomes valid is not replayed either
    r = client.post("/v1/match", json={"signals": [{"signal": "pdq", "value": PDQ}]},
                    headers={"Idempotency-Key": "late"})
    assert r.status_code == 401
    r = client.post("/v1/match", json={"signals": [{"signal": "pdq", "value": PDQ}]},
                    headers={**auth("platform"), "Idempotency-Key": "late"})
    assert r.status_code == 200 and "idempotent-replayed" not in r.headers
