"""Searching banked region signals: every banked photo compared with the upload
(``compare``), the best ``limit`` kept. Linear in the bank: the reference a
candidate index must agree with."""

from __future__ import annotations

from veil.regions.compare import RegionMatch, compare
from veil.regions.features import Features


class RegionIndex:
    def __init__(self) -> None:
        self._features: dict[int, Features] = {}

    def __len__(self) -> int:
        return len(self._features)

    def add(self, key: int, features: Features) -> None:
        self._features[key] = features

    def add_many(self, keys: list[int], features: list[Features]) -> None:
        for k, f in zip(keys, features, strict=True):
            self.add(k, f)

    def remove(self, key: int) -> None:
        self._features.pop(key, None)

    def search(self, query: Features, *, limit: int = 8) -> list[tuple[int, RegionMatch]]:
        found = [(k, m) for k, f in self._features.items()
                 if (m := compare(f, query)) is not None]
        found.sort(key=lambda km: -km[1].inliers)
        return found[:limit]
