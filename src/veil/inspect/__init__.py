"""What a media file declares about its origin: C2PA, XMP, EXIF, PNG text, watermarks.

``inspect_bytes`` reads the bytes already in memory (the service's upload, a file
``veil inspect`` read) within ``MediaLimits``: the C2PA library reads files up to
``ProvenanceLimits.c2pa_max_bytes``, the watermark decoder images up to
``watermark_max_pixels``, and everything else reads the header only. Observations
are declarations, never proof: docs/provenance.md says what each survives.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from veil.config import MediaLimits, ProvenanceLimits
from veil.errors import MediaError
from veil.inspect import manifest, metadata, watermark
from veil.inspect.manifest import C2paState
from veil.inspect.observation import AI_SOURCE_TYPES, Observation, make
from veil.media.source import Media

__all__ = ["AI_SOURCE_TYPES", "Inspection", "Observation", "inspect_bytes", "inspect_media"]


@dataclass(frozen=True)
class Inspection:
    c2pa: C2paState
    observations: tuple[Observation, ...] = ()
    #: Checks that could not run and why (a library not installed, an image too large).
    skipped: tuple[str, ...] = field(default=())

    @property
    def declares_ai(self) -> bool:
        return any(o.declares_ai for o in self.observations)

    def as_json(self) -> dict[str, object]:
        return {"c2pa": self.c2pa, "declares_ai": self.declares_ai,
                "observations": [o.as_json() for o in self.observations],
                "skipped": list(self.skipped)}


def inspect_bytes(data: bytes, limits: MediaLimits, provenance: ProvenanceLimits,
                  name: str | None = None, *, watermarks: bool = True) -> Inspection:
    """Raises ``VeilError`` for what ``Media`` refuses (not an image, over the limits).
    ``watermarks``: also decode the pixels and look for generators' marks (the one
    costly check: everything else reads metadata)."""
    return inspect_media(Media.from_bytes(data, limits, name), provenance,
                         watermarks=watermarks)


def inspect_media(media: Media, provenance: ProvenanceLimits, *,
                  watermarks: bool = True) -> Inspection:
    found: list[Observation] = []
    skipped: list[str] = []
    state: C2paState = "not_checked"
    if manifest.available():
        state, seen = manifest.read(media.data, provenance.c2pa_max_bytes)
        found += seen
    else:
        skipped.append("c2pa: c2pa-python is not installed")
    found += metadata.xmp_source_types(media.data)
    try:
        found += metadata.header_metadata(Image.open(io.BytesIO(media.data)))
    except (OSError, ValueError, SyntaxError) as exc:  # Media opened it: a chunk it skipped
        found.append(make("png" if media.pil_format == "PNG" else "exif", "unreadable",
                          f"{type(exc).__name__}: {exc}"))
    if watermarks:
        found += _watermarks(media, provenance, skipped)
    else:
        skipped.append("watermark: not checked on scans (VEIL_PROVENANCE_SCAN_WATERMARKS)")
    return Inspection(state, tuple(found), tuple(skipped))


def _watermarks(media: Media, provenance: ProvenanceLimits,
                skipped: list[str]) -> list[Observation]:
    if not watermark.available():
        skipped.append("watermark: invisible-watermark (with opencv-python-headless and "
                       "PyWavelets) is not installed")
        return []
    if media.pixels < watermark.MIN_PIXELS:
        skipped.append("watermark: image under 256 × 256, too small to carry a mark")
        return []
    if media.pixels > provenance.watermark_max_pixels:
        skipped.append(f"watermark: image over {provenance.watermark_max_pixels:,} pixels "
                       "(VEIL_PROVENANCE_WATERMARK_MAX_PIXELS), not checked")
        return []
    try:
        with media.decoding():
            bgr = np.ascontiguousarray(media.rgb[:, :, ::-1])
    except MediaError as exc:  # truncated pixels, or a decode that must wait (media.busy)
        skipped.append(f"watermark: {exc.message}")
        return []
    except MemoryError:
        skipped.append("watermark: not enough memory to decode the image")
        return []
    return [make("watermark", "mark", f"{mark.name}, {errors} of {len(mark.bits)} bits off",
                 declares_ai=True) for mark, errors in watermark.read_marks(bgr)]
