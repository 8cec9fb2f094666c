"""Media → signals → verdict: what ``POST /v1/scan`` and ``veil scan`` both run.

``scan_bytes`` takes one upload in memory; ``scan_paths`` takes files and folders,
hashes them in worker processes (``veil.signals.batch.hash_paths``) and decides
each in this process. Both compute the same signals (``BankMatcher.scan_names``)
and reach the same verdict through ``BankMatcher.verdict``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from veil.errors import VeilError
from veil.inspect import inspect_bytes
from veil.matching.matcher import BankMatcher
from veil.media.discover import Skipped
from veil.signals.batch import FileSignals, hash_bytes, hash_paths, hash_video_path
from veil.verdict import Verdict


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


def scan_paths(paths: list[Path], matcher: BankMatcher, *, workers: int,
               dihedral: bool = False,
               thresholds: Mapping[str, int] | None = None) -> Iterator[ScanResult | Skipped]:
    """Every media file under ``paths``, hashed in ``workers`` processes and decided
    here, in discovery order; what was skipped is yielded too, with its reason."""
    for item in hash_paths(paths, matcher.settings.media, matcher.scan_names(),
                           workers=workers, dihedral=dihedral):
        if isinstance(item, Skipped):
            yield item
        elif not item.ok:
            yield ScanResult(item, None)
        else:
            verdict = matcher.verdict(item, thresholds)
            if item.video is not None and item.format not in ("gif", "webp"):
                yield ScanResult(item, verdict.observing(()))  # as scan_video
            else:
                yield ScanResult(item, _observed_path(Path(item.path), matcher, verdict))


def _observed_path(path: Path, matcher: BankMatcher, verdict: Verdict) -> Verdict:
    # read again here: the worker processes hash (veil.signals cannot reach veil.inspect),
    # and a file that changed since it was hashed is reported, not trusted
    try:
        with path.open("rb") as fh:
            data = fh.read(matcher.settings.media.max_bytes + 1)
        return _observed(data, matcher, verdict)
    except (OSError, VeilError):
        return verdict.observing(())
