"""What every signal type is: a name, a hash length, and its capabilities.

A signal type is one class deriving from ``SignalType``, registered in
``registry``. Generic code (matching, verdicts, intake, the CLI, the evaluation)
asks the type what it can do instead of testing its name:

* ``exact_digest``: a digest of the bytes (md5, sha256): values match only when
  equal, and a match means "identical file";
* ``default_threshold`` / ``max_threshold``: the published match distance and the
  largest a caller may ask for (``Settings.thresholds`` overrides the default);
* ``min_quality``: hashes below this quality are neither banked nor matched
  (``None``: the type has no quality);
* ``variants``: the rotations/mirrors ``compute_variants`` hashes, variant 0 being
  ``compute``'s own (empty: the type has none);
* ``victim_submittable``: people may submit it at intake (their browser computes it);
* ``always_scanned``: a scan reports it even when no bank holds it;
* ``of_stills``: worth listing for a still image (``veil hash``'s default set);
  vPDQ is a video's, and a still's vPDQ is just its PDQ.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from veil.signals.hexhash import hamming_hex, parse_hex

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


@dataclass(frozen=True, slots=True)
class Variant:
    """One transformed copy a type can hash: ``key`` for machines (API, JSON),
    ``label`` for people (tables, verdict reasons)."""

    key: str
    label: str


class SignalType(ABC):
    """A kind of fingerprint. Implementations are stateless singletons."""

    #: Registry name, used in API, CLI, banks and files (``pdq``, ``md5`` ...).
    name: ClassVar[str]
    #: Length of the hash in bits; distances are Hamming bits in 0..bits.
    bits: ClassVar[int]
    #: A digest of the exact bytes: only equal values match.
    exact_digest: ClassVar[bool] = False
    #: Largest distance that counts as a match unless configured otherwise.
    default_threshold: ClassVar[int] = 0
    #: Largest threshold a caller may ask for (``bits``: any).
    max_threshold: ClassVar[int]
    #: Hashes below this quality are not banked or matched; None: no quality.
    min_quality: ClassVar[int | None] = None
    #: What ``compute_variants`` returns, in order; variant 0 is the hash as computed.
    variants: ClassVar[tuple[Variant, ...]] = ()
    #: Accepted from people at intake (their browser can compute it).
    victim_submittable: ClassVar[bool] = False
    #: Reported by every scan, even when no bank holds this type.
    always_scanned: ClassVar[bool] = False
    #: Listed for still images by default (``veil hash``).
    of_stills: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "bits" in cls.__dict__ and "max_threshold" not in cls.__dict__:
            cls.max_threshold = cls.bits

    @property
    def perceptual(self) -> bool:
        """Near (not only equal) values mean the same media."""
        return not self.exact_digest

    @abstractmethod
    def compute(self, media: Media) -> Signal:
        """Fingerprint decoded media. Raises ``MediaError`` subclasses."""

    def compute_variants(self, media: Media) -> list[Signal]:
        """The signal of each of ``variants`` (the first is ``compute``'s)."""
        raise NotImplementedError(f"{self.name} has no variants")

    def parse(self, value: object) -> str:
        """Validate and normalise a serialized value (lowercase hex) or raise BadHash."""
        return parse_hex(value, self.bits, self.name)

    def distance(self, a: str, b: str) -> int:
        """Hamming distance in bits between two normalised values."""
        return hamming_hex(a, b)

    def variant(self, index: int) -> Variant:
        return self.variants[index] if self.variants else Variant("original", "as sent")
