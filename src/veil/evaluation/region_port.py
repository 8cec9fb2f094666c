"""How close two region signals of the same picture are (the browser's against the
server's, docs/derived.md "In the browser").

Keypoints are paired by place: one of the first signal's is "kept" when one of the
second's lies within ``NEAR_PX`` working pixels (a blob's positions are quantised to
about 2 pixels). Several pyramid levels can find a corner at the same place, so its
descriptor is compared with the closest (fewest differing bits) of those near it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from veil.regions.features import Features

#: Two keypoints this close (working pixels) are the same corner.
NEAR_PX = 2.0


@dataclass(frozen=True, slots=True)
class Agreement:
    #: Share of the first signal's keypoints with one of the second's near them.
    kept: float
    #: Mean and largest count of differing descriptor bits over those pairs.
    mean_bits: float
    max_bits: int


def agreement(a: Features, b: Features) -> Agreement:
    """How many of ``a``'s keypoints ``b`` also has, and how alike their descriptors are."""
    if len(a) == 0:
        return Agreement(1.0 if len(b) == 0 else 0.0, 0.0, 0)
    if len(b) == 0:
        return Agreement(0.0, 0.0, 0)
    dist = np.linalg.norm(a.points[:, None, :] - b.points[None, :, :], axis=2)
    bits = np.unpackbits(a.descriptors[:, None, :] ^ b.descriptors[None, :, :], axis=2).sum(axis=2)
    near = dist <= NEAR_PX
    kept = near.any(axis=1)
    best = np.where(near, bits, 257).min(axis=1)[kept]
    return Agreement(float(kept.mean()), float(best.mean()) if best.size else 0.0,
                     int(best.max()) if best.size else 0)
