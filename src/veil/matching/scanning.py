"""Media → signals → verdict: what ``POST /v1/scan`` and ``veil scan`` both run.

``scan_bytes`` takes one upload in memory; ``scan_paths`` takes files and folders,
hashes them and reads their origin in worker processes (``start_scan``, a
``veil.signals.batch.HashingPool``) and decides each in this process
(``scan_results``); ``veil scan`` calls those two itself, to start the workers
before it loads the matcher. Both compute the same signals
(``BankMatcher.scan_names``) and reach the same verdict through
``BankMatcher.verdict``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from veil.config import MediaLimits, ProvenanceLimits, Settings
from veil.errors import VeilError
from veil.inspect import inspect_bytes
from veil.inspect.observation import Observation
from veil.matching.matcher import BankMatcher
from veil.media.discover import Skipped
from veil.signals import all_types
from veil.signals.batch import (
    FileSignals,
    HashingPool,
    hash_bytes,
    hash_file,
    hash_video_path,
)
from veil.verdict import Verdict

#: Files handed to each worker as soon as a scan starts: enough to keep it busy while
#: the caller loads the matcher (``veil scan``: importing and opening the store, about
#: 0.3 s; 12 MP photos hash at about 15 ms each), few enough to hold in memory.
AHEAD_PER_WORKER = 32


@dataclass(frozen=True)
class ScanResult:
    file: FileSignals
    #: None when the file could not be hashed (``file.error_code`` says why).
    verdict: Verdict | None


def scan_bytes(data: bytes, matcher: BankMatcher, *, dihedral: bool = False,
               thresholds: Mapping[str, int] | None = None,
               label: str | None = None) -> ScanResult:
    """Hash ``data`` (in memory; nothing is written) and decide. Raises ``VeilError``
    for media that cannot be decoded."""
    file = hash_bytes(data, matcher.settings.media, matcher.scan_names(), dihedral=dihedral,
                      label=label)
    return ScanResult(file, _observed(data, matcher, matcher.verdict(file, thresholds)))


def scan_video(path: Path, fmt: str, matcher: BankMatcher, *,
               thresholds: Mapping[str, int] | None = None,
               label: str | None = None) -> ScanResult:
    """Hash the container video at ``path`` (MP4/MOV/WebM/MKV; ``fmt`` as
    ``veil.media.video.sniff`` named it) and decide. Raises ``VeilError`` for media that
    cannot be decoded. Provenance is not read from videos (docs/provenance.md)."""
    file = hash_video_path(path, fmt, matcher.settings.media, matcher.scan_names(),
                           label=label)
    return ScanResult(file, matcher.verdict(file, thresholds).observing(()))


def _observed(data: bytes, matcher: BankMatcher, verdict: Verdict) -> Verdict:
    """``verdict`` with the observations of the file's bytes (already hashed, so
    ``Media`` has accepted them)."""
    settings = matcher.settings
    seen = inspect_bytes(data, settings.media, settings.provenance,
                         watermarks=settings.provenance.scan_watermarks)
    return verdict.observing(seen.observations, settings.declared_ai_action)


#: What a scan worker returns for a file: its signals, and what its bytes declare about
#: their origin (None where they are not read: a file that could not be hashed, a video).
Hashed = tuple[FileSignals, tuple[Observation, ...] | None]


def _hash_and_inspect(path: Path, limits: MediaLimits, signal_names: tuple[str, ...],
                      dihedral: bool, provenance: ProvenanceLimits) -> Hashed:
    """A scan worker's part for one file: its signals, then its origin read from the
    file again (``veil.signals`` cannot reach ``veil.inspect``, and a file that changed
    since it was hashed is reported, not trusted)."""
    file = hash_file(path, limits, signal_names, dihedral)
    if not file.ok or (file.video is not None and file.format not in ("gif", "webp")):
        return file, None  # a video's origin is not read, as scan_video
    try:
        with path.open("rb") as fh:
            data = fh.read(limits.max_bytes + 1)
        seen = inspect_bytes(data, limits, provenance, watermarks=provenance.scan_watermarks)
    except (OSError, VeilError):
        return file, ()
    return file, seen.observations


def start_scan(paths: list[Path], settings: Settings, *, workers: int,
               dihedral: bool = False) -> HashingPool[Hashed]:
    """The worker processes' part of ``scan_paths``, started now: made before the
    matcher is, the pool hashes while the caller loads it (``scan_results`` then takes
    the results). Until the matcher says which signals the banks hold, the workers
    compute those every scan reports (``SignalType.always_scanned``); a bank of any
    other signal makes the files handed out before then hashed again."""
    always = tuple(t.name for t in all_types() if t.always_scanned)
    return HashingPool(paths, settings.media, always,
                       partial(_hash_and_inspect, provenance=settings.provenance),
                       workers=workers, dihedral=dihedral, ahead=AHEAD_PER_WORKER)


def scan_results(hashing: HashingPool[Hashed], matcher: BankMatcher, *,
                 thresholds: Mapping[str, int] | None = None,
                 ) -> Iterator[ScanResult | Skipped]:
    """Each file's verdict (or its error, or why it was skipped), in discovery order."""
    for item in hashing.results(matcher.scan_names()):
        if isinstance(item, Skipped):
            yield item
            continue
        file, observations = item
        if not file.ok:
            yield ScanResult(file, None)
            continue
        verdict = matcher.verdict(file, thresholds)
        if observations is None:
            yield ScanResult(file, verdict.observing(()))
        else:
            yield ScanResult(file, verdict.observing(observations,
                                                     matcher.settings.declared_ai_action))


def scan_paths(paths: list[Path], matcher: BankMatcher, *, workers: int,
               dihedral: bool = False,
               thresholds: Mapping[str, int] | None = None) -> Iterator[ScanResult | Skipped]:
    """Every media file under ``paths``, hashed (and its origin read) in ``workers``
    processes and decided here, in discovery order; what was skipped is yielded too,
    with its reason."""
    with start_scan(paths, matcher.settings, workers=workers, dihedral=dihedral) as hashing:
        yield from scan_results(hashing, matcher, thresholds=thresholds)
