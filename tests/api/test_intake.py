"""Intake: hashes only, case tokens, status without revealing where, withdrawal at once."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from api_support import ATTEST, PDQ, jpeg, near, running
from fastapi.testclient import TestClient

from veil.api.services import Services

MD5 = "9e107d9d372bb6826bd81d3542a419d6"


def match(client: TestClient, headers: dict[str, str], *values: str) -> list[dict[str, Any]]:
    r = client.post("/v1/match", headers=headers, json={
        "signals": [{"signal": "pdq" if len(v) == 64 else "md5", "value": v} for v in values]})
    assert r.status_code == 200, r.text
    return r.json()["results"]


def test_case_lifecycle(client: TestClient, services: Services,
                        auth: Callable[[str], dict[str, str]]) -> None:
    platform = auth("platform")
    r = client.post("/v1/cases", json={"signals": [
        {"signal": "pdq", "value": PDQ.upper(), "quality": 92},
        {"signal": "md5", "value": MD5}], "attestation": ATTEST})
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    case = r.json()
    token = case["case_token"]
    assert len(token) >= 43 and case["status"] == "open"  # 256 bits, urlsafe base64
    assert [(s["n"], s["signal"], s["status"]) for s in case["signals"]] == [
        (1, "pdq", "active"), (2, "md5", "active")]
    # the token is stored hashed only
    from sqlalchemy import text

    with services.store.engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM cases")).scalar_one()
    assert token not in stored and len(stored) == 64

    # the hashes match at once, through the victims bank
    res = match(client, platform, near(PDQ, 5), MD5, "0" * 64)
    assert res[0]["decision"] == "block"
    m = res[0]["matches"][0]
    assert (m["bank"], m["category"], m["distance"]) == ("victims", "victim_submitted", 5)
    assert "value" not in m  # never a bank entry's hash
    assert res[1]["decision"] == "block" and res[2]["matches"] == []

    # the victim sees how often, never where
    services.counter.flush()
    status = client.get("/v1/cases/me", headers={"X-Case-Token": token}).json()
    assert [(s["n"], s["matched"]) for s in status["signals"]] == [(1, 1), (2, 1)]
    assert "bank" not in str(status) and "entry" not in str(status)

    # withdrawing one hash stops it matching before the response returns
    r = client.delete("/v1/cases/me/signals/1", headers={"X-Case-Token": token})
    assert r.status_code == 200
    assert [s["status"] for s in r.json()["signals"]] == ["withdrawn", "active"]
    res = match(client, platform, PDQ, MD5)
    assert res[0]["matches"] == [] and res[1]["decision"] == "block"
    # then everything
    r = client.delete("/v1/cases/me", headers={"X-Case-Token": token})
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert all(x["matches"] == [] for x in match(client, platform, PDQ, MD5))
    # withdrawn hashes are erased from the store, the audit keeps who and when
    with services.store.engine.connect() as conn:
        values = conn.execute(text("SELECT value FROM entries")).scalars().all()
    assert values == [None, None]
    actions = [a.action for a in services.store.audit(limit=50)]
    assert actions.count("entry.withdraw") == 2 and "case.withdraw" in actions
    assert PDQ not in str([a.detail for a in services.store.audit(limit=50)])
    # withdrawing again is harmless; an unknown signal number is 404
    assert client.delete("/v1/cases/me", headers={"X-Case-Token": token}).status_code == 200
    r = client.delete("/v1/cases/me/signals/9", headers={"X-Case-Token": token})
    assert r.status_code == 404 and r.json()["error"]["code"] == "case.no_signal"


def test_a_hash_two_victims_hold_stays_until_both_withdraw(
        client: TestClient, make_case: Callable[..., dict[str, Any]],
        auth: Callable[[str], dict[str, str]]) -> None:
    a = make_case()
    b = make_case()
    client.delete("/v1/cases/me", headers={"X-Case-Token": a["case_token"]})
    assert match(client, auth("platform"), PDQ)[0]["decision"] == "block"
    client.delete("/v1/cases/me", headers={"X-Case-Token": b["case_token"]})
    assert match(client, auth("platform"), PDQ)[0]["matches"] == []


@pytest.mark.parametrize("signal,why", [
    ({"signal": "pdq", "value": PDQ, "quality": 20}, "intake.low_quality"),
    ({"signal": "pdq", "value": PDQ}, "intake.quality_missing"),
    ({"signal": "pdq", "value": PDQ[:-1], "quality": 90}, "signal.bad_hash"),
    ({"signal": "md5", "value": "z" * 32}, "signal.bad_hash"),
    ({"signal": "phash", "value": "0" * 16}, "intake.signal"),
    ({"signal": "nope", "value": "00"}, "intake.signal"),
])
def test_bad_signals_are_explained(client: TestClient, signal: dict[str, Any],
                                   why: str) -> None:
    r = client.post("/v1/cases", json={"signals": [signal], "attestation": ATTEST})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == why
    if why == "intake.low_quality":
        assert "below 50" in r.json()["error"]["message"]


def test_attestation_is_required(client: TestClient) -> None:
    sig = [{"signal": "md5", "value": MD5}]
    for att in ({"self_or_guardian": True, "intimate": False},
                {"self_or_guardian": False, "intimate": True}):
        r = client.post("/v1/cases", json={"signals": sig, "attestation": att})
        assert r.status_code == 422 and r.json()["error"]["code"] == "intake.attestation"
    r = client.post("/v1/cases", json={"signals": sig})
    assert r.status_code == 422 and r.json()["error"]["code"] == "input.invalid"


def test_images_are_refused(client: TestClient, services: Services) -> None:
    picture = jpeg(1)
    for headers, body in [({"content-type": "image/jpeg"}, picture),
                          ({"content-type": "application/json"}, picture),
                          ({}, picture),
                          ({"content-type": "application/octet-stream"}, picture)]:
        r = client.post("/v1/cases", content=body, headers=headers)
        assert r.status_code == 415, (headers, r.text)
        assert r.json()["error"]["code"] == "intake.image_refused"
    r = client.post("/v1/cases", files={"file": ("me.jpg", io.BytesIO(picture), "image/jpeg")})
    assert r.status_code == 415 and r.json()["error"]["code"] == "intake.image_refused"
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    r = client.post("/v1/cases", content=png, headers={"content-type": "application/json"})
    assert r.status_code == 415
    # an oversized body is refused from its declared length
    r = client.post("/v1/cases", content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                    headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "request.too_large"
    assert services.store.list_banks() == []


def test_intake_is_rate_limited_per_client(database_url: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEIL_API_INTAKE_RATE_PER_MIN", "6")
    monkeypatch.setenv("VEIL_API_INTAKE_BURST", "3")
    with running() as (client, _):
        body = {"signals": [{"signal": "md5", "value": MD5}], "attestation": ATTEST}
        codes = [client.post("/v1/cases", json=body).status_code for _ in range(4)]
        assert codes == [201, 201, 201, 429]
        r = client.post("/v1/cases", json=body)
        assert r.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(r.headers["retry-after"]) <= 10
        # case-token look-ups share the bucket (no token guessing at speed)
        assert client.get("/v1/cases/me", headers={"X-Case-Token": "x"}).status_code == 429


def test_partner_with_intake_key(client: TestClient, services: Services,
                                 auth: Callable[[str], dict[str, str]]) -> None:
    r = client.post("/v1/cases", headers=auth("intake"), json={
        "signals": [{"signal": "md5", "value": MD5}], "attestation": ATTEST})
    assert r.status_code == 201
    created = [a for a in services.store.audit(action="case.create")]
    assert created[0].actor == "key:1:test-intake"


def test_the_written_down_code_opens_the_case_like_the_token(client: TestClient,
                                                             make_case: Any) -> None:
    """What a helpline types from a person's printed code works as the token does."""
    from veil.api.case_code import code_from_token, token_from_code

    case = make_case()
    token = case["case_token"]
    code = code_from_token(token)
    assert len(code.replace("-", "")) == 52 and not set(code) & set("IO01")
    assert token_from_code(code.lower().replace("-", " ")) == token
    for sent in (token, code, code.lower(), code.replace("-", " ")):
        r = client.get("/v1/cases/me", headers={"X-Case-Token": sent})
        assert r.status_code == 200 and r.json()["case_id"] == case["case_id"], sent
    wrong = code[:-1] + ("2" if code[-1] != "2" else "3")
    assert client.get("/v1/cases/me", headers={"X-Case-Token": wrong}).status_code == 401


# -- a case owns only what it added (issue 12 point 5) -----------------------------------------
def import_into_victims(client: TestClient, admin: dict[str, str], *values: str) -> None:
    r = client.post("/v1/admin/banks", headers=admin,
                    json={"name": "victims", "category": "victim_submitted"})
    assert r.status_code == 201, r.text
    rows = "".join(f"{'pdq' if len(v) == 64 else 'md5'},{v}\n" for v in values)
    r = client.post("/v1/admin/banks/victims/entries",
                    headers={**admin, "content-type": "text/csv"},
                    content="signal,value\n" + rows)
    assert r.status_code == 200 and r.json()["imported"] == len(values), r.text


def entry_id(services: Services, value: str) -> int:
    return next(e.id for e in services.store.list_entries(bank="victims") if e.value == value)


def seen(client: TestClient, token: str) -> list[tuple[int, str, int]]:
    r = client.get("/v1/cases/me", headers={"X-Case-Token": token})
    assert r.status_code == 200, r.text
    return [(s["n"], s["status"], s["matched"]) for s in r.json()["signals"]]


def test_a_stranger_cannot_erase_an_imported_entry(
        client: TestClient, services: Services, auth: Callable[[str], dict[str, str]],
        make_case: Callable[..., dict[str, Any]]) -> None:
    import_into_victims(client, auth("admin"), PDQ, MD5)
    stranger = make_case({"signal": "pdq", "value": PDQ, "quality": 100},
                         {"signal": "md5", "value": MD5})
    r = client.delete("/v1/cases/me", headers={"X-Case-Token": stranger["case_token"]})
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert [s["status"] for s in r.json()["signals"]] == ["withdrawn", "withdrawn"]
    # the imported hashes still match, and the store still has them
    res = match(client, auth("platform"), PDQ, MD5)
    assert [x["decision"] for x in res] == ["block", "block"]
    assert {e.value for e in services.store.list_entries(bank="victims",
                                                         status="active")} == {PDQ, MD5}


def test_a_stranger_cannot_learn_an_entry_s_match_count(
        client: TestClient, services: Services, auth: Callable[[str], dict[str, str]],
        make_case: Callable[..., dict[str, Any]]) -> None:
    platform = auth("platform")
    import_into_victims(client, auth("admin"), PDQ)
    for _ in range(3):
        match(client, platform, PDQ)
    services.counter.flush()
    match(client, platform, PDQ)  # still in memory when the stranger submits
    stranger = make_case()
    fresh = make_case({"signal": "md5", "value": MD5})
    assert [s["matched"] for s in stranger["signals"]] == [0]
    assert seen(client, stranger["case_token"]) == seen(client, fresh["case_token"]) == [
        (1, "active", 0)]
    services.counter.flush()
    assert seen(client, stranger["case_token"]) == [(1, "active", 0)]
    # what matches from now on is the case's to see, in memory and once written
    services.counter.flush()
    match(client, platform, PDQ, MD5)
    assert seen(client, stranger["case_token"]) == seen(client, fresh["case_token"]) == [
        (1, "active", 1)]
    services.counter.flush()
    assert seen(client, stranger["case_token"]) == [(1, "active", 1)]
    # admins still have the entry's whole count
    from sqlalchemy import select

    from veil.store.models import EntryMatchCount

    with services.store.engine.connect() as conn:
        total = conn.execute(select(EntryMatchCount.count).where(
            EntryMatchCount.entry_id == entry_id(services, PDQ))).scalar_one()
    assert total == 5


def test_a_dispute_shows_on_the_victim_s_case(
        client: TestClient, services: Services, auth: Callable[[str], dict[str, str]],
        make_case: Callable[..., dict[str, Any]]) -> None:
    admin, review = auth("admin"), auth("review")
    victim = make_case({"signal": "pdq", "value": PDQ, "quality": 100},
                       {"signal": "md5", "value": MD5})
    token = victim["case_token"]
    pdq_entry = entry_id(services, PDQ)
    r = client.post(f"/v1/admin/entries/{pdq_entry}/dispute", headers=admin,
                    json={"reason": "contested"})
    assert r.status_code == 200
    assert seen(client, token) == [(1, "under_review", 0), (2, "active", 0)]
    # a dispute older than a submission is not shown to it: that would tell a stranger
    # the value was banked
    later = make_case()
    assert seen(client, later["case_token"]) == [(1, "active", 0)]
    r = client.post(f"/v1/review/entries/{pdq_entry}/decision", headers=review,
                    json={"decision": "restore"})
    assert r.status_code == 200
    assert seen(client, token) == [(1, "active", 0), (2, "active", 0)]
    md5_entry = entry_id(services, MD5)
    client.post(f"/v1/admin/entries/{md5_entry}/dispute", headers=admin, json={})
    r = client.post(f"/v1/review/entries/{md5_entry}/decision", headers=review,
                    json={"decision": "withdraw"})
    assert r.status_code == 200
    assert seen(client, token) == [(1, "active", 0), (2, "removed", 0)]
    # the victim may withdraw anything still listed, under review or not
    client.post(f"/v1/admin/entries/{pdq_entry}/dispute", headers=admin, json={})
    r = client.delete("/v1/cases/me/signals/1", headers={"X-Case-Token": token})
    assert r.status_code == 200
    assert seen(client, token) == [(1, "withdrawn", 0), (2, "removed", 0)]
    assert services.store.get_entry(pdq_entry).status == "disputed"  # `later` holds it


def test_the_case_schema_lists_every_status_the_store_shows() -> None:
    from typing import get_args

    from veil.api.schemas import CaseSignalOut
    from veil.store.cases import SHOWN_STATUSES

    assert get_args(CaseSignalOut.model_fields["status"].annotation) == SHOWN_STATUSES


def test_a_withdrawal_writes_only_its_own_case_s_counts(
        client: TestClient, services: Services, auth: Callable[[str], dict[str, str]],
        make_case: Callable[..., dict[str, Any]]) -> None:
    mine = make_case({"signal": "pdq", "value": PDQ, "quality": 100},
                     {"signal": "md5", "value": "0" * 32})
    other = make_case({"signal": "md5", "value": MD5})
    match(client, auth("platform"), PDQ, "0" * 32, MD5)
    r = client.delete("/v1/cases/me/signals/1", headers={"X-Case-Token": mine["case_token"]})
    assert r.status_code == 200, r.text
    # the withdrawn signal's count was written before it froze...
    assert [(s["status"], s["matched"]) for s in r.json()["signals"]] == [
        ("withdrawn", 1), ("active", 1)]
    # ...and nobody else's: the case's other signal and the other case wait in memory
    assert services.counter.pending_entries() == 2
    services.counter.flush()
    assert seen(client, other["case_token"]) == [(1, "active", 1)]
    assert seen(client, mine["case_token"]) == [(1, "withdrawn", 1), (2, "active", 1)]
