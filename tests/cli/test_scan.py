"""``veil scan`` end to end: exit codes, JSON lines, hostile files, link loops, dihedral."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from veil.cli import app
from veil.config import MediaLimits, load_settings
from veil.media.source import Media
from veil.signals.pdq import compute_pdq
from veil.store import open_store

runner = CliRunner()


def _copy(src: Path, dst: Path, *, scale: float = 1.0, rotate: int = 0, quality: int = 80) -> Path:
    img = Image.open(src).convert("RGB")
    if scale != 1.0:
        img = img.resize((round(img.width * scale), round(img.height * scale)))
    if rotate:
        img = img.rotate(rotate, expand=True)
    img.save(dst, quality=quality)
    return dst


@pytest.fixture
def scene(veil_home: Path, tmp_path: Path, photos: list[Path]) -> Path:
    """A folder of 8 photos; a bank holding the PDQ of a re-encoded copy of photo 0."""
    folder = tmp_path / "uploads"
    (folder / "nested").mkdir(parents=True)
    for i, p in enumerate(photos[:8]):
        _copy(p, folder / ("nested" if i % 2 else ".") / f"p{i}.jpg", quality=90)
    banked = _copy(photos[0], tmp_path / "banked.jpg", scale=0.8, quality=60)
    r = compute_pdq(Media.from_path(banked, MediaLimits()))
    with open_store(load_settings()) as store:
        store.create_bank("ncii", "confirmed_ncii", actor="test")
        store.add_entry("ncii", "pdq", r.hash, quality=r.quality, actor="test")
    return folder


def _json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_scan_finds_the_banked_photo_and_exits_one(scene: Path) -> None:
    res = runner.invoke(app, ["scan", str(scene), "--json", "--workers", "2"])
    assert res.exit_code == 1, res.output
    rows = _json_lines(res.stdout)
    assert len(rows) == 8
    blocked = [r for r in rows if r["decision"] == "block"]
    assert [Path(r["file"]).name for r in blocked] == ["p0.jpg"]
    m = blocked[0]["matches"][0]
    assert m["bank"] == "ncii" and m["signal"] == "pdq" and m["distance"] <= 31
    assert "confirmed_ncii" in blocked[0]["reasons"][0]


def test_scan_table_output(scene: Path) -> None:
    res = runner.invoke(app, ["scan", str(scene)], env={"COLUMNS": "300"})
    assert res.exit_code == 1
    assert "block" in res.stdout and "p0.jpg" in res.stdout
    assert "8 files: 1 block" in res.stdout


def test_clean_folder_exits_zero(scene: Path, tmp_path: Path, photos: list[Path]) -> None:
    clean = tmp_path / "clean"
    clean.mkdir()
    for p in photos[10:13]:
        _copy(p, clean / p.name)
    res = runner.invoke(app, ["scan", str(clean), "--workers", "1"])
    assert res.exit_code == 0, res.output


def test_threshold_option(scene: Path) -> None:
    res = runner.invoke(app, ["scan", str(scene / "p0.jpg"), "--threshold", "0", "--json"])
    assert res.exit_code in (0, 1)
    assert runner.invoke(app, ["scan", str(scene), "--threshold", "300"]).exit_code == 2
    assert runner.invoke(app, ["scan", str(scene), "--threshold", "-1"]).exit_code == 2


def test_bad_files_are_reported_and_the_scan_continues(scene: Path) -> None:
    (scene / "empty.jpg").write_bytes(b"")
    (scene / "random.png").write_bytes(os.urandom(4000))
    good = (scene / "p2.jpg").read_bytes()
    (scene / "truncated.jpg").write_bytes(good[: len(good) // 2])
    res = runner.invoke(app, ["scan", str(scene), "--json", "--workers", "2"])
    assert res.exit_code == 2  # errors outrank matches
    rows = _json_lines(res.stdout)
    errors = {Path(r["file"]).name: r["error"]["code"] for r in rows if "error" in r}
    assert errors == {"empty.jpg": "media.empty", "random.png": "media.unsupported",
                      "truncated.jpg": "media.truncated"}
    assert sum(1 for r in rows if r.get("decision")) == 8


def test_symlink_loop_does_not_hang(scene: Path) -> None:
    os.symlink(scene, scene / "nested" / "loop")
    res = runner.invoke(app, ["scan", str(scene), "--json"])
    rows = _json_lines(res.stdout)
    assert sum(1 for r in rows if r.get("decision")) == 8
    assert any("loop" in r.get("skipped", "") for r in rows)


def test_rotated_copy_matches_only_with_dihedral(scene: Path, tmp_path: Path,
                                                photos: list[Path]) -> None:
    rotated = _copy(photos[0], tmp_path / "rotated.jpg", rotate=90, quality=90)
    plain = _json_lines(runner.invoke(app, ["scan", str(rotated), "--json"]).stdout)[0]
    assert plain["decision"] == "allow"
    res = runner.invoke(app, ["scan", str(rotated), "--json", "--dihedral"])
    assert res.exit_code == 1
    row = _json_lines(res.stdout)[0]
    # PIL's rotate(90) turns counter-clockwise: the reason names what the upload is
    assert row["decision"] == "block" and row["matches"][0]["variant"] == "rotated_90_ccw"
    assert "rotated 90° counter-clockwise" in row["reasons"][0]


def test_low_quality_query_is_not_matched(veil_home: Path, tmp_path: Path) -> None:
    flat = tmp_path / "flat.png"
    Image.new("RGB", (200, 200), (120, 120, 120)).save(flat)
    r = compute_pdq(Media.from_path(flat, MediaLimits()))
    with open_store(load_settings()) as store:
        store.create_bank("b", "confirmed_ncii", actor="t")
        store.add_entry("b", "pdq", r.hash, quality=100, actor="t")
    row = _json_lines(runner.invoke(app, ["scan", str(flat), "--json"]).stdout)[0]
    assert row["decision"] == "allow"
    assert any("too flat" in reason for reason in row["reasons"])


def test_md5_entry_matches_identical_bytes(veil_home: Path, tmp_path: Path,
                                          photos: list[Path]) -> None:
    import hashlib

    data = photos[5].read_bytes()
    with open_store(load_settings()) as store:
        store.create_bank("exact", "imported", actor="t")
        store.add_entry("exact", "md5", hashlib.md5(data).hexdigest(), actor="t")
    target = tmp_path / "same.jpg"
    target.write_bytes(data)
    row = _json_lines(runner.invoke(app, ["scan", str(target), "--json"]).stdout)[0]
    assert row["decision"] == "review"
    assert {m["signal"] for m in row["matches"]} >= {"md5"}
    assert io.BytesIO(data)  # the bytes were only read, never stored


def test_a_home_that_is_a_file_is_one_clear_line(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.write_text("a file where VEIL_HOME should be")
    monkeypatch.setenv("VEIL_HOME", str(home))
    monkeypatch.delenv("VEIL_DATABASE_URL", raising=False)
    r = runner.invoke(app, ["scan", str(tmp_path)])
    assert r.exit_code == 2 and isinstance(r.exception, SystemExit), r.output
    assert r.stderr.startswith(f"error store.home_unusable cannot use {home} as VEIL_HOME: ")


def test_a_bank_of_another_signal_is_scanned_for_files_hashed_before_it_was_known(
        scene: Path, photos: list[Path]) -> None:
    # the workers start on the always-scanned signals before the banks are read: the
    # files they were handed then are hashed again once a bank turns out to hold dHash
    from veil.signals import get

    dhash = get("dhash").compute(Media.from_path(photos[3], MediaLimits()))
    with open_store(load_settings()) as store:
        store.create_bank("d", "confirmed_ncii", actor="t")
        store.add_entry("d", "dhash", dhash.value, actor="t")
    res = runner.invoke(app, ["scan", str(scene), "--json", "--workers", "2"])
    assert res.exit_code == 1, res.output
    rows = _json_lines(res.stdout)
    assert len(rows) == 8
    assert all([s["signal"] for s in r["signals"]] == ["pdq", "md5", "dhash"] for r in rows)
    matched = {Path(r["file"]).name: {m["signal"] for m in r["matches"]} for r in rows
               if r["matches"]}
    assert matched == {"p0.jpg": {"pdq"}, "p3.jpg": {"dhash"}}
