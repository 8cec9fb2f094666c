"""What the harness compares: every registered signal type as it is, plus
``<name>_dihedral`` for each type that can hash the 8 rotations/mirrors of an image,
plus ``region``, the region signal (``veil.regions``).

A mode says what a bank would hold for an image (``reference``), what is looked up
for an upload (``query``), how close the two are (``distance``, on the mode's
``Scale``: Hamming bits, or agreeing keypoints read as a distance) and its
threshold; the runner, the metrics, the report and the plots ask the mode, never
its name.

A dihedral mode matches when any of the query's 8 variants is within the threshold
of the original's plain signal — what a platform does to catch rotated or mirrored
re-uploads without storing 8 hashes per bank entry.

Variants are found by capability, so a new signal type gets its dihedral mode with
no change here: a type declaring ``variants`` hashes them with
``compute_variants(media) -> Sequence[Signal]`` (variant 0 being the plain signal,
as ``compute`` gives it; PDQ's 8 come from one DCT). Because variant 0 is the plain
signal, a type evaluated in both modes is hashed once per image, not twice (tests
check variant 0 against ``compute``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from veil.errors import BadInput
from veil.evaluation.scales import Scale, hamming
from veil.media.source import Media
from veil.signals import SignalType, all_types
from veil.signals.base import Signal

DIHEDRAL_SUFFIX = "_dihedral"
REGION = "region"

#: Media → the signal of each variant of the image; variant 0 is the plain signal.
VariantsFn = Callable[[Media], Sequence[Signal]]
T = TypeVar("T")


class Fingerprints:
    """One decoded image's signals and variants, each computed at most once, so a
    type's plain and dihedral modes share the work."""

    def __init__(self, media: Media) -> None:
        self.media = media
        self._signals: dict[str, Signal] = {}
        self._variants: dict[str, tuple[str, ...]] = {}
        self._other: dict[str, Any] = {}

    def signal(self, signal_type: SignalType) -> Signal:
        got = self._signals.get(signal_type.name)
        if got is None:
            got = self._signals[signal_type.name] = signal_type.compute(self.media)
        return got

    def variants(self, signal_type: SignalType, fn: VariantsFn) -> tuple[str, ...]:
        got = self._variants.get(signal_type.name)
        if got is None:
            signals = fn(self.media)
            got = self._variants[signal_type.name] = tuple(s.value for s in signals)
            self._signals.setdefault(signal_type.name, signals[0])
        return got

    def cached(self, key: str, fn: Callable[[Media], T]) -> T:
        """Anything else a mode computes from the image, once."""
        if key not in self._other:
            self._other[key] = fn(self.media)
        got: T = self._other[key]
        return got


class Mode(ABC):
    """One way of comparing an upload with a banked image."""

    name: str
    #: The signal the mode measures (modes of one signal share a colour in plots,
    #: and its quality is reported once, on the mode that ``reports_quality``).
    base: str
    #: Tolerates edits, so thresholds are worth tuning (exact digests: no).
    perceptual: bool
    scale: Scale
    #: The operating point, as a distance on ``scale``.
    default_threshold: int
    #: Quality below which a platform drops the signal (None: no such notion).
    min_quality: int | None = None
    #: Most pairs of distinct photos compared, a seeded sample beyond it (None:
    #: every pair): for modes whose one comparison costs milliseconds, not the
    #: nanoseconds of a Hamming distance.
    max_pairs: int | None = None
    #: Computes what other modes of its signal reuse, so it is evaluated first.
    fills_cache: bool = False

    @property
    def bits(self) -> int:
        return self.scale.span

    @abstractmethod
    def reference(self, fp: Fingerprints) -> Any:
        """What a bank would hold for this image."""

    @abstractmethod
    def query(self, fp: Fingerprints) -> Any:
        """What is looked up for this image."""

    @abstractmethod
    def distance(self, query: Any, reference: Any) -> int:
        """How far the query is from the reference, on ``scale`` (0: closest)."""

    def quality(self, fp: Fingerprints) -> float | None:
        """The quality of this image's signal, where the mode reports one."""
        return None


class HashMode(Mode):
    """A registered signal type, compared by Hamming distance; with ``variants``,
    the smallest distance over the query's variants."""

    def __init__(self, name: str, signal_type: SignalType,
                 variants: VariantsFn | None = None) -> None:
        self.name = name
        self.base = signal_type.name
        self.signal_type = signal_type
        self.variants = variants
        self.perceptual = signal_type.perceptual
        self.scale = hamming(signal_type.bits)
        self.default_threshold = signal_type.default_threshold
        # quality belongs to the type's plain hash: reported once, on its plain mode
        self.min_quality = signal_type.min_quality if variants is None else None
        self.fills_cache = variants is not None

    def reference(self, fp: Fingerprints) -> str:
        """The plain signal."""
        return fp.signal(self.signal_type).value

    def query(self, fp: Fingerprints) -> tuple[str, ...]:
        """The plain signal, or all its variants."""
        if self.variants is None:
            return (fp.signal(self.signal_type).value,)
        return fp.variants(self.signal_type, self.variants)

    def distance(self, query: Sequence[str], reference: str) -> int:
        return min(self.signal_type.distance(q, reference) for q in query)

    def quality(self, fp: Fingerprints) -> float | None:
        if self.variants is not None:
            return None
        q = fp.signal(self.signal_type).quality
        return None if q is None else float(q)


class RegionMode(Mode):
    """The region signal: a bank holds a photo's keypoints through their stored form
    (``blob``, quantised positions), an upload is searched with its own, and the
    score is the count of keypoint pairs that agree on one geometric transform
    (``compare``). A match at the operating point is ``compare`` finding one: at
    least ``MIN_INLIERS`` agreeing pairs."""

    name = REGION
    base = REGION
    perceptual = True
    #: 30,000 distinct pairs can show a false-match rate ≤ 1e-4 (29,956 are needed);
    #: at about 2 ms a comparison they cost a minute of one core, where all 117,370
    #: of the 485-photo corpus would cost four.
    max_pairs = 30_000

    def __init__(self) -> None:
        from veil.regions import compare, features

        # one query descriptor pairs with at most one banked one: no more agreeing
        # pairs than an upload's keypoints
        self.scale = Scale(features.QUERY_POINTS, "agreeing keypoints", higher_is_closer=True)
        self.default_threshold = int(self.scale.distance(compare.MIN_INLIERS))

    def reference(self, fp: Fingerprints) -> Any:
        from veil.regions import blob, features

        return fp.cached("region.bank", lambda media: blob.decode(
            blob.encode(features.bank_features(media))))

    def query(self, fp: Fingerprints) -> Any:
        from veil.regions import features

        return fp.cached("region.query", features.query_features)

    def distance(self, query: Any, reference: Any) -> int:
        return int(self.scale.distance(self.inliers(query, reference)))

    @staticmethod
    def inliers(query: Any, reference: Any) -> int:
        """Agreeing keypoint pairs, counted below the operating point too (RANSAC is
        seeded alike on every call, so the operating point only drops pairs of
        fewer than ``MIN_INLIERS``); 0 where they agree in fewer than
        ``compare.MIN_CELLS`` cells, which no count makes a match."""
        from veil.regions import compare

        found = compare.compare(reference, query, min_inliers=0)
        return found.inliers if found else 0


def available() -> list[Mode]:
    modes: list[Mode] = []
    for t in all_types():
        if not t.of_stills:
            continue  # vPDQ of a still is its PDQ: measured once, as pdq
        modes.append(HashMode(t.name, t))
        if t.variants:
            modes.append(HashMode(t.name + DIHEDRAL_SUFFIX, t, t.compute_variants))
    modes.append(RegionMode())
    return modes


def default_names() -> list[str]:
    """Every perceptual mode, the region signal included (it is the one signal made
    for crops, borders, tilts and screenshots, so a report without it would not
    say what Veil can find; it roughly triples a run's time: leave it out with
    ``--signals``). Exact digests are left out: a re-encoded copy never matches
    them, which needs no measuring (ask for them by name to include them)."""
    return [m.name for m in available() if m.perceptual]


def resolve(names: Sequence[str] | None = None) -> list[Mode]:
    by_name = {m.name: m for m in available()}
    wanted = list(names) if names else default_names()
    unknown = [n for n in wanted if n not in by_name]
    if unknown:
        raise BadInput(f"unknown signal {', '.join(map(repr, unknown))}; available: "
                       f"{', '.join(by_name)}", code="signal.unknown")
    return [by_name[n] for n in dict.fromkeys(wanted)]
