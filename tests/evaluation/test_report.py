"""Analysis, report and plots on a hand-made run with known numbers (no hashing)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

from veil.evaluation import analysis, plots, report
from veil.evaluation import transforms as T
from veil.evaluation.runner import ModeInfo, Results
from veil.evaluation.scales import hamming

VARIANTS = [T.find_variant("jpeg", 90), T.find_variant("jpeg", 10),
            T.find_variant("rotate", 90), T.find_variant("rotate", 180)]


def hand_made() -> Results:
    # 4 photos → 6 distinct pairs; columns: jpeg q90, jpeg q10, rotate 90, rotate 180
    plain = np.array([[0, 12, 120, 130],
                      [2, 40, 110, 128],
                      [4, 20, 125, 90],
                      [6, math.inf, 131, 127]])
    dihedral = np.array([[0, 12, 8, 4],
                         [2, 40, 10, 6],
                         [4, 20, 12, 30],
                         [6, math.inf, 40, 2]])
    return Results(
        photos=["a.jpg", "b.jpg", "c.jpg", "d.jpg"], variants=VARIANTS,
        modes=[ModeInfo("pdq", "pdq", hamming(256), True, 31, min_quality=50),
               ModeInfo("pdq_dihedral", "pdq", hamming(256), True, 31)],
        matched={"pdq": plain, "pdq_dihedral": dihedral},
        distinct={"pdq": np.array([100, 120, 128, 130, 140, 29]),
                  "pdq_dihedral": np.array([90, 100, 110, 120, 125, 20])},
        quality={"pdq": np.array([[90, 40, 90, 90]] * 4, dtype=float)},
        skipped=[], error_count=1, errors=["d.jpg jpeg q10: media.invalid broken"], seed=0,
        workers=1, timings={"hashing": 1.0, "pairs": 0.1},
    )


def test_summary_numbers():
    s = analysis.summarise(hand_made())
    pdq, dih = s.mode("pdq"), s.mode("pdq_dihedral")
    assert pdq.recall_default.tolist() == [1.0, 0.5, 0.0, 0.0]  # inf is a miss
    assert dih.recall_default.tolist() == [1.0, 0.5, 0.75, 1.0]
    assert (pdq.fmr_default.k, pdq.fmr_default.n) == (1, 6)   # the pair at 29
    assert all(t.threshold is None for t in pdq.tuned)         # 6 pairs prove nothing
    assert pdq.quantiles["closest"] == 29 and pdq.quantiles["median"] == 120  # observed values
    assert pdq.low_quality.tolist() == [0.0, 1.0, 0.0, 0.0]    # q 40 < 50
    assert dih.low_quality is None                              # reported once per type
    assert pdq.roc.recall[31] == 6 / 16


def test_report_cells_and_headlines():
    s = analysis.summarise(hand_made())
    views = {v.family.name: v for v in s.families}
    pdq, dih = s.mode("pdq"), s.mode("pdq_dihedral")
    assert report.break_cell(s, pdq, views["jpeg"]) == "ok to q90"  # 50% is not < 50%
    assert report.break_cell(s, pdq, views["rotate"]) == "✗ from 90°"
    assert report.break_cell(s, dih, views["rotate"]) == "weak (≥75.0%)"
    lines = report.headlines(s)
    assert any("Highest recall" in line and "pdq_dihedral" in line for line in lines)


def test_render_report_and_plots(tmp_path: Path):
    s = analysis.summarise(hand_made())
    made = plots.write_all(s, tmp_path / "plots")
    assert set(made) == {"recall", "distances", "roc"}  # nothing tuned: no tuned plot
    for path in made.values():
        with Image.open(path) as im:
            assert im.mode == "P"  # quantised palette PNG
    info = report.RunInfo("veil eval robustness --limit 4", "photos", datetime.now(UTC), 2.0,
                          2, "test", (0.5, 0.5, 0.5), (0.7, 0.6, 0.5), cpu_seconds=3.0)
    text = report.render_report(s, info, made, tmp_path / "r.md")
    assert "veil eval robustness --limit 4" in text
    assert "1 of 6 = 1.7e-01" in text
    assert "| jpeg | q10 | 50.0 | 50.0 | 100 |" in text
    assert "| rotate | 90° | 0 | 75.0 | 0 |" in text
    assert "unresolved, needs ≥ 2,995 pairs" in text
    assert "1 copy could not be hashed" in text
    assert "(plots/recall.png)" in text
    assert "3 CPU-seconds" in text
