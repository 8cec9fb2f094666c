"""Hash every photo and every edited copy of it in parallel, then the distinct pairs.

A worker takes one photo at a time: it decodes the photo once, renders each variant
once, and computes every mode on the same decoded ``Media`` (``Fingerprints``), so
the edits are shared by all signals and a type's plain and dihedral modes share
its hashing. Only small results travel back: the original's values (a hash, or a
region signal's keypoints) and one distance per (mode, variant). Distinct pairs
are every pair, or for a mode with ``max_pairs`` a seeded sample of them.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from veil.config import MediaLimits
from veil.errors import VeilError
from veil.evaluation.modes import Fingerprints, Mode, resolve
from veil.evaluation.scales import Scale
from veil.evaluation.transforms import Variant, find_variant, render
from veil.media import budget
from veil.media.source import Media

#: (phase, done, total): "hashing" counts photos, "pairs" counts modes.
Progress = Callable[[str, int, int], None]
#: Most per-variant error messages kept for the report (the count is always kept).
MAX_ERRORS_KEPT = 50


@dataclass(frozen=True, slots=True)
class ModeInfo:
    name: str
    base: str
    scale: Scale
    perceptual: bool
    #: As a distance on ``scale``.
    default_threshold: int
    min_quality: int | None = None

    @property
    def bits(self) -> int:
        """The largest distance: the metrics' thresholds run 0..bits."""
        return self.scale.span


@dataclass(frozen=True, slots=True)
class PhotoOutcome:
    index: int
    name: str
    references: dict[str, Any] = field(default_factory=dict)
    queries: dict[str, Any] = field(default_factory=dict)
    #: mode → one distance per variant; inf where the copy could not be hashed.
    distances: dict[str, list[float]] = field(default_factory=dict)
    #: base signal type → quality per variant (types that report one).
    quality: dict[str, list[float]] = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    #: mode → seconds spent on the edited copies' queries and comparisons (a
    #: type's modes share its hashing: the first of them pays for it).
    seconds: dict[str, float] = field(default_factory=dict)
    #: Why the original itself could not be used.
    failed: str | None = None


@dataclass
class Results:
    photos: list[str]
    variants: list[Variant]
    modes: list[ModeInfo]
    #: mode → (photos, variants) distance from each edited copy to its original.
    matched: dict[str, np.ndarray]
    #: mode → distance of every pair of distinct photos (i < j, row-major), or of a
    #: seeded sample of them for a mode with ``max_pairs``.
    distinct: dict[str, np.ndarray]
    #: base type → (photos, variants) quality of the edited copy's signal.
    quality: dict[str, np.ndarray]
    skipped: list[tuple[str, str]]
    error_count: int
    errors: list[str]
    seed: int
    workers: int
    #: Wall seconds of the phases ("hashing", "pairs"); per mode, CPU-seconds of its
    #: work on the edited copies ("copies <mode>", summed over the workers) and wall
    #: seconds of its distinct pairs ("pairs <mode>").
    timings: dict[str, float]

    @property
    def pair_count(self) -> int:
        n = len(self.photos)
        return n * (n - 1) // 2


def evaluate_photo(index: int, path: Path, modes: Sequence[Mode], variants: Sequence[Variant],
                   seed: int, limits: MediaLimits) -> PhotoOutcome:
    name = path.name
    try:
        original = Media.from_path(path, limits)
        fp = Fingerprints(original)
        queries = {m.name: m.query(fp) for m in modes}
        references = {m.name: m.reference(fp) for m in modes}
        photo = original.image
    except VeilError as exc:
        return PhotoOutcome(index, name, failed=f"{exc.code}: {exc.message}")
    # Variant modes first: their variant 0 then serves the plain mode of the same type.
    ordered = sorted(modes, key=lambda m: not m.fills_cache)
    distances: dict[str, list[float]] = {m.name: [] for m in modes}
    quality: dict[str, list[float]] = {}
    errors: list[str] = []
    seconds = dict.fromkeys(distances, 0.0)
    for v in variants:
        row: dict[str, float] = {}
        qrow: dict[str, float] = {}
        try:
            vfp = Fingerprints(Media.from_bytes(render(v, photo, seed=seed, key=name), limits))
            for m in ordered:
                t = time.perf_counter()
                row[m.name] = float(m.distance(m.query(vfp), references[m.name]))
                seconds[m.name] += time.perf_counter() - t
                q = m.quality(vfp)
                if q is not None:
                    qrow[m.base] = q
        except VeilError as exc:
            errors.append(f"{name} {v.label}: {exc.code} {exc.message}")
            row = {}
        for m in modes:
            distances[m.name].append(row.get(m.name, math.inf))
            if m.min_quality is not None:
                quality.setdefault(m.base, []).append(qrow.get(m.base, math.nan))
    return PhotoOutcome(index, name, references, queries, distances,
                        {k: v for k, v in quality.items() if not all(map(math.isnan, v))},
                        tuple(errors), seconds)


# -- worker processes --------------------------------------------------------------------
_WORKER: tuple[list[Mode], list[Variant], int, MediaLimits] | None = None


def _init_worker(modes: tuple[str, ...], variants: tuple[tuple[str, float], ...],
                 seed: int, limits: MediaLimits) -> None:
    global _WORKER
    _WORKER = (resolve(modes), [find_variant(n, s) for n, s in variants], seed, limits)


def _work(task: tuple[int, str]) -> PhotoOutcome:
    assert _WORKER is not None, "worker not initialised"
    modes, variants, seed, limits = _WORKER
    return evaluate_photo(task[0], Path(task[1]), modes, variants, seed, limits)


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _outcomes(photos: Sequence[Path], modes: Sequence[Mode], variants: Sequence[Variant],
              seed: int, limits: MediaLimits, workers: int) -> Iterator[PhotoOutcome]:
    if workers <= 1:
        for i, p in enumerate(photos):
            yield evaluate_photo(i, p, modes, variants, seed, limits)
        return
    init = (tuple(m.name for m in modes), tuple((v.name, v.strength) for v in variants),
            seed, budget.share(limits, workers))
    # spawn, not fork: the caller may be running a progress-bar thread, and a forked
    # child of a threaded process can deadlock on a lock held at fork time.
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers, initializer=_init_worker, initargs=init) as pool:
        yield from pool.imap_unordered(_work, [(i, str(p)) for i, p in enumerate(photos)])


def distinct_pairs(n: int, most: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs i < j of ``n`` photos (row-major), or ``most`` of them drawn at
    random (seeded, in row-major order) when there are more."""
    i, j = np.triu_indices(n, 1)
    if most is not None and i.size > most:
        keep = np.sort(np.random.default_rng(seed).choice(i.size, most, replace=False))
        i, j = i[keep], j[keep]
    return i, j


def distinct_distances(mode: Mode, queries: Sequence[Any], references: Sequence[Any],
                       seed: int = 0) -> np.ndarray:
    """Distance of every pair i < j (or the mode's sample of them): photo i's query
    against photo j's reference.

    One direction suffices: a dihedral variant of i against j is the inverse variant
    of j against i, since the 8 variants permute and flip hash bits the same way.
    """
    rows, cols = distinct_pairs(len(references), mode.max_pairs, seed)
    out = np.empty(rows.size, dtype=np.int32)
    for k, (i, j) in enumerate(zip(rows.tolist(), cols.tolist(), strict=True)):
        out[k] = mode.distance(queries[i], references[j])
    return out


def run(photos: Sequence[Path], mode_names: Sequence[str], variants: Sequence[Variant], *,
        seed: int, workers: int, limits: MediaLimits,
        progress: Progress | None = None) -> Results:
    modes = resolve(mode_names)
    workers = max(1, min(workers or available_cores(), len(photos)))
    tick = progress or (lambda phase, done, total: None)
    t0 = time.perf_counter()
    by_index: dict[int, PhotoOutcome] = {}
    tick("hashing", 0, len(photos))
    for outcome in _outcomes(photos, modes, variants, seed, limits, workers):
        by_index[outcome.index] = outcome
        tick("hashing", len(by_index), len(photos))
    t1 = time.perf_counter()

    outcomes = [by_index[i] for i in sorted(by_index)]
    good = [o for o in outcomes if o.failed is None]
    skipped = [(o.name, o.failed) for o in outcomes if o.failed is not None]
    errors = [e for o in good for e in o.errors]
    matched = {m.name: np.array([o.distances[m.name] for o in good], dtype=np.float64)
               .reshape(len(good), len(variants)) for m in modes}
    quality: dict[str, np.ndarray] = {}
    for name in dict.fromkeys(k for o in good for k in o.quality):
        quality[name] = np.array(
            [o.quality.get(name, [math.nan] * len(variants)) for o in good], dtype=np.float64)

    timings = {f"copies {m.name}": sum(o.seconds.get(m.name, 0.0) for o in good)
               for m in modes}
    distinct: dict[str, np.ndarray] = {}
    tick("pairs", 0, len(modes))
    for k, m in enumerate(modes, 1):
        t = time.perf_counter()
        distinct[m.name] = distinct_distances(m, [o.queries[m.name] for o in good],
                                              [o.references[m.name] for o in good], seed)
        timings[f"pairs {m.name}"] = time.perf_counter() - t
        tick("pairs", k, len(modes))
    t2 = time.perf_counter()

    infos = [ModeInfo(m.name, m.base, m.scale, m.perceptual, m.default_threshold,
                      m.min_quality) for m in modes]
    return Results(
        photos=[o.name for o in good], variants=list(variants), modes=infos,
        matched=matched, distinct=distinct, quality=quality, skipped=skipped,
        error_count=len(errors), errors=errors[:MAX_ERRORS_KEPT], seed=seed, workers=workers,
        timings={"hashing": t1 - t0, "pairs": t2 - t1, **timings},
    )
