"""Platform: batch matching, scanning uploads (hashed, then dropped), idempotent retries."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from api_support import PDQ, jpeg, near, running
from fastapi.testclient import TestClient

from veil.api.services import Services
from veil.config import MediaLimits
from veil.media.source import Media
from veil.signals.pdq import compute_pdq


@pytest.fixture
def banked(services: Services, client: TestClient, auth: Callable[[str], dict[str, str]]
           ) -> dict[str, str]:
    """A bank ``known`` (confirmed_ncii) holding PDQ and an MD5, imported through the API."""
    r = client.post("/v1/admin/banks", headers=auth("admin"),
                    json={"name": "known", "category": "confirmed_ncii"})
    assert r.status_code == 201, r.text
    csv = f"signal,value,quality\npdq,{PDQ},100\nmd5,{'ab' * 16},\n"
    r = client.post("/v1/admin/banks/known/entries", content=csv,
                    headers={**auth("admin"), "content-type": "text/csv"})
    assert r.status_code == 200 and r.json()["imported"] == 2, r.text
    return auth("platform")


def test_match_batch(client: TestClient, banked: dict[str, str]) -> None:
    signals = [{"signal": "pdq", "value": near(PDQ, i)} for i in (0, 10, 31, 32)]
    signals.append({"signal": "md5", "value": "AB" * 16})
    r = client.post("/v1/match", headers=banked, json={"signals": signals})
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert [x["index"] for x in res] == [0, 1, 2, 3, 4]
    assert [x["decision"] for x in res] == ["block", "block", "block", "allow", "block"]
    assert [x["matches"][0]["distance"] for x in res if x["matches"]] == [0, 10, 31, 0]
    m = res[0]["matches"][0]
    assert set(m) == {"signal", "entry_id", "bank", "category", "distance", "threshold"}
    r = client.post("/v1/match", headers=banked, json={
        "signals": [{"signal": "pdq", "value": near(PDQ, 10)}], "thresholds": {"pdq": 5}})
    assert r.json()["results"][0]["matches"] == []


@pytest.mark.parametrize("body,status,code", [
    ({"signals": [{"signal": "pdq", "value": PDQ[:63]}]}, 422, "signal.bad_hash"),
    ({"signals": [{"signal": "pdq", "value": PDQ + "0"}]}, 422, "signal.bad_hash"),
    ({"signals": [{"signal": "pdq", "value": "g" * 64}]}, 422, "signal.bad_hash"),
    ({"signals": [{"signal": "vid", "value": "00"}]}, 422, "signal.unknown"),
    ({"signals": []}, 422, "input.invalid"),
    ({"signals": [{"signal": "pdq", "value": PDQ}], "thresholds": {"pdq": 999}}, 400,
     "input.bad_threshold"),
    ({"signals": [{"signal": "pdq", "value": "' OR 1=1; DROP TABLE entries; --"}]}, 422,
     "signal.bad_hash"),
    ({"signals": [{"signal": "pdq", "value": PDQ, "extra": 1}]}, 422, "input.invalid"),
    ({"signals": [{"signal": "pdq", "value": PDQ}] * 1001}, 422, "input.too_many"),
])
def test_bad_match_requests(client: TestClient, banked: dict[str, str], body: object,
                            status: int, code: str, services: Services) -> None:
    before = services.store.list_banks()
    r = client.post("/v1/match", headers=banked, json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert set(r.json()["error"]) == {"code", "message"}
    assert services.store.list_banks() == before


def test_wrong_content_types_and_malformed_json(client: TestClient,
                                                banked: dict[str, str]) -> None:
    for headers, content in [({"content-type": "text/plain"}, b"pdq ..."),
                             ({"content-type": "application/json"}, b'{"signals": [}'),
                             ({"content-type": "application/json"}, b"\xff\xfe")]:
        r = client.post("/v1/match", headers={**banked, **headers}, content=content)
        assert 400 <= r.status_code < 500, r.text
        assert set(r.json()["error"]) == {"code", "message"}
    assert client.get("/v1/nothing-here").json()["error"]["code"] == "not_found"
    r = client.put("/v1/match", headers=banked)
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


def test_a_million_item_batch_is_refused_before_parsing(client: TestClient,
                                                        banked: dict[str, str]) -> None:
    item = json.dumps({"signal": "pdq", "value": PDQ}).encode()
    body = b'{"signals": [' + b",".join([item] * 1_000_000) + b"]}"  # ~86 MB
    r = client.post("/v1/match", headers={**banked, "content-type": "application/json"},
                    content=body)
    assert r.status_code == 413 and r.json()["error"]["code"] == "request.too_large"

    def chunks():  # no Content-Length: the stream is cut at the cap
        yield b'{"signals": ['
        for _ in range(1000):
            yield b",".join([item] * 1000) + b","
    r = client.post("/v1/match", headers={**banked, "content-type": "application/json"},
                    content=chunks())
    assert r.status_code == 413


def _expected(data: bytes) -> tuple[str, str]:
    r = compute_pdq(Media.from_bytes(data, MediaLimits()))
    return r.hash, hashlib.md5(data).hexdigest()


def test_scan_raw_and_multipart(client: TestClient, banked: dict[str, str],
                                photo: bytes) -> None:
    pdq, md5 = _expected(photo)
    r = client.post("/v1/scan", headers={**banked, "content-type": "image/jpeg"},
                    content=photo)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["format"] == "jpeg" and out["decision"] == "allow"
    got = {s["signal"]: s["value"] for s in out["signals"]}
    assert got["pdq"] == pdq and got["md5"] == md5
    r = client.post("/v1/scan", headers=banked,
                    files={"file": ("x.jpg", io.BytesIO(photo), "image/jpeg")},
                    data={"note": "ignored"})
    assert r.status_code == 200 and r.json()["signals"] == out["signals"]


def test_scan_finds_a_banked_photo(client: TestClient, services: Services,
                                   auth: Callable[[str], dict[str, str]], photo: bytes) -> None:
    pdq, _ = _expected(photo)
    client.post("/v1/admin/banks", headers=auth("admin"),
                json={"name": "protected", "category": "protected_photo"})
    r = client.post("/v1/admin/banks/protected/entries",
                    headers={**auth("admin"), "content-type": "application/x-ndjson"},
                    content=json.dumps({"signal": "pdq", "value": near(pdq, 3),
                                        "quality": 90}) + "\n")
    assert r.json()["imported"] == 1
    r = client.post("/v1/scan", headers={**auth("platform"),
                                         "content-type": "application/octet-stream"},
                    content=photo)
    out = r.json()
    assert out["decision"] == "review"  # protected photos go to a person
    assert out["matches"][0]["bank"] == "protected" and out["matches"][0]["distance"] == 3
    assert "review" in out["reasons"][0]


def test_bad_uploads(client: TestClient, banked: dict[str, str], photo: bytes) -> None:
    cases = [
        ({"content-type": "text/plain"}, photo, 415, "request.unsupported_media_type"),
        ({"content-type": "image/jpeg"}, b"", 400, "media.empty"),
        ({"content-type": "image/jpeg"}, photo[: len(photo) // 2], 400, "media.truncated"),
        ({"content-type": "image/png"}, b"not a picture at all", 415, "media.unsupported"),
        ({"content-type": "multipart/form-data; boundary=xyz"},
         b"--xyz\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc", 400,
         "upload.malformed"),
        ({"content-type": "multipart/form-data"}, b"--xyz\r\n", 400, "upload.malformed"),
        ({"content-type": "multipart/form-data; boundary=xyz"},
         b"--xyz\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nabc\r\n--xyz--\r\n",
         422, "upload.no_file"),
    ]
    for headers, body, status, code in cases:
        r = client.post("/v1/scan", headers={**banked, **headers}, content=body)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), (code, r.text)


def test_scan_size_limit(database_url: str, monkeypatch: pytest.MonkeyPatch,
                         photo: bytes) -> None:
    monkeypatch.setenv("VEIL_MAX_BYTES", str(len(photo) - 1))
    with running() as (client, services):
        key = services.store.create_api_key(["platform"], actor="t")[1]
        headers = {"Authorization": f"Bearer {key}"}
        r = client.post("/v1/scan", headers={**headers, "content-type": "image/jpeg"},
                        content=photo)
        assert r.status_code == 413 and r.json()["error"]["code"] == "media.too_large"
        r = client.post("/v1/scan", headers=headers,
                        files={"file": ("x.jpg", io.BytesIO(photo), "image/jpeg")})
        assert r.status_code == 413 and r.json()["error"]["code"] == "media.too_large"
        r = client.post("/v1/scan", headers={**headers, "content-type": "image/jpeg"},
                        content=iter([photo[:1000], photo[1000:]]))  # no Content-Length
        assert r.status_code == 413


def test_uploads_are_never_stored(client: TestClient, services: Services,
                                  banked: dict[str, str], veil_home: Path) -> None:
    # a generated picture with a marker nobody else has
    data = jpeg(seed=4242, size=(640, 480))
    pdq, md5 = _expected(data)
    for _ in range(2):
        r = client.post("/v1/scan", headers={**banked, "content-type": "image/jpeg"},
                        content=data)
        assert r.status_code == 200
        r = client.post("/v1/scan", headers=banked,
                        files={"file": ("secret.jpg", io.BytesIO(data), "image/jpeg")})
        assert r.status_code == 200
    services.counter.flush()
    needles = [data[i:i + 64] for i in range(200, len(data) - 64, len(data) // 7)]
    needles += [md5.encode(), pdq.encode(), b"secret.jpg"]
    files = [p for p in veil_home.rglob("*") if p.is_file()]
    assert files or not services.settings.database_url.startswith("sqlite")
    for p in files:
        blob = p.read_bytes()
        for needle in needles:
            assert needle not in blob, f"upload content found in {p}"
    # and in the database itself, whichever it is: every text column of every table
    from sqlalchemy import MetaData, select

    meta = MetaData()
    with services.store.engine.connect() as conn:
        meta.reflect(conn)
        dump = repr([list(conn.execute(select(t))) for t in meta.sorted_tables])
    assert md5 not in dump and pdq not in dump and "secret.jpg" not in dump
    import tempfile

    tmp = Path(tempfile.gettempdir())
    assert not [p for p in tmp.glob("*") if p.is_file() and p.stat().st_size == len(data)
                and p.read_bytes() == data]


def test_idempotent_retries(client: TestClient, banked: dict[str, str], photo: bytes,
                            services: Services) -> None:
    body = {"signals": [{"signal": "pdq", "value": PDQ}]}
    h = {**banked, "Idempotency-Key": "3f1c2a9e-retry-1"}
    first = client.post("/v1/match", headers=h, json=body)
    again = client.post("/v1/match", headers=h, json=body)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    other = client.post("/v1/match", headers=h, json={"signals": [{"signal": "md5",
                                                                  "value": "0" * 32}]})
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency.mismatch"
    # a different key holder reusing the same key is a different request
    r = client.post("/v1/match", json=body, headers={
        "Authorization": client.headers.get("authorization", "Bearer x"),
        "Idempotency-Key": "3f1c2a9e-retry-1"})
    assert r.status_code == 401
    assert client.post("/v1/match", json=body, headers={
        **banked, "Idempotency-Key": "\x7f" * 3}).json()["error"]["code"] == "idempotency.bad_key"
    # a case created twice under one key is one case, with one token
    from api_support import ATTEST

    case = {"signals": [{"signal": "md5", "value": "1" * 32}], "attestation": ATTEST}
    a = client.post("/v1/cases", json=case, headers={"Idempotency-Key": "case-1"})
    b = client.post("/v1/cases", json=case, headers={"Idempotency-Key": "case-1"})
    assert a.status_code == b.status_code == 201 and a.json() == b.json()
    assert len(services.store.audit(action="case.create")) == 1
    # scans replay too (from memory: nothing is written)
    sh = {**banked, "content-type": "image/jpeg", "Idempotency-Key": "scan-1"}
    s1 = client.post("/v1/scan", headers=sh, content=photo)
    s2 = client.post("/v1/scan", headers=sh, content=photo)
    assert s1.json() == s2.json() and s2.headers["idempotent-replayed"] == "true"
    s3 = client.post("/v1/scan", headers=sh, content=jpeg(3))
    assert s3.status_code == 422
