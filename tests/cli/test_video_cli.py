"""Videos end to end through the CLI (issue 17, points 1-3): ``veil protect`` banks a
sample video, ``veil scan`` finds a re-cut copy with its time ranges and passes an
unrelated video, ``veil video export``/``import`` speak the reference's text format,
``veil video withdraw`` stops the matching and erases the frame hashes, and
``veil hash --json`` lists a video's frames."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner, Result

from veil.cli import app
from veil.config import load_settings
from veil.signals.vpdq import parse_vpdq
from veil.store import open_store

runner = CliRunner()
LINE = re.compile(r"^\d+,\d{1,3},[0-9a-f]{64},\d+\.\d{3}$")


@pytest.fixture
def samples(shared_data: Path) -> Path:
    path = shared_data / "video-reference"
    assert (path / "videos" / "chair-19-sd-bar.mp4").is_file(), f"no sample videos in {path}"
    return path


def _video(samples: Path, name: str) -> str:
    return str(samples / "videos" / f"{name}.mp4")


def _rows(res: Result) -> list[dict[str, object]]:
    return [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]


def _scan(*paths: str) -> tuple[int, list[dict[str, object]]]:
    res = runner.invoke(app, ["scan", "--json", "--workers", "1", *paths])
    assert res.exit_code in (0, 1), res.output
    return res.exit_code, _rows(res)


def _vpdq_matches(row: dict[str, object]) -> list[dict[str, object]]:
    matches = row["matches"]
    assert isinstance(matches, list)
    return [m for m in matches if m["signal"] == "vpdq"]


def _vpdq_values(database_url: str) -> list[tuple[str | None, str]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [(v, s) for v, s in conn.execute(text(
                "SELECT value, status FROM entries WHERE signal = 'vpdq' ORDER BY id"))]
    finally:
        engine.dispose()


def test_protect_then_scan_a_recut_copy(database_url: str, samples: Path) -> None:
    res = runner.invoke(app, ["protect", "--bank", "mine", "--json", "--workers", "1",
                              _video(samples, "chair-19-sd-bar")])
    assert res.exit_code == 0, res.output
    assert "created bank" in res.stderr
    (row,) = _rows(res)
    added = row["added"]
    assert isinstance(added, list) and len(added) == 1
    video_id, frames = added[0]["video_id"], added[0]["frames"]
    assert isinstance(frames, int) and 50 < frames <= 564
    with open_store(load_settings()) as store:
        assert store.get_bank("mine").category == "protected_photo"
        (v,) = store.list_videos("mine")
        assert (v.id, v.frames, v.label) == (video_id, frames, "chair-19-sd-bar.mp4")
        assert v.md5 is not None and v.duration == pytest.approx(564 / 30, abs=0.05)
        assert store.bank_signals("mine") == ["md5", "vpdq"]

    # chair-20 is another cut of the same footage: a vPDQ match, with where
    code, rows = _scan(_video(samples, "chair-20-sd-bar"),
                       _video(samples, "pattern-sd-grey-bar"))
    assert code == 1
    recut, unrelated = rows
    assert recut["decision"] != "allow"
    (m,) = _vpdq_matches(recut)
    assert m["bank"] == "mine" and m["category"] == "protected_photo"
    assert isinstance(m["distance"], int) and m["distance"] <= 31
    video = m["video"]
    assert isinstance(video, dict) and video["video_id"] == video_id
    assert video["query_percent"] >= 80
    assert video["frames_matched"] <= video["query_frames"] <= 21
    for key in ("query_ranges", "banked_ranges"):
        ranges = video[key]
        assert isinstance(ranges, list) and ranges, key
        assert all(0 <= a <= b <= 21 for a, b in ranges), ranges
    # chair-20 holds chair-19's footage about 1.7 s later: one range on each side,
    # most of the clip long, shifted by the same offset at both ends
    ((qa, qb),), ((ba, bb),) = video["query_ranges"], video["banked_ranges"]
    assert qb - qa >= 15 and bb - ba >= 15
    assert (qa - ba) == pytest.approx(qb - bb, abs=0.5)
    assert 1.0 <= qa - ba <= 2.5
    assert max(b for _, b in video["banked_ranges"]) <= 564 / 30 + 0.05
    assert recut["video"]["frames_hashed"] == 21  # one a second
    # an unrelated video is clean
    assert unrelated["decision"] == "allow" and unrelated["matches"] == []
    code, (same,) = _scan(_video(samples, "chair-19-sd-bar"))
    assert code == 1
    assert {m["signal"] for m in same["matches"]} == {"md5", "vpdq"}  # type: ignore[union-attr,index]


def test_scan_of_a_folder_finds_videos(database_url: str, samples: Path,
                                       tmp_path: Path) -> None:
    with open_store(load_settings()) as store:
        store.create_bank("mine", "protected_photo", actor="test")
    folder = tmp_path / "uploads"
    folder.mkdir()
    for name in ("doorknob-hd-no-bar", "test-padded-dimensions"):
        shutil.copy(_video(samples, name), folder)
    (folder / "notes.txt").write_text("not media")
    res = runner.invoke(app, ["scan", "--json", "--workers", "1", str(folder)])
    assert res.exit_code == 0, res.output
    rows = _rows(res)
    scanned = sorted(Path(str(r["file"])).name for r in rows if "decision" in r)
    assert scanned == ["doorknob-hd-no-bar.mp4", "test-padded-dimensions.mp4"]
    assert [Path(str(r["file"])).name for r in rows if "skipped" in r] == ["notes.txt"]


def test_export_writes_reference_lines_that_parse_back(database_url: str, samples: Path,
                                                       tmp_path: Path) -> None:
    res = runner.invoke(app, ["protect", "--bank", "mine", "--workers", "1",
                              _video(samples, "test-padded-dimensions")])
    assert res.exit_code == 0, res.output
    out = tmp_path / "export"
    res = runner.invoke(app, ["video", "export", "mine", "--out", str(out)])
    assert res.exit_code == 0, res.output
    with open_store(load_settings()) as store:
        (v,) = store.list_videos("mine")
        banked = store.video_frames(v.id)
    exported = out / f"{v.id}.txt"
    lines = exported.read_text().splitlines()
    assert lines and all(LINE.match(line) for line in lines), lines[:3]
    back = parse_vpdq(lines, max_frames=10_000)
    assert back == banked
    assert len({f.hash for f in back}) == v.frames
    assert [f.number for f in back] == sorted(f.number for f in back)
    # and what was exported imports into another bank as the same video
    with open_store(load_settings()) as store:
        store.create_bank("copy", "protected_photo", actor="test")
    res = runner.invoke(app, ["video", "import", "copy", str(exported)])
    assert res.exit_code == 0, res.output
    with open_store(load_settings()) as store:
        (c,) = store.list_videos("copy")
        assert store.video_frames(c.id) == banked


def test_import_reference_hashes_then_withdraw(database_url: str, samples: Path) -> None:
    with open_store(load_settings()) as store:
        store.create_bank("ref", "confirmed_ncii", actor="test")
    name = "pattern-sd-grey-bar"
    res = runner.invoke(app, ["video", "import", "ref",
                              str(samples / "vpdq-hashes" / f"{name}.txt")])
    assert res.exit_code == 0, res.output
    assert re.search(r"video \d+, \d+ frames", " ".join(res.stdout.split()))
    res = runner.invoke(app, ["video", "list", "--json"])
    (listed,) = _rows(res)
    assert listed["bank"] == "ref" and listed["label"] == name and listed["md5"] is None
    video_id = listed["video_id"]

    # the video itself, and its logo'd copy, match the reference's hashes
    code, rows = _scan(_video(samples, name), _video(samples, "pattern-sd-with-small-logo-bar"),
                       _video(samples, "pattern-hd-no-bar"))
    assert code == 1
    for row in rows[:2]:
        (m,) = _vpdq_matches(row)
        assert m["video"]["video_id"] == video_id  # type: ignore[index]
        assert m["video"]["query_percent"] >= 80  # type: ignore[index]
        assert row["decision"] == "block"
    assert rows[2]["decision"] == "allow"

    before = _vpdq_values(database_url)
    assert before and all(v is not None and s == "active" for v, s in before)
    res = runner.invoke(app, ["video", "withdraw", str(video_id), "--reason", "test"])
    assert res.exit_code == 0, res.output
    # the frame hashes are gone from the database, not only marked
    after = _vpdq_values(database_url)
    assert len(after) == len(before)
    assert all(v is None and s == "withdrawn" for v, s in after), after[:3]
    code, rows = _scan(_video(samples, name))
    assert code == 0 and rows[0]["decision"] == "allow" and rows[0]["matches"] == []
    assert _rows(runner.invoke(app, ["video", "list", "--json"])) == []
    # withdrawing twice is a conflict, an unknown id not found: both exit 2
    assert runner.invoke(app, ["video", "withdraw", str(video_id)]).exit_code == 2
    assert runner.invoke(app, ["video", "withdraw", "9999"]).exit_code == 2


def test_import_refuses_a_bad_file_naming_the_line(database_url: str, samples: Path,
                                                   tmp_path: Path) -> None:
    with open_store(load_settings()) as store:
        store.create_bank("ref", "confirmed_ncii", actor="test")
    lines = (samples / "vpdq-hashes" / "doorknob-hd-no-bar.txt").read_text().splitlines()
    lines[6] = lines[6].replace(",", ";", 1)
    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join(lines))
    good = samples / "vpdq-hashes" / "test-padded-dimensions.txt"
    res = runner.invoke(app, ["video", "import", "ref", str(bad), str(good)])
    assert res.exit_code == 2
    assert "bad.txt" in res.stderr and "line 7" in res.stderr
    with open_store(load_settings()) as store:
        assert [v.label for v in store.list_videos("ref")] == ["test-padded-dimensions"]


def test_hash_json_lists_frames(veil_home: Path, samples: Path) -> None:
    res = runner.invoke(app, ["hash", "--json", "--workers", "1",
                              _video(samples, "doorknob-hd-no-bar")])
    assert res.exit_code == 0, res.output
    (row,) = _rows(res)
    assert row["format"] == "mp4" and (row["width"], row["height"]) == (1280, 720)
    # a video's signals are its digests; the picture signals do not apply
    names = {s["signal"] for s in row["signals"]}  # type: ignore[union-attr]
    assert "md5" in names and not names & {"pdq", "phash", "dhash"}
    video = row["video"]
    assert isinstance(video, dict)
    frames = video["frames"]
    assert [f["frame"] for f in frames] == [0, 30, 60, 90]
    assert [f["timestamp"] for f in frames] == [0.0, 1.0, 2.0, 3.0]
    assert all(re.fullmatch(r"[0-9a-f]{64}", f["hash"]) and 0 <= f["quality"] <= 100
               for f in frames)
    assert video["frames_hashed"] == 4 and video["frames_decoded"] == 120
    assert video["frame_rate"] == pytest.approx(30, abs=0.01)
    assert video["duration"] == pytest.approx(4.0)
    # the table says how many, and where the frames are
    res = runner.invoke(app, ["hash", "--workers", "1", _video(samples, "doorknob-hd-no-bar")],
                        env={"COLUMNS": "300"})
    assert res.exit_code == 0
    assert "4 frames hashed" in res.stdout
