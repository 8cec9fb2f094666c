"""Hash one file into a picklable result: what a scan worker process runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from veil.config import MediaLimits
from veil.errors import VeilError
from veil.media.source import Media
from veil.signals.base import Signal, variants_of
from veil.signals.registry import get


@dataclass(frozen=True, slots=True)
class FileSignals:
    path: str
    signals: tuple[Signal, ...] = ()
    format: str | None = None
    size: tuple[int, int] | None = None
    warnings: tuple[str, ...] = ()
    error_code: str | None = None
    error_message: str | None = None
    variants: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error_code is None


def hash_media(media: Media, signal_names: tuple[str, ...], *, dihedral: bool = False,
               label: str | None = None) -> FileSignals:
    """Compute ``signal_names`` (with variants, where offered, if ``dihedral``)."""
    sigs = []
    variants: dict[str, tuple[str, ...]] = {}
    for name in signal_names:
        st = get(name)
        fn = variants_of(st) if dihedral else None
        if fn is None:
            sigs.append(st.compute(media))
        else:
            found = fn(media)
            sigs.append(found[0])
            variants[name] = tuple(v.value for v in found)
    return FileSignals(label or media.name or "", tuple(sigs), media.format, media.size,
                       tuple(media.warnings), variants=variants)


def hash_file(path: str | Path, limits: MediaLimits, signal_names: tuple[str, ...],
              dihedral: bool = False) -> FileSignals:
    """``hash_media`` of one file, for a worker process: errors become data."""
    try:
        return hash_media(Media.from_path(path, limits), signal_names, dihedral=dihedral,
                          label=str(path))
    except VeilError as exc:
        return FileSignals(str(path), error_code=exc.code, error_message=exc.message)
    except MemoryError:
        return FileSignals(str(path), error_code="media.too_large",
                           error_message="not enough memory to decode this file")
