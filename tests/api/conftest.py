"""Service fixtures: the app on the test's database (SQLite, or PostgreSQL with
VEIL_TEST_DATABASE_URL), API keys per scope, and helpers to make cases and banks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import ATTEST, PDQ, SCOPES
from fastapi.testclient import TestClient

from veil.api import create_app
from veil.api.services import Services
from veil.config import Settings, load_settings


@pytest.fixture
def api_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # generous intake limits: tests of the limit itself set their own
    monkeypatch.setenv("VEIL_API_INTAKE_RATE_PER_MIN", "100000")
    monkeypatch.setenv("VEIL_API_INTAKE_BURST", "100000")
    monkeypatch.setenv("VEIL_API_MATCH_COUNT_FLUSH_S", "3600")  # tests flush explicitly


@pytest.fixture
def settings(api_env: None, database_url: str) -> Settings:
    s = load_settings()
    assert s.database_url == database_url
    return s


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    svc = Services(settings)
    svc.start(background=False)
    yield svc
    svc.stop()


@pytest.fixture
def client(settings: Settings, services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(settings, services=services)) as c:
        yield c


@pytest.fixture
def keys(services: Services) -> dict[str, str]:
    """One key per scope, plus ``all`` with every scope."""
    out = {s: services.store.create_api_key([s], name=f"test-{s}", actor="test")[1]
           for s in SCOPES}
    out["all"] = services.store.create_api_key(SCOPES, name="test-all", actor="test")[1]
    return out


@pytest.fixture
def auth(keys: dict[str, str]) -> Callable[[str], dict[str, str]]:
    return lambda scope: {"Authorization": f"Bearer {keys[scope]}"}


@pytest.fixture
def make_case(client: TestClient) -> Callable[..., dict[str, Any]]:
    def make(*signals: dict[str, Any]) -> dict[str, Any]:
        r = client.post("/v1/cases", json={"signals": list(signals) or [
            {"signal": "pdq", "value": PDQ, "quality": 100}], "attestation": ATTEST})
        assert r.status_code == 201, r.text
        return r.json()

    return make


@pytest.fixture
def photo(photos: list[Path]) -> bytes:
    return photos[3].read_bytes()
