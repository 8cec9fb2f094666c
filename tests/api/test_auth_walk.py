"""Every route in the OpenAPI spec says who may call it, and refuses everyone else."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from veil.api.auth import SCOPE_EXT

KEY_SCOPES = {"intake", "platform", "review", "admin", "exchange"}
#: Routes anyone may call: the status page and what operators probe.
PUBLIC_OK = {("GET", "/"), ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"),
             ("POST", "/v1/cases")}
SAMPLE_PATH_VALUES = {"name": "victims", "entry_id": "1", "key_id": "999999", "n": "1",
                      "video_id": "1", "quarantine_id": "1", "key_name": "test-exchange",
                      "item_id": "00000000-0000-7000-8000-000000000000"}


def operations(client: TestClient) -> list[tuple[str, str, dict]]:
    spec = client.get("/openapi.json").json()
    return [(method.upper(), path, op) for path, ops in spec["paths"].items()
            for method, op in ops.items()]


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLE_PATH_VALUES[m.group(1)], path)


def test_every_operation_declares_its_scope(client: TestClient) -> None:
    ops = operations(client)
    assert len(ops) >= 20
    for method, path, op in ops:
        scope = op.get(SCOPE_EXT)
        assert scope in KEY_SCOPES | {"public", "case"}, (method, path)
        if scope == "public":
            assert (method, path) in PUBLIC_OK, f"{method} {path} is public: should it be?"
        if scope == "exchange":  # StopNCII's clients send the key in their own headers
            assert op.get("security") == [{"HTTPBearer": []}, {"x-functions-key": []},
                                          {"Ocp-Apim-Subscription-Key": []}], (method, path)
        elif scope in KEY_SCOPES:
            assert op.get("security") == [{"HTTPBearer": []}], (method, path)
            assert {"401", "403"} <= set(op["responses"]), (method, path)


def test_every_keyed_operation_refuses_no_key_and_wrong_scope(
        client: TestClient, auth: Callable[[str], dict[str, str]]) -> None:
    checked = 0
    for method, path, op in operations(client):
        scope = op[SCOPE_EXT]
        if scope not in KEY_SCOPES:
            continue
        url = concrete(path)
        r = client.request(method, url, json={})
        assert r.status_code == 401, (method, path, r.text)
        assert r.json()["error"]["code"] == "auth.missing"
        assert r.headers["www-authenticate"] == "Bearer"
        r = client.request(method, url, json={},
                           headers={"Authorization": "Bearer veil_not-a-real-key"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "auth.invalid"
        for other in KEY_SCOPES - {scope}:
            r = client.request(method, url, json={}, headers=auth(other))
            assert r.status_code == 403, (method, path, other, r.text)
            assert r.json()["error"]["code"] == "auth.scope"
        r = client.request(method, url, json={}, headers=auth(scope))
        # an exchange key no admin made a partner yet: refused by the hub, not by auth
        assert r.status_code not in (401, 403) or (
            r.json()["error"]["code"] == "exchange.not_partner"), (method, path, r.text)
        checked += 1
    assert checked >= 15


def test_intake_takes_no_key_but_refuses_a_key_without_intake(
        client: TestClient, auth: Callable[[str], dict[str, str]]) -> None:
    body = {"signals": [{"signal": "md5", "value": "0" * 32}],
            "attestation": {"self_or_guardian": True, "intimate": True}}
    assert client.post("/v1/cases", json=body).status_code == 201
    for scope in ("platform", "review", "admin"):
        r = client.post("/v1/cases", json=body, headers=auth(scope))
        assert r.status_code == 403 and r.json()["error"]["code"] == "auth.scope"
    r = client.post("/v1/cases", json=body, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert client.post("/v1/cases", json=body, headers=auth("intake")).status_code == 201


@pytest.mark.parametrize("method,path", [("GET", "/v1/cases/me"), ("DELETE", "/v1/cases/me"),
                                         ("DELETE", "/v1/cases/me/signals/1")])
def test_case_routes_need_the_case_token(client: TestClient, method: str, path: str,
                                         auth: Callable[[str], dict[str, str]]) -> None:
    r = client.request(method, path)
    assert r.status_code == 401 and r.json()["error"]["code"] == "case.token_missing"
    r = client.request(method, path, headers={"X-Case-Token": "x" * 43})
    assert r.status_code == 401 and r.json()["error"]["code"] == "case.token_invalid"
    # an API key is no substitute, whatever its scope
    r = client.request(method, path, headers=auth("all"))
    assert r.status_code == 401


def test_revoked_key_stops_at_once(client: TestClient, auth: Callable[[str], dict[str, str]],
                                   ) -> None:
    r = client.post("/v1/admin/keys", json={"scopes": ["platform"], "name": "temp"},
                    headers=auth("admin"))
    assert r.status_code == 201
    created = r.json()
    key = {"Authorization": f"Bearer {created['key']}"}
    body = {"signals": [{"signal": "md5", "value": "0" * 32}]}
    assert client.post("/v1/match", json=body, headers=key).status_code == 200
    listed = client.get("/v1/admin/keys", headers=auth("admin")).json()["keys"]
    assert all("key" not in k for k in listed)
    assert created["prefix"] in {k["prefix"] for k in listed}
    assert client.delete(f"/v1/admin/keys/{created['id']}",
                         headers=auth("admin")).status_code == 200
    assert client.post("/v1/match", json=body, headers=key).status_code == 401


def test_the_scopes_routes_check_are_the_scopes_keys_carry() -> None:
    from typing import get_args

    from veil.api import auth
    from veil.api.schemas import Scope
    from veil.store.vocabulary import SCOPES

    assert auth.KEY_SCOPES == set(SCOPES) == set(get_args(Scope)) == KEY_SCOPES
