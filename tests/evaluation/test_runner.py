"""The parallel runner: shapes, the identity sanity check, same results in parallel."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from veil.config import MediaLimits
from veil.evaluation import transforms as T
from veil.evaluation.runner import run

VARIANTS = [T.find_variant("identity", 0), T.find_variant("jpeg", 10),
            T.find_variant("crop_offcentre", 0.3), T.find_variant("combo", 3)]


def test_run_inline_and_parallel_agree(photos: list[Path]):
    sample = photos[:4]
    seen = []
    ticks = []
    for workers in (1, 2):
        r = run(sample, ["pdq", "pdq_dihedral", "phash"], VARIANTS, seed=5, workers=workers,
                limits=MediaLimits(), progress=lambda *a: ticks.append(a))
        assert r.photos == [p.name for p in sample]
        assert r.pair_count == 6
        for name in ("pdq", "pdq_dihedral", "phash"):
            assert r.matched[name].shape == (4, len(VARIANTS))
            assert r.distinct[name].shape == (6,)
            # identity: the PNG of the decoded pixels hashes like the JPEG it came from
            assert (r.matched[name][:, 0] == 0).all()
        assert r.quality["pdq"].shape == (4, len(VARIANTS))
        assert r.error_count == 0 and not r.skipped
        seen.append(r)
    a, b = seen
    for name in a.matched:
        assert np.array_equal(a.matched[name], b.matched[name])
        assert np.array_equal(a.distinct[name], b.distinct[name])
    assert ("hashing", 4, 4) in ticks and ("pairs", 3, 3) in ticks
    # the dihedral mode can only be closer than the plain one
    assert (a.matched["pdq_dihedral"] <= a.matched["pdq"]).all()
    assert (a.distinct["pdq_dihedral"] <= a.distinct["pdq"]).all()


def test_an_unreadable_photo_is_left_out(tmp_path: Path, photos: list[Path]):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(photos[0].read_bytes()[:2000])
    r = run([bad, *photos[:2]], ["dhash"], VARIANTS[:1], seed=0, workers=1,
            limits=MediaLimits())
    assert r.photos == [p.name for p in photos[:2]]
    assert r.skipped and r.skipped[0][0] == "broken.jpg"
    assert r.skipped[0][1].startswith("media.truncated")
    assert r.distinct["dhash"].shape == (1,)
