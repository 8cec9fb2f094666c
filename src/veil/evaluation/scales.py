"""How a mode's comparisons are read.

A Hamming hash gives a distance (fewer differing bits: closer); the region signal
gives a count of agreeing keypoints (more: closer). The metrics count a match as
"distance ≤ threshold" over the integers 0..span, so a score where higher is closer
is handed to them as ``span − score``; everything shown to people (thresholds,
quantiles, histograms, the CSV) is turned back into the mode's own units here, in
one place, instead of each table and plot testing which mode it draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Scale:
    #: Largest value a comparison can give (the hash's bits, the most agreeing pairs).
    span: int
    #: What the values count, for axis labels and tables.
    unit: str
    higher_is_closer: bool = False

    def distance(self, value: float) -> float:
        """The metrics' distance (0 closest) of a value in the mode's units."""
        if not math.isfinite(value):
            return math.inf
        v = min(max(value, 0.0), float(self.span))
        return float(self.span) - v if self.higher_is_closer else v

    def value(self, distance: float) -> float:
        """A distance back in the mode's units (inf stays inf: not compared)."""
        if not math.isfinite(distance):
            return distance
        return float(self.span) - distance if self.higher_is_closer else distance

    def values(self, distances: np.ndarray) -> np.ndarray:
        """``value`` of each finite distance (the others are dropped)."""
        d = np.asarray(distances, dtype=np.float64)
        d = d[np.isfinite(d)]
        return self.span - d if self.higher_is_closer else d

    def at(self, threshold: int, sep: str = " ") -> str:
        """The match rule at a distance threshold, in the mode's units: ``≤ 31``, ``≥ 16``."""
        if self.higher_is_closer:
            return f"≥{sep}{self.span - threshold:g}"
        return f"≤{sep}{threshold:g}"

    @property
    def closest(self) -> str:
        """What the closest value is called: the minimum of distances, the maximum of
        scores."""
        return "max" if self.higher_is_closer else "min"


def hamming(bits: int) -> Scale:
    return Scale(bits, "bits")
