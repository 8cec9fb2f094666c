"""Admin and review: banks, policies, import/export, entry status, audit log."""

from __future__ import annotations

import json
from collections.abc import Callable

from api_support import PDQ, near
from fastapi.testclient import TestClient

from veil.api.services import Services

Auth = Callable[[str], dict[str, str]]


def decision(client: TestClient, auth: Auth, value: str = PDQ) -> str:
    r = client.post("/v1/match", headers=auth("platform"),
                    json={"signals": [{"signal": "pdq", "value": value}]})
    return str(r.json()["results"][0]["decision"])


def test_banks_and_policies(client: TestClient, auth: Auth) -> None:
    a = auth("admin")
    r = client.post("/v1/admin/banks", headers=a, json={"name": "imp", "category": "imported"})
    assert r.status_code == 201 and r.json()["action"] == "review"
    dup = client.post("/v1/admin/banks", headers=a, json={"name": "imp", "category": "imported"})
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "conflict"
    bad = client.post("/v1/admin/banks", headers=a, json={"name": "x'; DROP TABLE banks;--",
                                                          "category": "imported"})
    assert bad.status_code == 422
    client.post("/v1/admin/banks/imp/entries", headers={**a, "content-type": "text/csv"},
                content=f"signal,value\npdq,{PDQ}\n")
    assert decision(client, auth) == "review"
    r = client.patch("/v1/admin/banks/imp", headers=a, json={"policy": {"action": "block"}})
    assert r.status_code == 200 and r.json()["policy"] == {"action": "block"}
    assert decision(client, auth) == "block"  # the live matcher has the new policy
    listed = client.get("/v1/admin/banks", headers=a).json()["banks"]
    assert [(b["name"], b["counts"]["active"]) for b in listed] == [("imp", 1)]
    assert client.get("/v1/admin/banks/none", headers=a).status_code == 404
    page = client.get("/").text
    assert "imp" in page and "/docs" in page and "1 pdq" in page


def test_import_is_all_or_nothing_and_export_streams(client: TestClient, auth: Auth,
                                                     services: Services) -> None:
    a = auth("admin")
    client.post("/v1/admin/banks", headers=a, json={"name": "list", "category": "imported"})
    rows = [f"pdq,{i:064x},{50 + i % 50},,feed,row {i}" for i in range(1, 3001)]
    good = "signal,value,quality,category,source,note\n" + "\n".join(rows) + "\n"
    r = client.post("/v1/admin/banks/list/entries", headers={**a, "content-type": "text/csv"},
                    content=good)
    assert r.status_code == 200, r.text
    assert r.json() | {"errors": []} == {"bank": "list", "ok": True, "rows": 3000,
                                         "imported": 3000, "duplicates": 0, "error_count": 0,
                                         "errors": []}
    assert decision(client, auth, f"{2999:064x}") == "review"
    bad = good + "pdq,nothex,,,,\nmd5,' OR '1'='1,,,,\n"
    r = client.post("/v1/admin/banks/list/entries", headers={**a, "content-type": "text/csv"},
                    content=bad)
    out = r.json()
    assert r.status_code == 200 and not out["ok"] and out["imported"] == 0
    assert [e["line"] for e in out["errors"]] == [3002, 3003]
    assert services.store.get_bank("list").counts["active"] == 3000
    r = client.post("/v1/admin/banks/list/entries", headers={**a, "content-type": "image/png"},
                    content=b"x")
    assert r.status_code == 415
    r = client.post("/v1/admin/banks/nope/entries", headers={**a, "content-type": "text/csv"},
                    content=good)
    assert r.status_code == 404
    r = client.get("/v1/admin/banks/list/entries?format=csv", headers=a)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.text.splitlines()
    assert lines[0] == "signal,value,quality,category,source,note" and len(lines) == 3001
    assert lines.count(lines[0]) == 1
    r = client.get("/v1/admin/banks/list/entries?format=jsonl", headers=a)
    objs = [json.loads(x) for x in r.text.splitlines()]
    assert len(objs) == 3000 and objs[0]["value"] == f"{1:064x}"
    # what was exported imports again as duplicates only
    r = client.post("/v1/admin/banks/list/entries",
                    headers={**a, "content-type": "application/x-ndjson"}, content=r.text)
    assert r.json()["duplicates"] == 3000 and r.json()["imported"] == 0


def test_withdraw_dispute_and_review(client: TestClient, auth: Auth) -> None:
    a = auth("admin")
    client.post("/v1/admin/banks", headers=a, json={"name": "k", "category": "confirmed_ncii"})
    client.post("/v1/admin/banks/k/entries", headers={**a, "content-type": "text/csv"},
                content=f"signal,value\npdq,{PDQ}\npdq,{near(PDQ, 100)}\n")
    ids = [e["id"] for e in client.get("/v1/review/queue", headers=auth("review")).json()[
        "entries"]]
    assert ids == []
    r = client.post("/v1/admin/entries/1/dispute", headers=a, json={"reason": "contested"})
    assert r.status_code == 200 and r.json()["status"] == "disputed"
    assert decision(client, auth) == "allow"  # a disputed entry does not match
    queue = client.get("/v1/review/queue", headers=auth("review")).json()["entries"]
    assert [e["id"] for e in queue] == [1]
    r = client.post("/v1/review/entries/1/decision", headers=auth("review"),
                    json={"decision": "restore", "reason": "checked"})
    assert r.status_code == 200 and r.json()["status"] == "active"
    assert decision(client, auth) == "block"
    r = client.post("/v1/review/entries/1/decision", headers=auth("review"),
                    json={"decision": "withdraw"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "review.not_disputed"
    r = client.post("/v1/admin/entries/1/withdraw", headers=a, json={"reason": "gone"})
    assert r.status_code == 200 and r.json()["value"] is None
    assert decision(client, auth) == "allow"
    assert client.post("/v1/admin/entries/1/withdraw", headers=a, json={}).status_code == 409
    assert client.get("/v1/admin/entries/99", headers=a).status_code == 404
    events = client.get("/v1/admin/audit?limit=4", headers=a).json()
    # the reviewer's look at the queue (hashes read) is audited between the changes
    assert [e["action"] for e in events["events"]] == ["entry.withdraw", "entry.status",
                                                       "review.queue", "entry.status"]
    assert events["next_before_id"] is not None
    older = client.get(f"/v1/admin/audit?before_id={events['next_before_id']}&entry_id=1",
                       headers=a).json()["events"]
    assert older == []  # the import is one bank-level event
    only = client.get("/v1/admin/audit?action=bank.import&bank=k", headers=a).json()["events"]
    assert len(only) == 1 and only[0]["actor"] == "key:4:test-admin"
    assert PDQ not in json.dumps(client.get("/v1/admin/audit?limit=1000", headers=a).json())
    r = client.get("/v1/admin/audit?since=2020-01-01T00:00:00", headers=a)
    assert r.status_code == 422
