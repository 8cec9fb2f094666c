"""The shipped ``model.npz`` is what ``veil.text.train`` builds from
``tests/data/text`` (a change to the posts, the features or the normalisation
without a rebuild fails here), and it loads and refuses a model built for another
feature space."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from veil.text.features import N_FEATURES
from veil.text.model import Model, shipped
from veil.text.train import build


@pytest.mark.slow
def test_the_shipped_model_is_what_training_builds() -> None:
    built, ours = build(), shipped()
    assert built.threshold == pytest.approx(ours.threshold, abs=1e-6)
    assert built.intercept == pytest.approx(ours.intercept, abs=1e-5)
    assert built.weights.keys() == ours.weights.keys()
    slots = sorted(ours.weights)
    a = np.array([built.weights[s] for s in slots])
    b = np.array([ours.weights[s] for s in slots])
    assert np.abs(a - b).max() < 1e-4


def test_a_model_round_trips_and_one_for_other_slots_is_refused(tmp_path: Path) -> None:
    m = Model({3: 0.5, 17: -1.25}, intercept=-0.5, threshold=0.4)
    m.save(tmp_path / "m.npz")
    assert Model.load(tmp_path / "m.npz") == m
    data = dict(np.load(tmp_path / "m.npz"))
    data["n_features"] = np.int64(N_FEATURES * 2)
    np.savez(tmp_path / "other.npz", **data)
    with pytest.raises(ValueError, match="feature slots"):
        Model.load(tmp_path / "other.npz")
