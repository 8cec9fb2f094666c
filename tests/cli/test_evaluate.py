"""``veil eval robustness`` end to end on 10 corpus photos, every default signal (the
region signal included), a few transformations at quick strengths."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from veil.cli import app
from veil.evaluation.report import pct

#: Enough to see each kind of edit (pixels, geometry, overlay) and keep the run short.
TRANSFORMS = "identity,jpeg,crop_offcentre,rotate,mirror,border,screenshot"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    base = tmp_path_factory.mktemp("eval")
    result = CliRunner().invoke(app, [
        "eval", "robustness", "--corpus", str(shared_data / "photos"), "--limit", "10",
        "--transforms", TRANSFORMS, "--quick", "--workers", "2", "--out", str(base / "out"),
        "--report", str(base / "docs" / "robustness.md"),
    ])
    assert result.exit_code == 0, result.output
    assert "pdq_dihedral" in result.output
    return base


@pytest.mark.slow
def test_report_and_plots_are_written(run_dir: Path):
    out = run_dir / "out"
    for name in ("recall.png", "distances.png", "roc.png"):
        with Image.open(out / name) as im:
            assert im.format == "PNG"
            assert im.width > 400 and im.height > 300
        assert (out / name).stat().st_size < 300_000  # small enough to commit
    report = (run_dir / "docs" / "robustness.md").read_text()
    # plot links are relative to the report, and lead to the files
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert links and all((run_dir / "docs" / link).is_file() for link in links)
    with gzip.open(out / "distances.csv.gz", "rt") as fh:
        rows = fh.read().splitlines()
    summary = json.loads((out / "summary.json").read_text())
    assert len(rows) == 1 + 10 * len(summary["variants"]) * len(summary["signals"])


@pytest.mark.slow
def test_report_states_counts_bounds_and_command(run_dir: Path):
    report = (run_dir / "docs" / "robustness.md").read_text()
    assert "10 photos" in report
    assert "45 pairs" in report
    assert "0 false matches only bounds it below 6.4e-02" in report
    # 45 pairs cannot show a rate of 1e-3: said, not papered over
    assert "FMR ≤ 0.001: unresolved, needs ≥ 2,995 pairs" in report
    assert re.search(r"veil eval robustness --corpus \S+ --transforms \S+ --out \S+ "
                     r"--report \S+ --limit 10 --workers 2 --quick", report)
    assert "Run time" in report and "2 worker processes" in report
    assert "Meta's PDQ guidance" in report


@pytest.mark.slow
def test_report_numbers_match_the_json(run_dir: Path):
    report = (run_dir / "docs" / "robustness.md").read_text()
    summary = json.loads((run_dir / "out" / "summary.json").read_text())
    names = [s["name"] for s in summary["signals"]]
    assert names == ["pdq", "pdq_dihedral", "phash", "dhash", "region"]
    assert all(s["false_matches_at_default"]["n"] == 45 for s in summary["signals"])
    for j, v in enumerate(summary["variants"]):
        cells = [pct(s["recall_at_default"][j]) for s in summary["signals"]]
        row = f"| {v['transform']} | {v['label']} | " + " | ".join(cells) + " |"
        assert row in report
    identity = summary["variants"].index({"transform": "identity", "strength": 0,
                                          "label": "-"})
    assert all(s["recall_at_default"][identity] == 1.0 for s in summary["signals"])
    rotate = [j for j, v in enumerate(summary["variants"]) if v["transform"] == "rotate"]
    pdq, dihedral = summary["signals"][0], summary["signals"][1]
    assert all(pdq["recall_at_default"][j] == 0 for j in rotate)
    assert all(dihedral["recall_at_default"][j] == 1 for j in rotate)
    # the region signal, in its own units, finds what moves or frames the photo
    region = summary["signals"][4]
    assert region["unit"] == "agreeing keypoints" and region["higher_is_closer"]
    assert region["default_threshold"] == 16
    framed = [j for j, v in enumerate(summary["variants"])
              if v["transform"] in ("crop_offcentre", "border", "rotate")]
    assert all(region["recall_at_default"][j] >= 0.9 > pdq["recall_at_default"][j]
               for j in framed)
    assert "| region | agreeing keypoints |" in report


def test_bad_input_fails_cleanly(tmp_path: Path, shared_data: Path):
    runner = CliRunner()
    result = runner.invoke(app, ["eval", "robustness", "--corpus", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "eval.no_corpus" in result.output
    photos = str(shared_data / "photos")
    result = runner.invoke(app, ["eval", "robustness", "--corpus", photos,
                                 "--signals", "pdq,sepia"])
    assert result.exit_code == 2
    assert "signal.unknown" in result.output and "pdq_dihedral" in result.output
    result = runner.invoke(app, ["eval", "robustness", "--corpus", photos,
                                 "--transforms", "jpeg,swirl"])
    assert result.exit_code == 2
    assert "eval.unknown_transform" in result.output
