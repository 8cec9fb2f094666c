"""What the harness compares: every registered signal type as it is, plus
``<name>_dihedral`` for each type that can hash the 8 rotations/mirrors of an image.

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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from veil.errors import BadInput
from veil.media.source import Media
from veil.signals import SignalType, all_types
from veil.signals.base import Signal

DIHEDRAL_SUFFIX = "_dihedral"

#: Media → the signal of each variant of the image; variant 0 is the plain signal.
VariantsFn = Callable[[Media], Sequence[Signal]]


class Fingerprints:
    """One decoded image's signals and variants, each computed at most once, so a
    type's plain and dihedral modes share the work."""

    def __init__(self, media: Media) -> None:
        self.media = media
        self._signals: dict[str, Signal] = {}
        self._variants: dict[str, tuple[str, ...]] = {}

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


@dataclass(frozen=True, slots=True)
class Mode:
    name: str
    base: SignalType
    variants: VariantsFn | None = field(default=None, compare=False)

    @property
    def bits(self) -> int:
        return self.base.bits

    @property
    def perceptual(self) -> bool:
        return self.base.perceptual

    @property
    def default_threshold(self) -> int:
        return self.base.default_threshold

    def reference(self, fp: Fingerprints) -> str:
        """What a bank would hold for this image: the plain signal."""
        return fp.signal(self.base).value

    def query(self, fp: Fingerprints) -> tuple[str, ...]:
        """What is looked up for this image: the plain signal, or all its variants."""
        if self.variants is None:
            return (fp.signal(self.base).value,)
        return fp.variants(self.base, self.variants)

    def distance(self, query: Sequence[str], reference: str) -> int:
        return min(self.base.distance(q, reference) for q in query)


def available() -> list[Mode]:
    modes: list[Mode] = []
    for t in all_types():
        if not t.of_stills:
            continue  # vPDQ of a still is its PDQ: measured once, as pdq
        modes.append(Mode(t.name, t))
        if t.variants:
            modes.append(Mode(t.name + DIHEDRAL_SUFFIX, t, t.compute_variants))
    return modes


def default_names() -> list[str]:
    """Every perceptual mode. Exact digests are left out: a re-encoded copy never
    matches them, which needs no measuring (ask for them by name to include them)."""
    return [m.name for m in available() if m.perceptual]


def resolve(names: Sequence[str] | None = None) -> list[Mode]:
    by_name = {m.name: m for m in available()}
    wanted = list(names) if names else default_names()
    unknown = [n for n in wanted if n not in by_name]
    if unknown:
        raise BadInput(f"unknown signal {', '.join(map(repr, unknown))}; available: "
                       f"{', '.join(by_name)}", code="signal.unknown")
    return [by_name[n] for n in dict.fromkeys(wanted)]
