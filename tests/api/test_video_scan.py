"""``/v1/scan`` with videos: streamed to a temporary file that is always deleted,
capped at its own size, matched under the vPDQ rule."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from api_support import running
from fastapi.testclient import TestClient

from veil.api.services import Services
from veil.config import load_settings
from veil.signals.batch import hash_file

_VIDEOS: list[Path] = []


@pytest.fixture(autouse=True)
def _videos(shared_data: Path) -> None:
    _VIDEOS[:] = [shared_data / "video-reference" / "videos"]


def _video(name: str) -> Path:
    path = _VIDEOS[0] / f"{name}.mp4"
    if not path.is_file():
        pytest.fail(f"missing reference video {path}")
    return path


def _spooled(services: Services) -> list[Path]:
    d = services.settings.home / "tmp"
    return sorted(d.iterdir()) if d.is_dir() else []


@pytest.fixture
def video_bank(services: Services) -> int:
    """Bank ``clips`` (confirmed_ncii) holding chair-19 sampled at every frame."""
    settings = services.settings
    services.store.create_bank("clips", "confirmed_ncii", {}, actor="test")
    limits = settings.media.model_copy(update={"video": settings.media.video.model_copy(
        update={"seconds_per_hash": 0})})
    fs = hash_file(_video("chair-19-sd-bar"), limits, ("md5",))
    assert fs.video is not None, fs.error_message
    rec = services.store.add_video("clips", fs.video.frames, actor="test", md5=fs.video.md5,
                                   duration=fs.video.duration, prune_distance=2)
    services.live.after_commit()
    return rec.id


def test_a_recut_video_matches_with_its_time_ranges(
        client: TestClient, services: Services, video_bank: int,
        auth: Callable[[str], dict[str, str]]) -> None:
    data = _video("chair-20-sd-bar").read_bytes()
    r = client.post("/v1/scan", content=data,
                    headers={**auth("platform"), "content-type": "video/mp4"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["format"] == "mp4" and body["video"]["frames_hashed"] >= 20
    assert body["decision"] == "block"
    (m,) = [m for m in body["matches"] if m["signal"] == "vpdq"]
    assert m["video"]["video_id"] == video_bank
    assert m["video"]["query_percent"] >= 80
    assert m["video"]["query_ranges"] and m["video"]["banked_ranges"]
    assert "value" not in m  # platforms never see banked hashes
    assert _spooled(services) == []
    # multipart too, and an unrelated video is clean
    r = client.post("/v1/scan", headers=auth("platform"),
                    files={"file": ("x.mp4", _video("doorknob-hd-no-bar").read_bytes())})
    assert r.status_code == 200 and r.json()["decision"] == "allow", r.text
    assert _spooled(services) == []


def test_bad_and_oversized_videos_leave_nothing_behind(
        services: Services, auth: Callable[[str], dict[str, str]], client: TestClient,
        monkeypatch: pytest.MonkeyPatch) -> None:
    data = _video("chair-19-sd-bar").read_bytes()
    headers = {**auth("platform"), "content-type": "application/octet-stream"}
    # truncated: the moov atom of these files is at the end, so it cannot be read
    r = client.post("/v1/scan", content=data[: len(data) // 2], headers=headers)
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["error"]["code"].startswith("media."), r.text
    assert _spooled(services) == []
    # garbage after an MP4 header
    r = client.post("/v1/scan", content=data[:64] + b"\0" * 5000, headers=headers)
    assert 400 <= r.status_code < 500 and r.json()["error"]["code"].startswith("media.")
    assert _spooled(services) == []
    # over the video cap: refused while streaming, the partial file deleted
    monkeypatch.setenv("VEIL_VIDEO_MAX_BYTES", str(len(data) // 4))
    with running(load_settings()) as (small, svc):
        r = small.post("/v1/scan", content=data, headers=headers)
        assert r.status_code == 413, r.text
        assert r.json()["error"]["code"] == "media.too_large"
        assert _spooled(svc) == []


def test_a_picture_keeps_its_own_cap(auth: Callable[[str], dict[str, str]],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The body cap grows to the video cap, but a picture is refused at the picture cap."""
    from api_support import jpeg

    picture = jpeg(1, (640, 480))
    monkeypatch.setenv("VEIL_MAX_BYTES", str(len(picture) - 1))
    with running(load_settings()) as (client, svc):
        key = svc.store.create_api_key(["platform"], name="p", actor="test")[1]
        r = client.post("/v1/scan", content=picture,
                        headers={"Authorization": f"Bearer {key}",
                                 "content-type": "image/jpeg"})
        assert r.status_code == 413 and r.json()["error"]["code"] == "media.too_large"
        assert _spooled(svc) == []


def test_uploads_left_by_a_crash_are_cleared_at_start(tmp_path: Path) -> None:
    import os
    import time

    from veil.media.spool import SPOOL_PREFIX, clear_spool, spool_dir

    d = spool_dir(tmp_path)
    old, new, other = d / f"{SPOOL_PREFIX}old", d / f"{SPOOL_PREFIX}new", d / "keep"
    for p in (old, new, other):
        p.write_bytes(b"x")
    past = time.time() - 7200
    os.utime(old, (past, past))
    assert clear_spool(tmp_path, older_than_s=3600) == 1
    assert not old.exists() and new.exists() and other.exists()
    assert oct(d.stat().st_mode & 0o777) == "0o700"


def test_a_video_showing_a_banked_picture_matches_it(
        client: TestClient, services: Services, auth: Callable[[str], dict[str, str]],
        photos: list[Path], tmp_path: Path) -> None:
    """A slideshow of a banked photo: one frame within PDQ's threshold is a match,
    and the reply says when in the video the picture is shown."""
    import av
    import numpy as np
    from PIL import Image

    from veil.media.source import Media
    from veil.signals.pdq import compute_pdq

    banked = photos[3]
    r = compute_pdq(Media.from_path(banked, services.settings.media))
    services.store.create_bank("pics", "confirmed_ncii", {}, actor="test")
    services.store.add_entry("pics", "pdq", r.hash, quality=r.quality, actor="test")
    services.live.after_commit()
    path = tmp_path / "slideshow.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 480, 320, "yuv420p"
        for i, photo in enumerate([photos[1], banked, photos[2]]):
            still = np.asarray(Image.open(photo).convert("RGB").resize((480, 320)))
            for _ in range(30):  # 3 s each
                for packet in stream.encode(av.VideoFrame.from_ndarray(still, format="rgb24")):
                    out.mux(packet)
            del i
        for packet in stream.encode():
            out.mux(packet)
    res = client.post("/v1/scan", content=path.read_bytes(),
                      headers={**auth("platform"), "content-type": "video/mp4"})
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["decision"] == "block"
    (m,) = body["matches"]
    assert m["signal"] == "pdq" and m["bank"] == "pics"
    start, end = m["video"]["query_ranges"][0]
    assert start >= 3.0 and end < 6.0
    assert "a banked picture shown in the video at 3-5 s" in body["reasons"][0]


def test_admins_import_export_and_withdraw_videos_as_vpdq_text(
        client: TestClient, services: Services, auth: Callable[[str], dict[str, str]],
        shared_data: Path) -> None:
    ref = shared_data / "video-reference"
    a = {**auth("admin"), "content-type": "text/plain"}
    client.post("/v1/admin/banks", headers=auth("admin"),
                json={"name": "vids", "category": "confirmed_ncii"})
    text = (ref / "vpdq-hashes" / "pattern-hd-no-bar.txt").read_text()
    r = client.post("/v1/admin/banks/vids/videos?label=pattern", content=text, headers=a)
    assert r.status_code == 201, r.text
    video = r.json()
    assert video["frames"] > 100 and video["label"] == "pattern" and video["md5"] is None
    # a re-cut copy now matches, with where
    r = client.post("/v1/scan", content=_video("pattern-longer-no-bar").read_bytes(),
                    headers={**auth("platform"), "content-type": "video/mp4"})
    assert r.json()["decision"] == "block", r.text
    listed = client.get("/v1/admin/banks/vids/videos", headers=auth("admin")).json()
    assert [v["video_id"] for v in listed["videos"]] == [video["video_id"]]
    out = client.get(f"/v1/admin/videos/{video['video_id']}/vpdq", headers=auth("admin"))
    assert out.status_code == 200
    lines = out.text.splitlines()
    assert len(lines) == video["frames"] and lines[0].count(",") == 3
    # bad text names the line; platforms cannot reach these routes
    bad = client.post("/v1/admin/banks/vids/videos", content="0,100,zz,0.0\n", headers=a)
    assert bad.status_code == 400 and "line 1" in bad.json()["error"]["message"]
    assert client.get("/v1/admin/banks/vids/videos",
                      headers=auth("platform")).status_code == 403
    r = client.post(f"/v1/admin/videos/{video['video_id']}/withdraw", headers=auth("admin"),
                    json={"reason": "test"})
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    r = client.post("/v1/scan", content=_video("pattern-longer-no-bar").read_bytes(),
                    headers={**auth("platform"), "content-type": "video/mp4"})
    assert r.json()["decision"] == "allow", r.text
    assert client.get(f"/v1/admin/videos/{video['video_id']}/vpdq",
                      headers=auth("admin")).status_code == 404


def test_a_video_under_review_is_kept_as_one_sealed_still(
        client: TestClient, services: Services, video_bank: int,
        auth: Callable[[str], dict[str, str]]) -> None:
    """A reviewer gets one still of a video (the frame where its match begins), sealed
    like any item's media; the video itself is not kept, and its spool file is gone."""
    import io

    from PIL import Image

    data = _video("chair-20-sd-bar").read_bytes()
    r = client.post("/v1/scan?review=1", content=data,
                    headers={**auth("platform"), "content-type": "video/mp4"})
    assert r.status_code == 200, r.text
    item = r.json()["review_item"]
    sealed = services.store.sealed_review_media(item["id"], actor="test")
    assert sealed is not None
    still = services.media_sealer.open(item["id"], sealed)
    picture = Image.open(io.BytesIO(still))
    assert picture.format == "JPEG" and picture.size == (480, 720)
    assert data[:4096] not in sealed and data[:4096] not in still
    assert _spooled(services) == []
