"""Region signals through the service: a victim's intake sends a photo's region
signal beside its PDQ (never the photo); /v1/scan then finds edited copies (the
victims bank's action) and derived copies (review, ``derived_from_protected``, the
differing region handed to the review item); a withdrawal erases it; a malformed one
is refused with a reason and stores nothing."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from api_support import ATTEST
from fastapi.testclient import TestClient
from sqlalchemy import text

from derived_pictures import derived, edited, region_b64
from veil.api.services import Services
from veil.signals.batch import hash_bytes

Auth = Callable[[str], dict[str, str]]
FILE = {"Content-Type": "application/octet-stream"}


def scan(client: TestClient, auth: Auth, data: bytes) -> dict[str, Any]:
    r = client.post("/v1/scan", content=data, headers={**auth("platform"), **FILE})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def submit(client: TestClient, services: Services, photo: Path) -> dict[str, Any]:
    pdq = hash_bytes(photo.read_bytes(), services.settings.media, ("pdq",)).signals[0]
    r = client.post("/v1/cases", json={"signals": [
        {"signal": "pdq", "value": pdq.value, "quality": pdq.quality,
         "region": region_b64(photo)}], "attestation": ATTEST})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_a_victims_region_signal_finds_edited_and_derived_copies_until_withdrawn(
        client: TestClient, services: Services, auth: Auth, photos: list[Path]) -> None:
    photo = photos[0]
    case = submit(client, services, photo)
    assert services.store.region_count() == 1
    metrics = client.get("/metrics").text
    assert 'veil_index_entries{signal="region"} 1.0' in metrics
    assert "veil_region_signals_unreadable 0.0" in metrics
    # sealed at rest: the blob's descriptors are nowhere in the database's rows
    raw = base64.b64decode(region_b64(photo))
    with services.store.engine.connect() as conn:
        sealed = conn.execute(text("SELECT sealed FROM region_signals")).scalar_one()
    assert raw[9:9 + 64] not in bytes(sealed) and raw[-64:] not in bytes(sealed)

    # an edited copy: PDQ no longer matches it, the region signal does, and the
    # victims bank's action applies
    answer = scan(client, auth, edited(photo))
    assert answer["decision"] == "block", answer["reasons"]
    m = answer["matches"][0]
    assert (m["signal"], m["bank"], m["region"]["kind"]) == ("region", "victims", "copy")
    assert m["region"]["points"] >= 16 and m["distance"] <= m["threshold"]
    assert "value" not in m

    # a derived copy: review, with the reason and the differing region for the reviewer
    answer = scan(client, auth, derived(photo))
    assert answer["decision"] == "review"
    m = answer["matches"][0]
    assert m["region"]["kind"] == "derived" and m["region"]["differing"]
    assert any("derived_from_protected" in r for r in answer["reasons"])
    item = client.get(f"/v1/review/items/{answer['review_item']['id']}",
                      headers=auth("review")).json()
    region = item["region"]
    # the flattened box is the centre-bottom half of the picture
    assert region is not None and region["y"] > 0.1 and region["y"] + region["h"] > 0.9
    assert 0 < region["w"] <= 1 and 0 < region["h"] <= 1

    def on_disk(needle: bytes) -> list[str]:
        return [p.name for p in services.settings.home.rglob("*")
                if p.is_file() and needle in p.read_bytes()]

    sqlite = services.settings.database_url.startswith("sqlite")
    needle = bytes(sealed)[32:96]
    if sqlite:
        assert on_disk(needle)  # what the search below must no longer find
    # withdrawn: the signal is deleted (not only unmatched), and copies pass
    r = client.delete("/v1/cases/me", headers={"X-Case-Token": case["case_token"]})
    assert r.status_code == 200
    assert services.store.region_count() == 0
    with services.store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM region_signals")).scalar_one() == 0
    assert scan(client, auth, edited(photo))["decision"] == "allow"
    if sqlite:
        # nor are its sealed bytes left in the database file or its WAL
        assert not on_disk(needle), "the withdrawn region signal is still on disk"


@pytest.mark.parametrize(("signal", "region", "code"), [
    ("pdq", "not base64!", "region.malformed"),
    ("pdq", base64.b64encode(b"VR\x01" + b"\x00" * 40).decode(), "region.malformed"),
    ("pdq", base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64).decode(), "region.malformed"),
    ("md5", base64.b64encode(b"VR\x01").decode(), "intake.region"),
    ("pdq", "A" * 20_000, "input.invalid"),
])
def test_a_malformed_region_signal_is_refused_and_nothing_is_stored(
        client: TestClient, services: Services, signal: str, region: str, code: str) -> None:
    value = "f" * (64 if signal == "pdq" else 32)
    r = client.post("/v1/cases", json={"signals": [
        {"signal": signal, "value": value, "quality": 90, "region": region}],
        "attestation": ATTEST})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == code
    assert services.store.region_count() == 0
    assert services.store.list_banks() == []


def test_a_region_signal_too_small_to_match_is_not_kept(client: TestClient,
                                                       services: Services) -> None:
    import numpy as np

    from veil.regions import blob
    from veil.regions.features import Features

    empty = Features(np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8), (512, 384), 1)
    r = client.post("/v1/cases", json={"signals": [
        {"signal": "pdq", "value": "f" * 64, "quality": 90,
         "region": base64.b64encode(blob.encode(empty)).decode()}], "attestation": ATTEST})
    assert r.status_code == 201, r.text
    assert services.store.region_count() == 0
