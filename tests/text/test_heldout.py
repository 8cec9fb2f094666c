"""The detector on the held-out posts (``heldout3/``, written before the model's last
changes and never read by training; ``tests/data/text/README.md``): the figures
``docs/text-detector.md`` publishes are the ones this model gets, and they do not
fall below the floors the model was accepted with."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from veil.text.measure import measure
from veil.text.train import load_rows

ROOT = Path(__file__).parents[2]
HELDOUT = ROOT / "tests" / "data" / "text" / "heldout3"
DOC = ROOT / "docs" / "text-detector.md"


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    return measure(load_rows(HELDOUT))


def _published(label: str) -> list[float]:
    """The percentages of the row of the held-out table that starts with ``label``."""
    for line in DOC.read_text("utf-8").splitlines():
        if line.startswith(f"| {label} |"):
            return [float(x) for x in re.findall(r"([\d.]+)%", line)]
    raise AssertionError(f"no row {label!r} in {DOC}")


@pytest.mark.slow
@pytest.mark.parametrize("form", ["clean", "emoji", "homoglyphs", "leet", "spacing",
                                  "styled", "zero-width", "combined"])
def test_published_figures_are_this_models(report, form: str) -> None:  # type: ignore[no-untyped-def]
    measured = []
    for lang in ("en", "ru", "uk", None):
        t = report.total(lang, form)
        measured += [100 * t.recall, 100 * t.fpr]
    assert _published(form) == pytest.approx(measured, abs=0.051)


@pytest.mark.slow
def test_held_out_floors(report) -> None:  # type: ignore[no-untyped-def]
    every = report.total()
    assert every.fpr <= 0.01
    assert every.recall >= FLOOR_RECALL
    for lang in ("en", "ru", "uk"):
        assert report.total(lang, "clean").fpr <= 0.015, lang


#: The recall over every form the shipped model was accepted with on ``heldout3/``
#: (98.7%, measured once, published in docs/text-detector.md); the issue's target is 0.95.
FLOOR_RECALL = 0.98
