"""The small protocol every signal type implements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:
    from veil.media.source import Media


@dataclass(frozen=True, slots=True)
class Signal:
    """One computed fingerprint: type name, lowercase hex value, optional quality."""

    type: str
    value: str
    quality: int | None = None

    def as_dict(self) -> dict[str, object]:
        d: dict[str, object] = {"signal": self.type, "value": self.value}
        if self.quality is not None:
            d["quality"] = self.quality
        return d


@runtime_checkable
class SignalType(Protocol):
    """A kind of fingerprint. Implementations are stateless singletons."""

    #: Registry name, used in API, CLI, banks and files (``pdq``, ``md5`` ...).
    name: ClassVar[str]
    #: Length of the hash in bits; distances are Hamming bits in 0..bits.
    bits: ClassVar[int]
    #: True when near (not only equal) values mean the same media.
    perceptual: ClassVar[bool]

    def default_threshold(self) -> int:
        """Largest distance that counts as a match by default (from config)."""
        ...

    def compute(self, media: Media) -> Signal:
        """Fingerprint decoded media. Raises ``MediaError`` subclasses."""
        ...

    def parse(self, value: str) -> str:
        """Validate and normalise a serialized value (lowercase hex) or raise BadHash."""
        ...

    def distance(self, a: str, b: str) -> int:
        """Hamming distance in bits between two normalised values."""
        ...


def variants_of(signal_type: SignalType) -> Callable[[Media], list[Signal]] | None:
    """The optional ``compute_variants(media)`` capability: the signal of each
    rotation/mirror of an image, variant 0 being ``compute``'s. None if not offered."""
    fn = getattr(signal_type, "compute_variants", None)
    return fn if callable(fn) else None
