"""Machine-readable outputs of a run: a JSON summary and, optionally, every distance."""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
from pathlib import Path

from veil.evaluation.analysis import Summary


def _num(x: float) -> float | None:
    return None if x != x or math.isinf(x) else round(float(x), 6)


def summary_dict(summary: Summary) -> dict[str, object]:
    r = summary.results
    return {
        "photos": len(r.photos),
        "distinct_pairs": r.pair_count,
        "seed": r.seed,
        "variants": [{"transform": v.name, "strength": v.strength, "label": v.strength_label}
                     for v in r.variants],
        "signals": [
            {
                "name": m.name,
                # thresholds and quantiles in the signal's units: a match is a value
                # ≤ the threshold, or ≥ it where higher_is_closer
                "unit": m.info.scale.unit,
                "span": m.info.scale.span,
                "higher_is_closer": m.info.scale.higher_is_closer,
                "default_threshold": int(m.info.scale.value(m.info.default_threshold)),
                "false_matches_at_default": {"k": m.fmr_default.k, "n": m.fmr_default.n,
                                             "upper95": _num(m.fmr_default.upper)},
                "recall_at_default": [_num(x) for x in m.recall_default],
                "tuned": [
                    {"target": t.target,
                     "threshold": None if t.threshold is None else
                     int(m.info.scale.value(t.threshold)),
                     "false_matches": None if t.false_matches is None else
                     {"k": t.false_matches.k, "n": t.false_matches.n,
                      "upper95": _num(t.false_matches.upper)},
                     "recall": None if t.recall is None else [_num(x) for x in t.recall]}
                    for t in m.tuned
                ],
                "distinct_quantiles": m.quantiles,
            }
            for m in summary.modes
        ],
        "errors": r.error_count,
        "skipped": [{"photo": p, "reason": why} for p, why in r.skipped],
        "timings_s": {k: round(v, 2) for k, v in {**r.timings, **summary.extra_timings}.items()},
    }


def write_summary(summary: Summary, path: Path) -> Path:
    path.write_text(json.dumps(summary_dict(summary), indent=1, ensure_ascii=False) + "\n")
    return path


def write_distances(summary: Summary, path: Path) -> Path:
    """Every (photo, variant, signal) value as gzipped CSV, in the signal's units (a
    Hamming distance, or agreeing keypoints for region); empty = not hashed."""
    r = summary.results
    text = io.StringIO()
    w = csv.writer(text)
    w.writerow(["photo", "transform", "strength", "signal", "value", "unit"])
    for m in r.modes:
        d = r.matched[m.name]
        scale = m.scale
        for p, photo in enumerate(r.photos):
            for j, v in enumerate(r.variants):
                x = d[p, j]
                w.writerow([photo, v.name, f"{v.strength:g}", m.name,
                            "" if math.isinf(x) else int(scale.value(x)), scale.unit])
    with gzip.open(path, "wt", compresslevel=6) as fh:
        fh.write(text.getvalue())
    return path
