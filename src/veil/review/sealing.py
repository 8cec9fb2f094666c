"""The media key, and the sealing of review media (``veil.sealing``: AES-256-GCM,
bound to the item's id, ``veil-review-media:v1:<item id>``).

The key: ``VEIL_REVIEW_MEDIA_KEY`` (base64 of 32 bytes) when set, else
``$VEIL_HOME/review-media.key``, created once and owner-only. The plaintext is only
ever in memory: sealing takes bytes and returns bytes, nothing is written in between.
"""

from __future__ import annotations

from veil.config import Settings
from veil.sealing import SealBroken as _SealBroken
from veil.sealing import Sealer, load_key

KEY_FILE = "review-media.key"


class SealBroken(_SealBroken):
    """Sealed media that does not open with this key for this item (another key, a
    blob moved between items, or corruption)."""

    code = "review.media_unreadable"


class MediaSealer(Sealer):
    """Seals and opens review media with one key."""

    broken = SealBroken

    def __init__(self, key: bytes) -> None:
        super().__init__(key, purpose="veil-review-media", what="the media of review item")


def load_sealer(settings: Settings) -> MediaSealer:
    """The sealer of ``settings``: its configured key, else the key file in home."""
    return MediaSealer(load_key(settings.review.media_key.get_secret_value(), settings.home,
                                KEY_FILE, variable="VEIL_REVIEW_MEDIA_KEY",
                                label="review media"))
