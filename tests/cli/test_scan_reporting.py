"""``veil scan`` accounts for every path: a missing one is an error, skipped files are
listed with their reason and counted, library warnings land on the file they concern."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from veil.cli import app

runner = CliRunner()


def _lines(out: str) -> list[dict]:
    return [json.loads(x) for x in out.splitlines() if x.startswith("{")]


def _palette_png_with_byte_transparency() -> bytes:
    """A real PNG on which Pillow warns while converting it (a UserWarning)."""
    im = Image.new("P", (64, 64))
    im.putpalette([(i * 7) % 256 for i in range(768)])
    buf = io.BytesIO()
    im.save(buf, "PNG", transparency=bytes(range(256)))
    return buf.getvalue()


def test_a_missing_path_is_an_error(veil_home: Path, tmp_path: Path) -> None:
    r = runner.invoke(app, ["scan", str(tmp_path / "no-such-folder")])
    assert r.exit_code == 2, r.output
    assert "no such file or directory" in r.output and "1 error" in " ".join(r.output.split())
    r = runner.invoke(app, ["scan", "--json", str(tmp_path / "nope.jpg")])
    assert r.exit_code == 2
    assert _lines(r.stdout)[0]["error"]["message"] == "no such file or directory"


def test_skipped_files_are_each_reported_and_counted(veil_home: Path, tmp_path: Path,
                                                     photos: list[Path]) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "photo.jpg").write_bytes(photos[0].read_bytes())
    (folder / "drawing.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (folder / "notes").write_text("no extension")
    (folder / "huge.png").write_bytes(b"\x89PNG" + bytes(300_000))
    env = {"COLUMNS": "200", "VEIL_MAX_BYTES": "200000"}
    r = runner.invoke(app, ["scan", "--json", str(folder)], env=env)
    rows = {Path(x["file"]).name: x for x in _lines(r.stdout)}
    assert rows["drawing.svg"]["skipped"] == "not a supported media type ('.svg')"
    assert rows["notes"]["skipped"] == "not a supported media type (no extension)"
    assert rows["huge.png"]["skipped"].startswith("too large (300,004 bytes")
    assert rows["photo.jpg"]["decision"] == "allow"
    r = runner.invoke(app, ["scan", str(folder)], env=env)
    text = " ".join(r.output.split())
    assert r.exit_code == 0
    assert "drawing.svg │ skipped │ not a supported media type" in text
    assert "1 file: 0 block, 0 review, 1 clean, 0 errors, 3 skipped" in text


def test_library_warnings_become_the_files_reasons(veil_home: Path, tmp_path: Path) -> None:
    path = tmp_path / "palette.png"
    path.write_bytes(_palette_png_with_byte_transparency())
    done = subprocess.run([sys.executable, "-m", "veil.cli.__main__", "scan", "--json",
                           "--workers", "2", str(path)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    [row] = _lines(done.stdout)
    assert row["warnings"] == ["UserWarning: Palette images with Transparency expressed in "
                               "bytes should be converted to RGBA images"]
    assert "Warning" not in done.stderr, done.stderr  # nothing raw on the terminal
    table = subprocess.run([sys.executable, "-m", "veil.cli.__main__", "scan", "--workers",
                            "1", str(path)], capture_output=True, text=True, timeout=120,
                           env={"COLUMNS": "250", "PATH": "/usr/bin:/bin",
                                "VEIL_HOME": str(veil_home)})
    assert "warning: UserWarning: Palette images" in " ".join(table.stdout.split())
    assert "Warning" not in table.stderr, table.stderr


def test_a_folder_hashed_with_veil_hash_imports_into_a_bank(veil_home: Path, tmp_path: Path,
                                                            photos: list[Path]) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    for p in photos[:3]:
        (folder / p.name).write_bytes(p.read_bytes())
    (folder / "readme.txt").write_text("not a photo")
    r = runner.invoke(app, ["hash", "--json", "--signals", "pdq,md5", str(folder)])
    assert r.exit_code == 0, r.output
    listed = tmp_path / "mine.jsonl"
    listed.write_text(r.stdout)
    assert sum(1 for x in _lines(r.stdout) if "signals" in x) == 3
    runner.invoke(app, ["bank", "create", "mine", "-c", "protected_photo"])
    r = runner.invoke(app, ["bank", "import", "mine", str(listed)])
    assert r.exit_code == 0, r.output
    assert "imported 6 entries" in " ".join(r.output.split())
    r = runner.invoke(app, ["scan", "--json", str(folder / photos[1].name)])
    assert r.exit_code == 1 and _lines(r.stdout)[0]["decision"] == "review"


def test_bank_add_hashes_files_directly(veil_home: Path, tmp_path: Path,
                                        photos: list[Path]) -> None:
    runner.invoke(app, ["bank", "create", "mine", "-c", "protected_photo"])
    r = runner.invoke(app, ["bank", "add", "mine", str(photos[4]), str(photos[5])])
    assert r.exit_code == 0, r.output
    assert "added 4 entries to bank mine" in " ".join(r.output.split())
    r = runner.invoke(app, ["bank", "add", "mine", str(photos[4])])
    assert "added 0 entries" in r.output and "2 already there" in " ".join(r.output.split())
    r = runner.invoke(app, ["bank", "add", "mine", str(photos[4]), "0" * 64])
    assert r.exit_code == 2 and "not both" in r.output


def test_hash_tables_never_cut_a_hash_or_a_path(veil_home: Path, tmp_path: Path,
                                                photos: list[Path]) -> None:
    deep = tmp_path / ("a-rather-long-folder-name-" * 3)
    deep.mkdir()
    target = deep / photos[0].name
    target.write_bytes(photos[0].read_bytes())
    r = runner.invoke(app, ["hash", str(target)], env={"COLUMNS": "80"})
    assert r.exit_code == 0
    joined = "".join(line.strip("│ ") for line in r.stdout.splitlines())
    sha = __import__("hashlib").sha256(target.read_bytes()).hexdigest()
    assert sha in joined.replace("│", "").replace(" ", "")
    assert "…" not in r.stdout


def test_hints_for_typed_hashes(veil_home: Path) -> None:
    runner.invoke(app, ["bank", "create", "b", "-c", "imported"])
    r = runner.invoke(app, ["bank", "add", "b", "0" * 32])
    assert r.exit_code == 2
    assert "looks like md5: add -s md5" in " ".join(r.output.split())
