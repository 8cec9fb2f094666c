"""The metrics on tiny hand-made cases with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from veil.evaluation.metrics import (
    Rate,
    breakdown,
    certified_threshold,
    false_matches,
    min_pairs,
    recall,
    roc,
    upper_bound,
)


def test_recall_counts_unhashable_copies_as_misses():
    d = np.array([0, 5, 10, math.inf])
    assert recall(d, 5) == 0.5
    assert recall(d, 10) == 0.75
    assert recall(d, 1000) == 0.75
    assert math.isnan(recall(np.array([]), 5))


def test_false_matches_are_counted_with_their_pair_count():
    r = false_matches(np.array([3, 40, 50, 120]), 40)
    assert r == Rate(2, 4)
    assert r.rate == 0.5
    assert "2 of 4" in r.describe()


def test_zero_events_are_only_bounded_by_about_three_over_n():
    n = 117_370
    assert upper_bound(0, n) == pytest.approx(1 - 0.05 ** (1 / n))
    assert upper_bound(0, n) == pytest.approx(3 / n, rel=0.01)
    assert Rate(0, n).describe() == "0 of 117,370 (< 2.6e-05)"
    assert upper_bound(5, 5) == 1.0
    bounds = [upper_bound(k, 1000) for k in range(6)]
    assert bounds == sorted(bounds)
    assert all(b > k / 1000 for k, b in enumerate(bounds))


def test_min_pairs_to_show_a_rate():
    n = min_pairs(1e-3)
    assert n == 2995
    assert upper_bound(0, n) <= 1e-3 < upper_bound(0, n - 1)
    assert min_pairs(1e-4) == 29956


def test_certified_threshold():
    # 10,000 distinct pairs: 10 close ones at distance 20, the rest at 100.
    distinct = np.array([20] * 10 + [100] * 9990)
    # FMR ≤ 1e-2: up to 83 false matches are still provably under 1% → stop below 100.
    assert certified_threshold(distinct, 1e-2, bits=256) == 99
    # FMR ≤ 1e-3: at most 4 of 10,000 (upper bounds 0: 3.0e-4 … 4: 9.2e-4, 5: 1.05e-3).
    assert upper_bound(4, 10_000) <= 1e-3 < upper_bound(5, 10_000)
    assert certified_threshold(distinct, 1e-3, bits=256) == 19
    # FMR ≤ 1e-4 needs ≥ 29,956 pairs: nothing can be shown with 10,000.
    assert certified_threshold(distinct, 1e-4, bits=256) is None
    # false matches already at distance 0
    assert certified_threshold(np.zeros(10_000, int), 1e-3, bits=64) is None


def test_roc_points():
    matched = np.array([0, 1, 2, math.inf])
    distinct = np.array([1, 3, 3, 4])
    r = roc(matched, distinct, bits=4)
    assert r.thresholds.tolist() == [0, 1, 2, 3, 4]
    assert r.recall.tolist() == [0.25, 0.5, 0.75, 0.75, 0.75]
    assert r.fmr.tolist() == [0.0, 0.25, 0.25, 0.75, 1.0]


@pytest.mark.parametrize(("recalls", "holds_to", "fails_from"), [
    ([1.0, 0.95, 0.8, 0.4], 1, 3),
    ([1.0, 1.0], 1, None),
    ([0.3], None, 0),
    ([0.7, 0.95, 0.2], None, 2),   # the mildest already below 90%
    ([1.0, math.nan], 0, 1),       # no data is not a survival
])
def test_breakdown(recalls, holds_to, fails_from):
    b = breakdown(recalls, hold=0.9, fail=0.5)
    assert (b.holds_to, b.fails_from) == (holds_to, fails_from)
