"""``veil inspect``: the table, JSON lines, errors as one line with a code (exit 2),
file names printed as they are."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from veil.cli import app

runner = CliRunner()
pytestmark = pytest.mark.corpus


def test_json_lines(shared_data: Path, veil_home: Path) -> None:
    ref = shared_data / "c2pa-reference"
    res = runner.invoke(app, ["inspect", "--json", str(ref / "C.jpg"), str(ref / "A.jpg"),
                              str(ref / "cloud.jpg")])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["c2pa"] for r in rows] == ["embedded", "none", "remote"]
    assert rows[0]["declares_ai"] is True
    assert {"source": "c2pa", "kind": "digital_source_type", "value": "algorithmicMedia",
            "declares_ai": True} in rows[0]["observations"]


def test_errors_have_a_code_and_exit_two(shared_data: Path, veil_home: Path,
                                         tmp_path: Path) -> None:
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a picture")
    res = runner.invoke(app, ["inspect", str(bad), str(shared_data / "c2pa-reference/A.jpg")])
    assert res.exit_code == 2
    assert "error media.unsupported" in res.stderr and "notes.jpg" in res.stderr
    assert "A.jpg" in res.stdout
    res = runner.invoke(app, ["inspect", "--json", str(bad)])
    assert res.exit_code == 2
    assert json.loads(res.stdout)["error"]["code"] == "media.unsupported"


def test_markup_in_names_is_printed_as_is(shared_data: Path, veil_home: Path,
                                          tmp_path: Path) -> None:
    odd = tmp_path / "x[" / "y] [bold]z.jpg"
    odd.parent.mkdir()
    shutil.copy(shared_data / "c2pa-reference" / "XCA.jpg", odd)
    res = runner.invoke(app, ["inspect", str(odd)], env={"COLUMNS": "300"})
    assert res.exit_code == 0, res.output
    assert "x[/y] [bold]z.jpg" in res.stdout
    assert "c2pa validation: Invalid" in res.stdout


def test_scan_json_carries_observations(shared_data: Path, veil_home: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    ref = shared_data / "c2pa-reference"
    files = [str(ref / "C.jpg"), str(ref / "A.jpg")]
    res = runner.invoke(app, ["scan", "--json", "--workers", "1", *files])
    assert res.exit_code == 0, res.output
    declared, plain = (json.loads(line) for line in res.stdout.splitlines())
    assert declared["decision"] == "allow"
    assert any(o["value"] == "algorithmicMedia" for o in declared["observations"])
    assert any("algorithmicMedia" in r for r in declared["reasons"])
    assert plain["observations"] == [{"source": "exif", "kind": "software",
                                      "value": "Adobe Lightroom 5.3 (Macintosh)",
                                      "declares_ai": False}]
    monkeypatch.setenv("VEIL_DECLARED_AI_ACTION", "review")
    res = runner.invoke(app, ["scan", "--workers", "1", *files])
    assert res.exit_code == 1, res.output  # a review, as a match's would be
    assert "review" in res.stdout and "C.jpg" in res.stdout
