"""/v1/scan carries what the upload declares about its origin, as observations and
reasons; VEIL_DECLARED_AI_ACTION=review routes a declared-AI upload to review."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from api_support import running
from fastapi.testclient import TestClient
from PIL import Image

from veil.config import load_settings

XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
    b'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/'
    b'trainedAlgorithmicMedia"/></rdf:RDF></x:xmpmeta>')


def _declared(photo: bytes) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(photo)).save(out, "JPEG", quality=90, xmp=XMP)
    return out.getvalue()


def test_scan_reports_observations(client: TestClient, auth: Callable[[str], dict[str, str]],
                                   photo: bytes) -> None:
    headers = {**auth("platform"), "content-type": "image/jpeg"}
    r = client.post("/v1/scan", headers=headers, content=_declared(photo))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["decision"] == "allow"  # reported only, by default
    assert {"source": "xmp", "kind": "digital_source_type",
            "value": "trainedAlgorithmicMedia", "declares_ai": True} in out["observations"]
    assert any("trainedAlgorithmicMedia" in reason for reason in out["reasons"])
    plain = client.post("/v1/scan", headers=headers, content=photo).json()
    assert not any(o["declares_ai"] for o in plain["observations"])


def test_declared_ai_action_review(api_env: None, monkeypatch: pytest.MonkeyPatch,
                                   photo: bytes) -> None:
    monkeypatch.setenv("VEIL_DECLARED_AI_ACTION", "review")
    with running() as (client, services):
        key = services.store.create_api_key(["platform"], name="p", actor="test")[1]
        headers = {"Authorization": f"Bearer {key}", "content-type": "image/jpeg"}
        r = client.post("/v1/scan", headers=headers, content=_declared(photo))
        assert r.json()["decision"] == "review"
        r = client.post("/v1/scan", headers=headers, content=photo)
        assert r.json()["decision"] == "allow"


def test_declared_ai_action_takes_only_none_or_review(monkeypatch: pytest.MonkeyPatch) -> None:
    from veil.errors import ConfigError

    monkeypatch.setenv("VEIL_DECLARED_AI_ACTION", "block")
    with pytest.raises(ConfigError):
        load_settings()
