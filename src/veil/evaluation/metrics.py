"""Recall, false-match rates with honest bounds, thresholds tuned to a target rate, ROC.

Distances are Hamming bits, or a score read as a distance by its mode's
``scales.Scale`` (agreeing keypoints: span − count), integers 0..span. A matched
pair whose hash could not be computed counts as a miss, so its distance is +inf. A
false-match rate is only as good as its pair count: 0 false matches in N pairs does
not mean a rate of 0, only that the rate is below about 3/N (95% one-sided bound),
so every rate comes with its bound.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import beta

#: Confidence of every reported bound (one-sided).
CONFIDENCE = 0.95


def upper_bound(k: int, n: int, confidence: float = CONFIDENCE) -> float:
    """One-sided Clopper-Pearson upper bound on a rate seen k times in n trials.

    For k = 0 it is 1 - (1 - confidence)^(1/n), about 3/n at 95% (the "rule of three").
    """
    if n <= 0 or k >= n:
        return 1.0
    return float(beta.ppf(confidence, k + 1, n - k))


def min_pairs(target: float, confidence: float = CONFIDENCE) -> int:
    """Fewest pairs for which 0 false matches shows a rate ≤ ``target``."""
    return math.ceil(math.log(1 - confidence) / math.log(1 - target))


@dataclass(frozen=True, slots=True)
class Rate:
    """k events in n trials."""

    k: int
    n: int

    @property
    def rate(self) -> float:
        return self.k / self.n if self.n else math.nan

    @property
    def upper(self) -> float:
        return upper_bound(self.k, self.n)

    def describe(self) -> str:
        if self.k == 0:
            return f"0 of {self.n:,} (< {self.upper:.1e})"
        return f"{self.k:,} of {self.n:,} = {self.rate:.1e} (≤ {self.upper:.1e})"


def recall(distances: np.ndarray, threshold: int) -> float:
    """Share of matched pairs at or below ``threshold`` (nan for no pairs)."""
    d = np.asarray(distances, dtype=np.float64)
    return float(np.mean(d <= threshold)) if d.size else math.nan


def false_matches(distinct: np.ndarray, threshold: int) -> Rate:
    d = np.asarray(distinct)
    return Rate(int(np.count_nonzero(d <= threshold)), int(d.size))


def _most_false_matches(n: int, target: float, confidence: float) -> int:
    """Largest k whose upper bound over n is ≤ target; -1 if not even k = 0."""
    if upper_bound(0, n, confidence) > target:
        return -1
    lo, hi = 0, n  # upper_bound(lo) ≤ target < upper_bound(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if upper_bound(mid, n, confidence) <= target:
            lo = mid
        else:
            hi = mid
    return lo


def cumulative_counts(distances: np.ndarray, bits: int) -> np.ndarray:
    """c[t] = number of distances ≤ t for t = 0..bits (non-finite ones never count)."""
    d = np.asarray(distances, dtype=np.float64)
    d = d[np.isfinite(d)].astype(np.int64)
    return np.cumsum(np.bincount(np.clip(d, 0, bits), minlength=bits + 1)[: bits + 1])


def certified_threshold(distinct: np.ndarray, target: float, bits: int,
                        confidence: float = CONFIDENCE) -> int | None:
    """The largest threshold whose false-match rate is ≤ ``target`` with
    ``confidence``, judged on ``distinct`` (distances of different-image pairs).

    None when no threshold can be shown to meet it: too few pairs (fewer than
    ``min_pairs(target)``), or false matches already at distance 0.
    """
    kmax = _most_false_matches(len(distinct), target, confidence)
    if kmax < 0:
        return None
    ok = np.flatnonzero(cumulative_counts(distinct, bits) <= kmax)
    return int(ok[-1]) if ok.size else None


@dataclass(frozen=True, slots=True)
class Roc:
    """Recall and false-match rate at every threshold 0..bits."""

    thresholds: np.ndarray
    fmr: np.ndarray
    recall: np.ndarray


def roc(matched: np.ndarray, distinct: np.ndarray, bits: int) -> Roc:
    m = np.asarray(matched, dtype=np.float64).ravel()
    d = np.asarray(distinct).ravel()
    t = np.arange(bits + 1)
    fmr = cumulative_counts(d, bits) / max(d.size, 1)
    rec = cumulative_counts(m, bits) / max(m.size, 1)
    return Roc(t, fmr, rec)


@dataclass(frozen=True, slots=True)
class Breakdown:
    """Where recall gives way along a family's strengths (ordered mild → strong).

    ``holds_to``: index of the strongest strength up to which every recall is ≥ the
    hold level (None: not even the mildest); ``fails_from``: index of the mildest
    strength with recall below the fail level (None: none).
    """

    holds_to: int | None
    fails_from: int | None


def breakdown(recalls: Sequence[float], hold: float = 0.9, fail: float = 0.5) -> Breakdown:
    holds_to = None
    for i, r in enumerate(recalls):
        if not r >= hold:  # nan counts as not holding
            break
        holds_to = i
    fails_from = next((i for i, r in enumerate(recalls) if not r >= fail), None)
    return Breakdown(holds_to, fails_from)
