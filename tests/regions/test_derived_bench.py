"""``bench/derived.py`` on 10 photos, as CI runs it: the benchmark still runs end to
end, writes its tables and plots, and its figures are sane (exact copies found by
every candidate, distinct photos never passing the region signal's operating point,
derived copies found by the region signal where PDQ at 31 misses them)."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

pytestmark = pytest.mark.corpus

BENCH = Path(__file__).resolve().parents[2] / "bench" / "derived.py"


def _bench() -> ModuleType:
    # registered under a name of its own, so the worker processes can find the
    # functions the pool hands them
    name = "veil_bench_derived"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, BENCH)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _rows(text: str, first: str) -> list[list[str]]:
    """Table rows starting with ``| first |``, split into cells."""
    return [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in text.splitlines() if line.startswith(f"| {first} |")]


def _pct(cell: str) -> float:
    return float(cell.rstrip("%")) / 100


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp("derived")
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        _bench().main([
            "--photos", "10", "--negative-photos", "10", "--candidates", "orb,pdq",
            "--shares", "0.2,0.5", "--transforms", "identity,crop_offcentre,rotate",
            "--quick", "--workers", "2", "--corpus", str(shared_data / "photos"),
            "--out", str(out)])
    return text.getvalue(), out


def test_it_compares_every_pair_it_says(run: tuple[str, Path]) -> None:
    text, _ = run
    # 10 photos × (2 shares × 5 fills × 2 places + 1 + 2 + 2 re-shares)
    assert "250 positive pairs, 180 negative pairs" in text
    for kind in ("distinct", "near-duplicate"):
        line = next(x for x in text.splitlines() if x.strip().startswith(f"{kind}:"))
        assert "90 pairs" in line
        # no pair of different photos reaches the region signal's operating point
        assert re.search(r"passing orb 0\b", line), line


def test_exact_copies_are_found_and_derived_copies_by_the_region_signal(
        run: tuple[str, Path]) -> None:
    text, _ = run
    # columns: group, n, orb @1%, orb @0.1%, orb op, pdq @1%, pdq @0.1%, pdq op, derived, IoU
    (identity,) = _rows(text, "identity")
    assert identity[1] == "10"
    assert _pct(identity[4]) == 1.0 and _pct(identity[7]) == 1.0
    assert identity[8] == "0%"  # an untouched copy is never called derived
    (rotate,) = _rows(text, "rotate")
    assert _pct(rotate[4]) == 1.0 and _pct(rotate[7]) == 0.0  # PDQ has no dihedral here
    (fifth,) = _rows(text, "20%")
    (half,) = _rows(text, "50%")
    assert fifth[1] == half[1] == "100"
    assert _pct(fifth[4]) >= 0.9 and _pct(half[4]) >= 0.8
    assert _pct(half[7]) <= 0.05  # PDQ at its published distance misses them
    assert _pct(half[8]) >= 0.5  # most found at half replaced are called derived
    assert 0.2 <= float(half[9]) <= 1.0  # the differing box overlaps the replaced one


def test_the_plots_are_written(run: tuple[str, Path]) -> None:
    text, out = run
    for name in ("recall-derived.png", "recall-reshares.png"):
        path = out / name
        assert f"wrote {path}" in text
        with Image.open(path) as im:
            assert im.format == "PNG" and im.mode == "P"
            assert im.width >= 400 and im.height >= 250
        assert path.stat().st_size < 200_000
