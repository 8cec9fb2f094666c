"""Smaller hardening points: strict JSON types at intake, IPv6 rate-limit buckets,
audited reads of hashes, and an import whose client goes away."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from api_support import ATTEST, PDQ
from fastapi.testclient import TestClient

from served import free_port, stop, wait_ready
from veil.api.ratelimit import RateLimiter, bucket_of
from veil.api.services import Services


@pytest.mark.parametrize("attestation, quality", [
    ({"self_or_guardian": "yes", "intimate": True}, 92),
    ({"self_or_guardian": 1, "intimate": True}, 92),
    ({"self_or_guardian": True, "intimate": "true"}, 92),
    (ATTEST, "92"),
    (ATTEST, 92.0),
    (ATTEST, True),
])
def test_intake_takes_only_json_booleans_and_integers(client: TestClient, attestation: object,
                                                      quality: object) -> None:
    r = client.post("/v1/cases", json={
        "signals": [{"signal": "pdq", "value": PDQ, "quality": quality}],
        "attestation": attestation})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "input.invalid"


def test_an_ipv6_host_is_one_bucket_however_many_addresses_it_uses() -> None:
    assert bucket_of("2001:db8:1:2::1", 64) == bucket_of("2001:db8:1:2:ffff::9", 64)
    assert bucket_of("2001:db8:1:2::1", 64) != bucket_of("2001:db8:1:3::1", 64)
    assert bucket_of("2001:db8:1:2::1", 128) != bucket_of("2001:db8:1:2::2", 128)
    assert bucket_of("203.0.113.7", 64) == "203.0.113.7"
    assert bucket_of("::ffff:203.0.113.7", 64) == "203.0.113.7"
    limiter = RateLimiter(per_minute=1, burst=3)
    allowed = sum(limiter.take(bucket_of(f"2001:db8:1:2::{i:x}", 64)) == 0
                  for i in range(1, 200))
    assert allowed == 3  # not 199: the /64 is one client


def test_reads_of_hashes_are_audited(client: TestClient, services: Services,
                                     auth: Callable[[str], dict[str, str]],
                                     make_case: Callable[..., dict]) -> None:
    make_case()
    entry = services.store.list_entries(bank="victims")[0]
    assert client.get(f"/v1/admin/entries/{entry.id}", headers=auth("admin")).status_code == 200
    assert client.get("/v1/admin/banks/victims/entries", headers=auth("admin")).status_code == 200
    services.store.set_status(entry.id, "disputed", actor="t")
    assert client.get("/v1/review/queue", headers=auth("review")).json()["entries"]
    events = {(a.action, a.bank) for a in services.store.audit(limit=50)}
    assert {("entry.read", "victims"), ("bank.export", "victims"),
            ("review.queue", None)} <= events
    reads = [a for a in services.store.audit(action="entry.read")]
    assert reads[0].entry_id == entry.id and reads[0].actor.startswith("key:")


def test_an_import_whose_client_goes_away_is_not_a_server_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "VEIL_HOME": str(home)}
    env.pop("VEIL_DATABASE_URL", None)
    veil = [sys.executable, "-m", "veil.cli.__main__"]
    subprocess.run([*veil, "bank", "create", "b", "-c", "imported"], env=env, check=True,
                   capture_output=True, timeout=60)
    key = subprocess.run([*veil, "keys", "create", "--scope", "admin"], env=env, check=True,
                         capture_output=True, text=True, timeout=60).stdout.strip()
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([*veil, "serve", "--port", str(port)], env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        assert wait_ready(f"http://127.0.0.1:{port}", proc, 60)
        row = f"pdq,{PDQ}\n".encode()
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"POST /v1/admin/banks/b/entries HTTP/1.1\r\nHost: x\r\n"
                      b"Authorization: Bearer " + key.encode() + b"\r\n"
                      b"Content-Type: text/csv\r\nContent-Length: 10000000\r\n\r\n"
                      b"signal,value\n" + row * 2000)
        # the client is gone: the server must neither import nor log a 500
        import time

        import httpx

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if b"import abandoned" in (tmp_path / "serve.log").read_bytes():
                break
            time.sleep(0.2)
        r = httpx.get(f"http://127.0.0.1:{port}/v1/admin/banks/b",
                      headers={"Authorization": f"Bearer {key}"}, timeout=10)
        assert r.json()["counts"]["active"] == 0
    finally:
        stop(proc)
        log.close()
    text = (tmp_path / "serve.log").read_text()
    assert "import abandoned" in text
    assert "Traceback" not in text and '"status": 500' not in text
