"""The region key, and the sealing of stored region signals (``veil.sealing``:
AES-256-GCM, bound to the entry, ``veil-region-signal:v1:<entry id>``).

A region signal keeps keypoint positions and descriptors, more than a hash
(docs/derived.md, "Privacy"): the store keeps it sealed under
``VEIL_REGIONS_KEY`` when set, else ``$VEIL_HOME/region-signals.key``, created once
and owner-only, so a copy of the database alone holds no usable signal. It is
opened only in memory, where the region index is built.
"""

from __future__ import annotations

from veil.config import Settings
from veil.regions import blob
from veil.regions.features import Features
from veil.sealing import Sealer, load_key

KEY_FILE = "region-signals.key"


class RegionSealer(Sealer):
    """Seals and opens region signals with one key."""

    def __init__(self, key: bytes) -> None:
        super().__init__(key, purpose="veil-region-signal",
                         what="the region signal of entry")

    def seal_features(self, entry_id: int, features: Features) -> bytes:
        return self.seal(str(entry_id), blob.encode(features))

    def open_features(self, entry_id: int, sealed: bytes) -> Features:
        """The features of a sealed blob; ``SealBroken`` or ``BadInput``
        (``region.malformed``) when it does not open or does not read."""
        return blob.decode(self.open(str(entry_id), sealed))


def load_region_sealer(settings: Settings) -> RegionSealer:
    """The sealer of ``settings``: its configured key, else the key file in home."""
    return RegionSealer(load_key(settings.regions.key.get_secret_value(), settings.home,
                                 KEY_FILE, variable="VEIL_REGIONS_KEY", label="region"))


