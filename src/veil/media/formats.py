"""Which container formats Veil decodes, and how to open them with Pillow safely."""

from __future__ import annotations

import warnings

from PIL import Image, features

_registered = False


def register_plugins() -> None:
    """Register optional decoders once (HEIC/HEIF and AVIF through pillow-heif)."""
    global _registered
    if _registered:
        return
    # Pillow's own bomb check warns at 89 MP and raises at 179 MP; Veil applies its
    # own configured limit from the header instead (veil.config.MediaLimits).
    Image.MAX_IMAGE_PIXELS = None
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        # Pillow >= 11 decodes AVIF itself; older builds get it from pillow-heif.
        # (asked of the AVIF plugin alone: ``Image.registered_extensions`` would import
        # every Pillow plugin, 30-60 ms of each hashing worker's start)
        has_avif = "avif" in features.modules and features.check_module("avif")
        if not has_avif and hasattr(pillow_heif, "register_avif_opener"):
            pillow_heif.register_avif_opener()
    except Exception:  # pragma: no cover - optional codec missing on this machine
        pass
    _registered = True


#: Pillow format names Veil accepts, mapped to the name Veil reports.
ACCEPTED: dict[str, str] = {
    "JPEG": "jpeg",
    "MPO": "jpeg",  # multi-picture JPEG written by many phone cameras
    "PNG": "png",
    "WEBP": "webp",
    "GIF": "gif",
    "BMP": "bmp",
    "DIB": "bmp",
    "TIFF": "tiff",
    "HEIF": "heif",
    "AVIF": "avif",
}

#: Human-readable list for error messages.
ACCEPTED_TEXT = "JPEG, PNG, WebP, GIF, BMP, TIFF, HEIC/HEIF, AVIF"

#: Formats whose decoder can produce a reduced (DCT-scaled) image cheaply.
DCT_SCALABLE = frozenset({"JPEG", "MPO"})
