"""The region signal as a mode of ``veil eval robustness``: its score is the count of
agreeing keypoints, read as a distance on its scale; an exact copy scores high and
matches, an unrelated photo does not; the operating point is ``compare`` finding a
match; its distinct pairs are a seeded sample; the report and the JSON speak its
units."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from veil.config import MediaLimits
from veil.evaluation import analysis, export, plots, report
from veil.evaluation import modes as M
from veil.evaluation import transforms as T
from veil.evaluation.runner import ModeInfo, Results, distinct_pairs, run
from veil.evaluation.scales import Scale, hamming
from veil.media.source import Media
from veil.regions import compare


@pytest.fixture(scope="module")
def region() -> M.RegionMode:
    (mode,) = M.resolve([M.REGION])
    assert isinstance(mode, M.RegionMode)
    return mode


def _fp(data: bytes) -> M.Fingerprints:
    return M.Fingerprints(Media.from_bytes(data, MediaLimits()))


def test_scales_read_scores_as_distances() -> None:
    bits = hamming(256)
    assert (bits.distance(31), bits.value(31), bits.at(31), bits.closest) == (31, 31, "≤ 31",
                                                                           "min")
    score = Scale(1000, "agreeing keypoints", higher_is_closer=True)
    assert score.distance(16) == 984 and score.value(984) == 16
    assert score.at(984) == "≥ 16" and score.at(984, "") == "≥16"
    assert score.distance(5000) == 0 and score.distance(-3) == 1000  # clamped to the span
    assert score.distance(math.inf) == math.inf and score.value(math.inf) == math.inf
    assert score.values(np.array([984, math.inf, 0])).tolist() == [16, 1000]
    assert score.closest == "max"


def test_region_is_a_default_mode_with_its_own_scale(region: M.RegionMode) -> None:
    assert M.REGION in M.default_names()
    assert region.scale.higher_is_closer and region.scale.unit == "agreeing keypoints"
    assert region.scale.value(region.default_threshold) == compare.MIN_INLIERS
    assert region.max_pairs is not None and region.min_quality is None


def test_an_exact_copy_scores_high_and_an_unrelated_photo_does_not_match(
        region: M.RegionMode, photos: list[Path]) -> None:
    with Image.open(photos[0]) as im:
        photo = im.convert("RGB")
    bank = region.reference(M.Fingerprints(Media.from_path(photos[0], MediaLimits())))
    copy = _fp(T.render(T.find_variant("identity", 0), photo, seed=0, key="k"))
    d = region.distance(region.query(copy), bank)
    assert region.scale.value(d) >= 100 and d <= region.default_threshold
    for other in photos[1:4]:
        upload = M.Fingerprints(Media.from_path(other, MediaLimits()))
        d = region.distance(region.query(upload), bank)
        assert region.scale.value(d) < compare.MIN_INLIERS
        assert d > region.default_threshold


def test_the_operating_point_is_compare_finding_a_match(region: M.RegionMode,
                                                        photos: list[Path]) -> None:
    with Image.open(photos[5]) as im:
        photo = im.convert("RGB")
    bank = region.reference(M.Fingerprints(Media.from_path(photos[5], MediaLimits())))
    uploads = [_fp(T.render(T.find_variant(n, s), photo, seed=0, key="k")).media
               for n, s in [("crop_centre", 0.4), ("blur", 8), ("stretch", 2), ("mirror", 0)]]
    uploads += [Media.from_path(p, MediaLimits()) for p in photos[6:8]]
    seen = set()
    for media in uploads:
        query = region.query(M.Fingerprints(media))
        matched = region.distance(query, bank) <= region.default_threshold
        assert matched == (compare.compare(bank, query) is not None)
        seen.add(matched)
    assert seen == {True, False}  # both sides of the point were tried


def test_distinct_pairs_are_all_or_a_seeded_sample() -> None:
    i, j = distinct_pairs(5, None, 0)
    assert list(zip(i.tolist(), j.tolist(), strict=True))[:3] == [(0, 1), (0, 2), (0, 3)]
    assert i.size == 10 and distinct_pairs(5, 10, 0)[0].size == 10
    a = distinct_pairs(40, 100, 3)
    b = distinct_pairs(40, 100, 3)
    assert a[0].size == 100 and (a[0] < a[1]).all()
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert len(set(zip(a[0].tolist(), a[1].tolist(), strict=True))) == 100
    assert not np.array_equal(distinct_pairs(40, 100, 4)[1], a[1])


def test_a_run_with_the_region_mode(monkeypatch: pytest.MonkeyPatch,
                                    photos: list[Path]) -> None:
    monkeypatch.setattr(M.RegionMode, "max_pairs", 4)
    variants = [T.find_variant("identity", 0), T.find_variant("rotate_small", 10)]
    r = run(photos[:4], ["pdq", M.REGION], variants, seed=0, workers=1,
            limits=MediaLimits())
    info = r.modes[1]
    assert info.scale.higher_is_closer and info.min_quality is None
    assert r.distinct["pdq"].shape == (6,) and r.distinct[M.REGION].shape == (4,)
    assert (r.matched[M.REGION] <= info.default_threshold).all()  # found, tilted too
    assert (r.distinct[M.REGION] > info.default_threshold).all()
    assert r.timings["copies region"] > 0 and "pairs region" in r.timings
    assert set(r.quality) == {"pdq"}


def _hand_made() -> Results:
    # 4 photos, 6 pairs; region compared 3 of them
    span = 1000
    score = Scale(span, "agreeing keypoints", higher_is_closer=True)
    variants = [T.find_variant("jpeg", 90), T.find_variant("rotate", 90)]
    pdq = np.array([[0, 120], [2, 110], [4, 125], [6, 131]], dtype=float)
    inliers = np.array([[300, 200], [250, 15], [280, 90], [40, 0]])
    return Results(
        photos=["a.jpg", "b.jpg", "c.jpg", "d.jpg"], variants=variants,
        modes=[ModeInfo("pdq", "pdq", hamming(256), True, 31, 50),
               ModeInfo("region", "region", score, True, span - 16)],
        matched={"pdq": pdq, "region": (span - inliers).astype(float)},
        distinct={"pdq": np.array([100, 120, 128, 130, 140, 99]),
                  "region": span - np.array([3, 12, 0])},
        quality={"pdq": np.full((4, 2), 90.0)}, skipped=[], error_count=0, errors=[],
        seed=0, workers=1,
        timings={"hashing": 1.0, "pairs": 0.1, "pairs region": 0.006, "copies region": 0.12,
                 "copies pdq": 0.03, "pairs pdq": 0.0})


def test_report_and_json_speak_the_region_signal_s_units(tmp_path: Path) -> None:
    s = analysis.summarise(_hand_made())
    reg = s.mode("region")
    assert reg.recall_default.tolist() == [1.0, 0.5]  # 15 and 0 agreeing: below 16
    assert (reg.fmr_default.k, reg.fmr_default.n) == (0, 3)
    assert reg.quantiles["closest"] == 12 and reg.quantiles["median"] == 3
    made = plots.write_all(s, tmp_path / "plots")
    assert {"recall", "distances", "roc"} <= set(made)
    info = report.RunInfo("veil eval robustness --limit 4", "photos", datetime.now(UTC), 2.0,
                          2, "test", None, None)
    text = report.render_report(s, info, made, tmp_path / "r.md")
    assert "- **region** at ≥ 16: false matches 0 of 3 (< 6.3e-01)." in text
    assert "| region | ≥ 16 (default) | 0 of 3 (< 6.3e-01) | 75.0 |" in text
    assert "| jpeg | q90 | 100 | 100 |" in text and "| rotate | 90° | 0 | 50.0 |" in text
    assert "| region | agreeing keypoints | 12 | 12 | 12 | 12 | 3 |" in text
    assert "**region** compared a seeded random sample of 3 of them (0 s, 2.0 ms a pair" in text
    assert "region 15.0 ms" in text  # 0.12 s over 8 copies
    summary = export.summary_dict(s)
    regj = summary["signals"][1]  # type: ignore[index]
    assert regj["unit"] == "agreeing keypoints" and regj["higher_is_closer"] is True
    assert regj["default_threshold"] == 16
    assert regj["false_matches_at_default"]["n"] == 3
    export.write_distances(s, tmp_path / "d.csv.gz")
    import gzip

    with gzip.open(tmp_path / "d.csv.gz", "rt") as fh:
        rows = fh.read().splitlines()
    assert rows[0] == "photo,transform,strength,signal,value,unit"
    assert "a.jpg,jpeg,90,region,300,agreeing keypoints" in rows
    assert "d.jpg,rotate,90,pdq,131,bits" in rows
