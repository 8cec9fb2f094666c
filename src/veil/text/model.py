"""The detector's weights: one float per hashed feature slot that training saw.

Stored sparse (slot, weight) in ``model.npz`` beside this module; loading it costs
numpy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from veil.text.features import N_FEATURES

MODEL_PATH = Path(__file__).with_name("model.npz")


@dataclass(frozen=True)
class Model:
    weights: dict[int, float]
    intercept: float
    #: Scores at or above it are flagged (chosen in training, see ``veil.text.train``).
    threshold: float

    @classmethod
    def from_dense(cls, dense: np.ndarray, intercept: float, threshold: float) -> Model:
        slots = np.flatnonzero(dense)
        return cls(dict(zip(slots.tolist(), dense[slots].tolist(), strict=True)),
                   intercept, threshold)

    def save(self, path: Path) -> None:
        slots = np.array(sorted(self.weights), np.int32)
        np.savez_compressed(path, slots=slots,
                            weights=np.array([self.weights[s] for s in slots], np.float32),
                            intercept=np.float64(self.intercept),
                            threshold=np.float64(self.threshold),
                            n_features=np.int64(N_FEATURES))

    @classmethod
    def load(cls, path: Path) -> Model:
        with np.load(path) as data:
            if int(data["n_features"]) != N_FEATURES:
                raise ValueError(f"{path} was built for {int(data['n_features'])} feature slots")
            return cls(dict(zip(data["slots"].tolist(), data["weights"].tolist(), strict=True)),
                       float(data["intercept"]), float(data["threshold"]))

    def margin(self, vec: dict[int, float]) -> float:
        w = self.weights
        return self.intercept + sum(w.get(i, 0.0) * v for i, v in vec.items())

    def score(self, vec: dict[int, float]) -> float:
        return 1.0 / (1.0 + math.exp(-self.margin(vec)))


@cache
def shipped() -> Model:
    return Model.load(MODEL_PATH)
