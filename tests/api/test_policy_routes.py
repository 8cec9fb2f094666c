"""Policies, disabled entries, flood quarantines and the audit log through the service;
the same verdict from /v1/scan, /v1/match and veil scan; a replayed stream of scans in
which one imported entry starts matching unrelated uploads."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from api_support import PDQ, near, running
from fastapi.testclient import TestClient

from veil.api.services import FLOOD_ACTOR, Services

Auth = Callable[[str], dict[str, str]]


def match(client: TestClient, auth: Auth, value: str = PDQ) -> dict[str, object]:
    r = client.post("/v1/match", headers=auth("platform"),
                    json={"signals": [{"signal": "pdq", "value": value}]})
    assert r.status_code == 200, r.text
    return r.json()["results"][0]  # type: ignore[no-any-return]


def bank(client: TestClient, auth: Auth, name: str, category: str,
         rows: list[tuple[str, str]], **policy: object) -> None:
    a = auth("admin")
    r = client.post("/v1/admin/banks", headers=a,
                    json={"name": name, "category": category, "policy": policy})
    assert r.status_code == 201, r.text
    csv = "signal,value,source\n" + "".join(f"{s},{v},partner\n" for s, v in rows)
    r = client.post(f"/v1/admin/banks/{name}/entries", headers={**a, "content-type": "text/csv"},
                    content=csv)
    assert r.status_code == 200 and r.json()["ok"], r.text


def test_policy_patch_merges_validates_and_reaches_the_matcher(client: TestClient,
                                                               auth: Auth) -> None:
    a = auth("admin")
    bank(client, auth, "imp", "imported", [("pdq", PDQ)])
    assert match(client, auth, near(PDQ, 20))["decision"] == "review"
    r = client.patch("/v1/admin/banks/imp", headers=a,
                     json={"policy": {"thresholds": {"pdq": 10}, "priority": 3}})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["policy"] == {"thresholds": {"pdq": 10}, "priority": 3}
    assert (out["action"], out["priority"], out["enabled"]) == ("review", 3, True)
    assert match(client, auth, near(PDQ, 20))["decision"] == "allow"
    assert match(client, auth, near(PDQ, 8))["matches"][0]["threshold"] == 10  # type: ignore[index]
    r = client.patch("/v1/admin/banks/imp", headers=a, json={"policy": {"enabled": False}})
    assert r.json()["enabled"] is False and r.json()["policy"]["priority"] == 3
    assert match(client, auth, PDQ)["decision"] == "allow"
    r = client.patch("/v1/admin/banks/imp", headers=a,
                     json={"policy": {"enabled": None, "thresholds": None}})
    assert r.json()["policy"] == {"priority": 3}
    for bad, code in [({"thresholds": {"pdq": 40}}, "input.bad_threshold"),
                      ({"thresholds": {"pdq": 999}}, "input.bad_policy"),
                      ({"thresholds": {"nope": 3}}, "input.bad_policy"),
                      ({"action": "delete"}, "input.invalid"),
                      ({"priority": 10**6}, "input.invalid"),
                      ({"enabled": "yes please"}, "input.invalid"),
                      ({"colour": "red"}, "input.invalid")]:
        r = client.patch("/v1/admin/banks/imp", headers=a, json={"policy": bad})
        assert 400 <= r.status_code < 500 and r.json()["error"]["code"] == code, (bad, r.text)
    r = client.post("/v1/admin/banks", headers=a, json={
        "name": "x", "category": "imported", "policy": {"thresholds": {"pdq": 64}}})
    assert r.status_code == 400 and r.json()["error"]["code"] == "input.bad_threshold"
    assert client.get("/v1/admin/banks/imp", headers=a).json()["policy"] == {"priority": 3}


def test_an_allowlist_suppresses_and_the_reasons_say_so(client: TestClient,
                                                        auth: Auth) -> None:
    bank(client, auth, "imp", "imported", [("pdq", PDQ)], action="block")
    assert match(client, auth, near(PDQ, 4))["decision"] == "block"
    bank(client, auth, "fp", "allowlist", [("pdq", near(PDQ, 6))])
    r = client.post("/v1/match", headers=auth("platform"), json={"signals": [
        {"signal": "pdq", "value": near(PDQ, 4), "upload": "u1"}]})
    up = r.json()["uploads"][0]
    assert up["decision"] == "allow" and r.json()["results"][0]["decision"] == "allow"
    assert any("not counted: allowlist entry" in why for why in up["reasons"])
    # a suppressed match is not counted as a match (metrics, victims' case pages)
    metrics = client.get("/metrics").text
    assert 'veil_matches_total{bank="imp",signal="pdq"} 1.0' in metrics  # before the allowlist
    assert 'veil_matches_total{bank="fp",signal="pdq"} 1.0' in metrics


def test_disable_and_enable_an_entry_with_a_note_for_its_source(
        client: TestClient, auth: Auth) -> None:
    a = auth("admin")
    bank(client, auth, "imp", "imported", [("pdq", PDQ)], action="block")
    entry = match(client, auth)["matches"][0]["entry_id"]  # type: ignore[index]
    r = client.post(f"/v1/admin/entries/{entry}/disable", headers=a,
                    json={"reason": "a stock photo"})
    assert r.status_code == 200 and r.json()["status"] == "disabled"
    assert match(client, auth)["decision"] == "allow"  # out of the index before the reply
    r = client.post(f"/v1/admin/entries/{entry}/disable", headers=a, json={})
    assert r.status_code == 409
    fb = client.get("/v1/admin/feedback?status=pending", headers=a).json()
    assert [(f["entry_id"], f["source"], f["reason"]) for f in fb["feedback"]] == [
        (entry, "partner", "a stock photo")]
    r = client.post(f"/v1/admin/entries/{entry}/enable", headers=a, json={})
    assert r.status_code == 200 and r.json()["status"] == "active"
    assert match(client, auth)["decision"] == "block"
    assert client.get("/v1/admin/feedback?status=pending", headers=a).json()["feedback"] == []
    assert client.post("/v1/admin/entries/999999/disable", headers=a,
                       json={}).status_code == 404
    assert client.get("/v1/admin/feedback?status=lost", headers=a).status_code == 422
    audit = client.get(f"/v1/admin/audit?entry_id={entry}", headers=a).json()["events"]
    assert [e["action"] for e in audit][:4] == ["entry.feedback", "entry.enable",
                                               "entry.feedback", "entry.disable"]
    assert all(e["actor"].startswith("key:") for e in audit[:4])


def test_one_verdict_from_scan_match_and_the_command_line(
        client: TestClient, auth: Auth, services: Services, photo: bytes,
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scanned = client.post("/v1/scan", headers={**auth("platform"),
                                               "content-type": "image/jpeg"}, content=photo)
    signals = {s["signal"]: s for s in scanned.json()["signals"]}
    p, md5 = signals["pdq"]["value"], signals["md5"]["value"]
    # every rule at once: a block on identical bytes, an imported near copy suppressed by an
    # allowlist, a protected photo above the allowlist's priority, quarantined
    bank(client, auth, "ncii", "confirmed_ncii", [("md5", md5)])
    bank(client, auth, "imp", "imported", [("pdq", near(p, 3))])
    bank(client, auth, "fp", "allowlist", [("pdq", near(p, 5))])
    bank(client, auth, "prot", "protected_photo", [("pdq", near(p, 7))], priority=2)
    bank(client, auth, "off", "imported", [("pdq", near(p, 9))], enabled=False)
    prot = match(client, auth, near(p, 7))["matches"][0]["entry_id"]  # type: ignore[index]
    services.store.quarantine("entry", "prot", prot, detail={}, actor="test")

    scan = client.post("/v1/scan", headers={**auth("platform"), "content-type": "image/jpeg"},
                       content=photo).json()
    upload = client.post("/v1/match", headers=auth("platform"), json={"signals": [
        {**s, "upload": "photo"} for s in scanned.json()["signals"]]}).json()["uploads"]
    assert len(upload) == 1
    path = tmp_path / "photo.jpg"
    path.write_bytes(photo)
    from veil.cli.scan import run_scan

    run_scan([path], as_json=True, threshold=None, dihedral=False, workers=1,
             show_clean=False)
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    def core(v: dict[str, object]) -> tuple[object, ...]:
        observed = len(v.get("observations") or [])  # type: ignore[arg-type]
        reasons = v["reasons"][:len(v["reasons"]) - observed]  # type: ignore[index]
        return v["decision"], reasons, v["matches"]

    assert core(scan) == core(upload[0]) == core(line)
    decision, reasons, matches = core(scan)
    assert decision == "block" and len(matches) == 4  # type: ignore[arg-type]
    words = "\n".join(reasons)  # type: ignore[arg-type]
    assert "identical bytes" in words and "not counted: allowlist entry" in words
    assert "quarantined by flood protection" in words
    assert "1 match in bank 'off' not counted: the bank is disabled" in words


def test_a_replayed_stream_quarantines_the_flooding_entry_only(
        api_env: None, monkeypatch: pytest.MonkeyPatch, photo: bytes) -> None:
    for k, v in {"WINDOW": "100", "ENTRY_MAX_UPLOADS": "12", "ENTRY_WINDOW": "400",
                 "BANK_MIN_MATCHES": "1000"}.items():
        monkeypatch.setenv(f"VEIL_FLOOD_{k}", v)
    rng = np.random.default_rng(7)

    def rand() -> str:
        return rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex()

    def within(value: str, bits: int) -> str:  # ``bits`` random bits of ``value`` flipped
        mask = 0
        for b in rng.choice(256, bits, replace=False):
            mask |= 1 << int(b)
        return f"{int(value, 16) ^ mask:064x}"

    generic, victim = rand(), rand()
    with running() as (client, services):
        keys = {s: services.store.create_api_key([s], name=s, actor="t")[1]
                for s in ("platform", "admin")}

        def auth(scope: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {keys[scope]}"}

        bank(client, auth, "victims", "victim_submitted", [("pdq", victim)])
        bank(client, auth, "partner", "imported", [("pdq", generic)], action="block")
        a = auth("admin")
        # admins follow the partner list (the receiver is down: the event just waits)
        r = client.post("/v1/admin/webhooks", headers=a, json={
            "name": "ops", "url": "http://127.0.0.1:9/hook", "bank": "partner"})
        assert r.status_code == 201, r.text
        # the attack first: one picture scanned again and again floods nothing
        for _ in range(30):
            client.post("/v1/scan", headers={**auth("platform"),
                                             "content-type": "image/jpeg"}, content=photo)
        # normal traffic: unrelated uploads, and a viral copy of a victim's picture
        decisions = []
        for i in range(300):
            if i % 3 == 0:
                value = within(victim, 6)  # re-encodes of one picture: a few bits apart
            elif i > 150 and i % 3 == 1:
                value = within(generic, 26)  # unrelated pictures near a generic entry
            else:
                value = rand()
            r = client.post("/v1/match", headers=auth("platform"), json={"signals": [
                {"signal": "pdq", "value": value, "upload": f"u{i}"}]})
            decisions.append((i, value, r.json()["uploads"][0]["decision"]))
        found = client.get("/v1/admin/quarantines", headers=a).json()["quarantines"]
        assert [(q["kind"], q["bank"], q["status"]) for q in found] == [
            ("entry", "partner", "active")]
        q = found[0]
        assert q["detail"]["distinct_uploads"] == 12
        assert q["detail"]["callers"] == ["key:1:platform"]
        # before the quarantine its matches blocked; after, they go to review
        generic_hits = [d for i, v, d in decisions if i > 150 and i % 3 == 1]
        assert generic_hits[:11] == ["block"] * 11 and set(generic_hits[12:]) == {"review"}
        assert {d for i, _, d in decisions if i % 3 == 0} == {"block"}  # never quarantined
        metrics = client.get("/metrics").text
        assert 'veil_quarantines_active{kind="entry"} 1.0' in metrics
        assert 'veil_quarantines_total{bank="partner",kind="entry"} 1.0' in metrics
        audit = client.get("/v1/admin/audit?action=quarantine.create", headers=a).json()
        assert [(e["actor"], e["entry_id"]) for e in audit["events"]] == [
            (FLOOD_ACTOR, q["entry_id"])]
        assert audit["events"][0]["detail"]["trip"]["distinct_uploads"] == 12
        assert match(client, auth, generic)["decision"] == "review"
        events = _outbox_events(services)
        assert events.count("quarantine.created") == 1, events
    # a restart keeps it: the flag is in the database
    with running() as (client, services):
        keys = {"platform": services.store.create_api_key(["platform"], actor="t")[1],
                "admin": services.store.create_api_key(["admin"], actor="t")[1]}
        assert match(client, auth, generic)["decision"] == "review"
        r = client.post(f"/v1/admin/quarantines/{q['id']}/release", headers=auth("admin"),
                        json={"reason": "checked: a real match"})
        assert r.status_code == 200 and r.json()["status"] == "released"
        assert match(client, auth, generic)["decision"] == "block"
        again = client.post(f"/v1/admin/quarantines/{q['id']}/confirm", headers=auth("admin"),
                            json={})
        assert again.status_code == 409
        assert client.post("/v1/admin/quarantines/999/release", headers=auth("admin"),
                           json={}).status_code == 404
        services.store.quarantine("entry", "partner", q["entry_id"], detail={}, actor="t")
        q2 = client.get("/v1/admin/quarantines?status=active",
                        headers=auth("admin")).json()["quarantines"][0]
        r = client.post(f"/v1/admin/quarantines/{q2['id']}/confirm", headers=auth("admin"),
                        json={"reason": "generic texture"})
        assert r.json()["status"] == "confirmed"
        assert match(client, auth, generic)["decision"] == "allow"  # the entry is disabled
        entry = client.get(f"/v1/admin/entries/{q['entry_id']}", headers=auth("admin")).json()
        assert entry["status"] == "disabled"


def _outbox_events(services: object) -> list[str]:
    """The events in the webhook outbox, oldest first (read straight from the store)."""
    from sqlalchemy import select

    from veil.store.models import WebhookDelivery

    with services.store._reading() as s:  # type: ignore[attr-defined]
        return list(s.scalars(select(WebhookDelivery.event).order_by(WebhookDelivery.id)))
