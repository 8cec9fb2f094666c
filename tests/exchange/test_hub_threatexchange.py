"""Proof with the real client: python-threatexchange's ``StopNCIIAPI`` and
``StopNCIISignalExchangeAPI``, and the ``threatexchange`` CLI, against a real
``veil serve`` on loopback (one server for the module).

The hub's page is 2 records (``VEIL_EXCHANGE_PAGE_SIZE``): the client always asks for
800, so every walk here spans several pages.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from threatexchange.exchanges.clients.stopncii.api import (
    StopNCIIAPI,
    StopNCIICaseStatus,
    StopNCIICSPFeedbackValue,
    StopNCIIEndpoint,
    StopNCIISignalType,
)
from threatexchange.exchanges.collab_config import CollaborationConfigBase
from threatexchange.exchanges.impl.stop_ncii_api import StopNCIISignalExchangeAPI
from threatexchange.signal_type.pdq.signal import PdqSignal

from empty_db import empty_database
from served import free_port, stop, wait_ready
from veil.config import load_settings
from veil.store import open_store

BIN = Path(sys.executable).parent
ATTEST = {"self_or_guardian": True, "intimate": True, "share_with_partners": True}


def pdq(n: int) -> str:
    return f"{n:064x}"


@dataclass
class Hub:
    url: str
    base: str  # the StopNCII base URL
    key: str   # the partner's exchange key
    stranger: str  # an exchange key no admin made a partner
    admin: dict[str, str]
    env: dict[str, str]
    home: Path

    def api(self, key: str | None = None) -> StopNCIIAPI:
        k = key or self.key
        return StopNCIIAPI(k, k, {StopNCIIEndpoint.SubmitHashes: k,
                                  StopNCIIEndpoint.SubmitFeedback: k},
                           base_url_override=self.base)

    def add(self, *values: str) -> None:
        with open_store(load_settings()) as store:
            for v in values:
                store.add_entry("shared", "pdq", v, actor="test")


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    home = tmp_path_factory.mktemp("hub") / "veil-home"
    url = os.environ.get("VEIL_TEST_DATABASE_URL") or f"sqlite:///{home / 'veil.db'}"
    if os.environ.get("VEIL_TEST_DATABASE_URL"):
        empty_database(url)
    env = {**os.environ, "VEIL_HOME": str(home), "VEIL_DATABASE_URL": url,
           "VEIL_EXCHANGE_PAGE_SIZE": "2", "VEIL_API_INTAKE_RATE_PER_MIN": "100000",
           "VEIL_API_INTAKE_BURST": "100000"}
    with pytest.MonkeyPatch.context() as mp:
        for k in ("VEIL_HOME", "VEIL_DATABASE_URL", "VEIL_EXCHANGE_PAGE_SIZE"):
            mp.setenv(k, env[k])
        with open_store(load_settings()) as store:
            store.create_bank("shared", "confirmed_ncii", {"share": True}, actor="test")
            store.create_bank("victims", "victim_submitted", {"share": True}, actor="test")
            store.create_bank("inbox", "imported", actor="test")
            key = store.create_api_key(["exchange"], name="acme", actor="test")[1]
            stranger = store.create_api_key(["exchange"], name="stranger", actor="test")[1]
            admin = store.create_api_key(["admin"], name="admin", actor="test")[1]
            for n in range(1, 6):
                store.add_entry("shared", "pdq", pdq(n), actor="test")
        port = free_port()
        proc = subprocess.Popen([str(BIN / "veil"), "serve", "--host", "127.0.0.1",
                                 "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.STDOUT)
        base_url = f"http://127.0.0.1:{port}"
        try:
            assert wait_ready(base_url, proc, 30), "veil serve did not become ready"
            admin_h = {"Authorization": f"Bearer {admin}"}
            r = httpx.put(f"{base_url}/v1/admin/exchange/partners/acme", headers=admin_h,
                          json={"fetch_banks": ["shared", "victims"], "submit_bank": "inbox"})
            assert r.status_code == 200, r.text
            yield Hub(base_url, f"{base_url}/stopncii/v1", key, stranger, admin_h, env, home)
        finally:
            stop(proc)


def everything(api: StopNCIIAPI, start: int = StopNCIIAPI.DEFAULT_START_TIME) -> dict:
    return {(r.signalType, r.hashValue): r
            for page in api.fetch_hashes_iter(start_timestamp=start)
            for r in page.hashRecords}


def test_fetch_pages_and_checkpoint(hub: Hub) -> None:
    api = hub.api()
    pages = list(api.fetch_hashes_iter())
    assert len(pages) >= 3 and all(p.count <= 2 for p in pages)
    got = {r.hashValue for p in pages for r in p.hashRecords}
    assert {pdq(n) for n in range(1, 6)} <= got
    assert all(r.hashStatus == StopNCIICaseStatus.Active for p in pages for r in p.hashRecords)

    exchange = StopNCIISignalExchangeAPI(CollaborationConfigBase("veil", api="stop_ncii",
                                                                 enabled=True), api)
    deltas = list(exchange.fetch_iter([PdqSignal], None))
    assert len(deltas) >= 3
    fetched = {k for d in deltas for k in d.updates}
    assert {("pdq", pdq(n)) for n in range(1, 6)} <= fetched
    checkpoint = deltas[-1].checkpoint
    hub.add(pdq(50), pdq(51))
    resumed = {k for d in exchange.fetch_iter([PdqSignal], checkpoint) for k in d.updates}
    assert {("pdq", pdq(50)), ("pdq", pdq(51))} <= resumed
    # the checkpoint never runs ahead: a walk from it misses nothing newer
    assert checkpoint.update_time <= max(
        r.lastModtimestamp for p in pages for r in p.hashRecords)


def test_submit_then_feedback_shows(hub: Hub) -> None:
    api = hub.api()
    api.submit_hash(StopNCIISignalType.ImagePDQ, pdq(77))
    with open_store(load_settings()) as store:
        [entry] = store.list_entries(bank="inbox")
    assert entry.value == pdq(77) and entry.source == "partner:acme"
    api.submit_feedback(StopNCIISignalType.ImagePDQ, pdq(3), StopNCIICSPFeedbackValue.Blocked,
                        {"reviewed"})
    rec = everything(api)[(StopNCIISignalType.ImagePDQ, pdq(3))]
    [fb] = rec.CSPFeedbacks
    assert fb.feedbackValue == StopNCIICSPFeedbackValue.Blocked and fb.source == "acme"
    assert fb.tags == {"reviewed"}


def test_a_withdrawn_case_is_seen_as_withdrawn(hub: Hub) -> None:
    api = hub.api()
    r = httpx.post(f"{hub.url}/v1/cases", json={
        "signals": [{"signal": "pdq", "value": pdq(900), "quality": 90}],
        "attestation": ATTEST})
    assert r.status_code == 201, r.text
    token = r.json()["case_token"]
    rec = everything(api)[(StopNCIISignalType.ImagePDQ, pdq(900))]
    assert rec.hashStatus == StopNCIICaseStatus.Active and len(rec.caseNumbers) == 1
    [ref] = rec.caseNumbers
    assert ref not in token and ref not in r.text  # an opaque reference, not the case
    # a case without consent is never served
    r2 = httpx.post(f"{hub.url}/v1/cases", json={
        "signals": [{"signal": "pdq", "value": pdq(901), "quality": 90}],
        "attestation": {**ATTEST, "share_with_partners": False}})
    assert r2.status_code == 201
    assert (StopNCIISignalType.ImagePDQ, pdq(901)) not in everything(api)
    checkpoint = max(rec.lastModtimestamp - 10, 0)
    assert httpx.delete(f"{hub.url}/v1/cases/me",
                        headers={"X-Case-Token": token}).status_code == 200
    rec = everything(api, checkpoint)[(StopNCIISignalType.ImagePDQ, pdq(900))]
    assert rec.hashStatus == StopNCIICaseStatus.Withdrawn and rec.caseNumbers == {}


def test_threatexchange_cli_fetches_our_hashes(hub: Hub, tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path),
           "TX_STOPNCII_KEYS": f"{hub.key},{hub.key},{hub.base}"}
    env.pop("TX_STATEDIR", None)
    tx = str(BIN / "threatexchange")

    def run(*args: str) -> str:
        done = subprocess.run([tx, *args], env=env, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout

    run("config", "collab", "edit", "stop_ncii", "--create", "veilhub")
    run("fetch")
    printed = run("dataset", "-P", "--only-collabs", "veilhub")
    for n in range(1, 6):
        assert pdq(n) in printed


def test_auth_headers_and_bad_input(hub: Hub) -> None:
    fetch = f"{hub.base}/FetchHashes"
    # the real client's two headers: either one valid exchange key is enough
    for headers in ({"x-functions-key": hub.key, "Ocp-Apim-Subscription-Key": "nope"},
                    {"x-functions-key": "nope", "Ocp-Apim-Subscription-Key": hub.key},
                    {"Authorization": f"Bearer {hub.key}"}):
        assert httpx.get(fetch, headers=headers).status_code == 200, headers
    r = httpx.get(fetch)
    assert r.status_code == 401 and r.json()["error"]["code"] == "auth.missing"
    r = httpx.get(fetch, headers={"x-functions-key": "veil_nope"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "auth.invalid"
    admin_key = hub.admin["Authorization"].split()[1]
    r = httpx.get(fetch, headers={"x-functions-key": admin_key})
    assert r.status_code == 403 and r.json()["error"]["code"] == "auth.scope"
    good = {"x-functions-key": hub.key}
    for params, code in (({"nextPageToken": "garbage"}, "exchange.bad_token"),
                         ({"pageSize": "-1"}, "input.invalid"),
                         ({"pageSize": "0"}, "input.invalid"),
                         ({"startTimestamp": "soon"}, "input.invalid")):
        r = httpx.get(fetch, headers=good, params=params)
        assert 400 <= r.status_code < 500 and r.json()["error"]["code"] == code, params
        assert r.json()["error"]["message"]
    r = httpx.get(fetch, headers=good, params={"pageSize": str(10**12)})
    assert r.status_code == 422  # beyond any page: refused, not a 5xx
    r = httpx.get(fetch, headers=good, params={"pageSize": "100000"})
    assert r.status_code == 200 and r.json()["count"] <= 2  # capped at the hub's page
    for path, body in (("SubmitHashes", b"{not json"), ("SubmitFeedback", b"[]"),
                       ("SubmitHashes", b'{"hashRecords": [{"signalType": "ImagePDQ", '
                        b'"hashValue": "xyz"}]}'),
                       ("SubmitFeedback", b'{"hashFeedbacks": [{"hashValue": "' +
                        pdq(1).encode() + b'", "feedbackValue": "Maybe"}]}')):
        r = httpx.post(f"{hub.base}/{path}", headers={**good,
                                                      "content-type": "application/json"},
                       content=body)
        assert 400 <= r.status_code < 500 and r.json()["error"]["message"], (path, body)
    # a key with the scope that no admin made a partner: refused with why
    r = httpx.get(fetch, headers={"x-functions-key": hub.stranger})
    assert r.status_code == 403 and r.json()["error"]["code"] == "exchange.not_partner"
