"""The HMA-compatible routes (docs/hma-compat.md): HMA's request and response shapes,
Veil's keys and scopes, and no more distance than /v1/match would show."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from api_support import PDQ, jpeg, near
from fastapi.testclient import TestClient

from veil.api.auth import SCOPE_EXT
from veil.api.routing import BODY_EXT
from veil.api.services import Services
from veil.signals.batch import hash_bytes

Auth = Callable[[str], dict[str, str]]
MD5 = "0cc175b9c0f1b6a831c399e269772661"


def _bank(client: TestClient, auth: Auth, name: str = "HMA_BANK") -> None:
    r = client.post("/c/banks", json={"name": name}, headers=auth("admin"))
    assert r.status_code == 201, r.text
    assert r.json() == {"name": name, "matching_enabled_ratio": 1.0}  # HMA's exact shape


def test_banks_as_hma_shows_them(client: TestClient, auth: Auth) -> None:
    admin = auth("admin")
    assert client.get("/c/banks", headers=admin).json() == []
    _bank(client, auth)
    assert client.get("/c/banks", headers=admin).json() == [
        {"name": "HMA_BANK", "matching_enabled_ratio": 1.0}]
    assert client.get("/c/bank/HMA_BANK", headers=admin).json() == {
        "name": "HMA_BANK", "matching_enabled_ratio": 1.0}
    r = client.get("/c/bank/NO_SUCH_BANK", headers=admin)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    # HMA's switch: enabled, or the ratio (only all or nothing: Veil never skips a match)
    r = client.put("/c/bank/HMA_BANK", json={"enabled": False}, headers=admin)
    assert r.json() == {"name": "HMA_BANK", "matching_enabled_ratio": 0.0}
    r = client.put("/c/bank/HMA_BANK", json={"enabled_ratio": 1.0}, headers=admin)
    assert r.json()["matching_enabled_ratio"] == 1.0
    for body in ({"enabled_ratio": 0.5}, {"name": "RENAMED"}, {"enabled_ratio": 2}):
        r = client.put("/c/bank/HMA_BANK", json=body, headers=admin)
        assert r.status_code == 422 and r.json()["error"]["code"] == "input.invalid", body
    assert client.put("/c/bank/NOPE", json={}, headers=admin).status_code == 404
    # a second bank of the same name; a disabled one made as HMA makes it
    assert client.post("/c/banks", json={"name": "HMA_BANK"}, headers=admin).status_code == 409
    r = client.post("/c/banks", json={"name": "OFF", "enabled": False}, headers=admin)
    assert r.json() == {"name": "OFF", "matching_enabled_ratio": 0.0}
    # the Veil side sees the same banks, audited under the key
    veil = client.get("/v1/admin/banks/OFF", headers=admin).json()
    assert veil["enabled"] is False and veil["category"] == "imported"
    # curation needs admin: a platform key reads no bank list
    for method, path in (("GET", "/c/banks"), ("GET", "/c/bank/HMA_BANK"),
                         ("POST", "/c/bank/HMA_BANK/signal")):
        r = client.request(method, path, json={"pdq": PDQ}, headers=auth("platform"))
        assert r.status_code == 403 and r.json()["error"]["code"] == "auth.scope"
        assert client.request(method, path, json={}).status_code == 401


def test_bank_hashes_and_look_them_up(client: TestClient, auth: Auth) -> None:
    admin, platform = auth("admin"), auth("platform")
    _bank(client, auth)
    _bank(client, auth, "OTHER")
    r = client.post("/c/bank/HMA_BANK/signal",
                    json={"pdq": PDQ.upper(), "video_md5": MD5, "note": "from a partner"},
                    headers=admin)
    assert r.status_code == 200, r.text
    added = r.json()
    assert added["signals"] == {"pdq": PDQ, "video_md5": MD5}  # normalised, HMA's names
    assert added["id"] == added["entry_ids"]["pdq"]
    assert client.get(f"/v1/admin/entries/{added['entry_ids']['video_md5']}",
                      headers=admin).json()["signal"] == "md5"
    other = client.post("/c/bank/OTHER/signal", json={"pdq": near(PDQ, 1)},
                        headers=admin).json()["id"]
    for bad, code in (({"pdq": PDQ[:-1]}, "signal.bad_hash"),
                      ({"tmk": "00"}, "signal.unknown"), ({}, "input.invalid"),
                      ({"note": "only a note"}, "input.invalid")):
        r = client.post("/c/bank/HMA_BANK/signal", json=bad, headers=admin)
        assert r.status_code == 422 and r.json()["error"]["code"] == code, bad
    r = client.post("/c/bank/NO_SUCH_BANK/signal", json={"pdq": PDQ}, headers=admin)
    assert r.status_code == 404
    r = client.post("/c/bank/HMA_BANK/signal", json={"pdq": PDQ}, headers=admin)
    assert r.status_code == 409  # already banked

    def lookup(path: str = "/m/lookup", **params: object) -> dict:
        r = client.get(path, params=params, headers=platform)
        assert r.status_code == 200, r.text
        assert r.headers["veil-request-id"]
        return r.json()  # type: ignore[no-any-return]

    query = near(PDQ, 3)
    assert lookup(signal_type="pdq", signal=query) == {
        "HMA_BANK": [{"bank_content_id": added["id"], "distance": "3"}],
        "OTHER": [{"bank_content_id": other, "distance": "2"}]}
    assert lookup(signal_type="pdq", signal=query, banks="OTHER,NOPE") == {
        "OTHER": [{"bank_content_id": other, "distance": "2"}]}
    assert lookup(signal_type="video_md5", signal=MD5) == {"HMA_BANK": [
        {"bank_content_id": added["entry_ids"]["video_md5"], "distance": "-"}]}
    assert lookup(signal_type="md5", signal=MD5)["HMA_BANK"]  # Veil's name works too
    assert lookup("/m/raw_lookup", signal_type="pdq", signal=query) == {
        "matches": [other, added["id"]]}  # closest first
    assert lookup("/m/raw_lookup", signal_type="pdq", signal=query, banks="HMA_BANK",
                  include_distance="true") == {
        "matches": [{"bank_content_id": added["id"], "distance": "3"}]}
    # thresholds: tighter is fine, wider than the cap is refused as on /v1/match
    assert lookup(signal_type="pdq", signal=query, threshold=2) == {
        "OTHER": [{"bank_content_id": other, "distance": "2"}]}
    assert lookup("/m/raw_lookup", signal_type="pdq", signal=query, threshold=1) == {
        "matches": []}
    for path in ("/m/lookup", "/m/raw_lookup"):
        r = client.get(path, params={"signal_type": "pdq", "signal": query,
                                     "threshold": 128}, headers=platform)
        assert r.status_code == 422 and r.json()["error"]["code"] == "input.bad_threshold"
    # beyond the configured threshold nothing is shown, distance or not
    assert lookup(signal_type="pdq", signal=near(PDQ, 40)) == {}
    # a disabled bank matches nothing, as on /v1/match
    client.put("/c/bank/OTHER", json={"enabled": False}, headers=admin)
    assert list(lookup(signal_type="pdq", signal=query)) == ["HMA_BANK"]
    # errors: HMA's cases, as Veil's JSON errors
    for params, status, code in (
            ({"signal_type": "pdq", "signal": "xyz"}, 422, "signal.bad_hash"),
            ({"signal_type": "tmk", "signal": "00"}, 422, "signal.unknown"),
            ({"signal": PDQ}, 422, "input.invalid"),
            ({"url": "http://127.0.0.1:1/x.jpg"}, 400, "hma.url_refused")):
        r = client.get("/m/lookup", params=params, headers=platform)
        assert r.status_code == status and r.json()["error"]["code"] == code, params
    # matching needs platform: an admin-only key cannot look up
    r = client.get("/m/lookup", params={"signal_type": "pdq", "signal": PDQ}, headers=admin)
    assert r.status_code == 403 and r.json()["error"]["code"] == "auth.scope"


def test_hash_an_upload_and_look_it_up(client: TestClient, auth: Auth,
                                       services: Services) -> None:
    platform = auth("platform")
    picture = jpeg(7)
    want = {s.type: s.value for s in hash_bytes(picture, services.settings.media,
                                                ("pdq", "md5")).signals}
    r = client.post("/h/hash", files={"photo": ("a.jpg", picture, "image/jpeg")},
                    headers=platform)
    assert r.status_code == 200, r.text
    hashes = r.json()
    assert hashes["pdq"] == want["pdq"] and re.fullmatch("[0-9a-f]{64}", hashes["pdq"])
    assert hashes["md5"] == want["md5"] == hashlib.md5(picture).hexdigest()
    # a raw body, only the types asked for; HMA names a video's MD5 video_md5
    r = client.post("/h/hash?types=pdq", content=picture,
                    headers={**platform, "content-type": "image/jpeg"})
    assert r.json() == {"pdq": want["pdq"]}
    r = client.post("/h/hash?types=video_md5",
                    files={"video": ("a.mp4", picture, "video/mp4")}, headers=platform)
    assert r.json() == {"video_md5": want["md5"]}
    # never a fetch
    r = client.get("/h/hash", params={"url": "http://127.0.0.1:1/a.jpg"}, headers=platform)
    assert r.status_code == 400 and r.json()["error"]["code"] == "hma.url_refused"
    r = client.post("/h/hash", files={"other": ("a.jpg", picture, "image/jpeg")},
                    headers=platform)
    assert r.status_code == 422 and r.json()["error"]["code"] == "upload.no_file"

    _bank(client, auth)
    banked = client.post("/c/bank/HMA_BANK/signal", json={"pdq": want["pdq"]},
                         headers=auth("admin")).json()["id"]
    r = client.post("/m/lookup", files={"photo": ("a.jpg", picture, "image/jpeg")},
                    headers=platform)
    assert r.status_code == 200, r.text
    assert r.json() == {"pdq": {"HMA_BANK": [{"bank_content_id": banked, "distance": "0"}]},
                        "md5": {}}
    r = client.post("/m/lookup?banks=OTHER", content=picture,
                    headers={**platform, "content-type": "image/jpeg"})
    assert r.json() == {"pdq": {}, "md5": {}}
    r = client.post("/m/lookup", content=picture,
                    headers={**auth("admin"), "content-type": "image/jpeg"})
    assert r.status_code == 403


def test_the_spec_declares_scopes_and_bodies(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path, method, scope in (("/c/banks", "get", "admin"), ("/c/banks", "post", "admin"),
                                ("/c/bank/{name}", "get", "admin"),
                                ("/c/bank/{name}", "put", "admin"),
                                ("/c/bank/{name}/signal", "post", "admin"),
                                ("/m/lookup", "get", "platform"),
                                ("/m/lookup", "post", "platform"),
                                ("/m/raw_lookup", "get", "platform"),
                                ("/h/hash", "get", "platform"),
                                ("/h/hash", "post", "platform")):
        assert paths[path][method][SCOPE_EXT] == scope, (path, method)
    assert paths["/h/hash"]["post"][BODY_EXT] == "media"
    assert paths["/m/lookup"]["post"][BODY_EXT] == "media"
    assert BODY_EXT not in paths["/c/bank/{name}/signal"]["post"]
