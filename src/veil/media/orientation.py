"""EXIF orientation (tag 0x0112) as a dihedral transform of pixel arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

# EXIF value -> (transpose, flip rows, flip cols) applied to the stored array to get
# the displayed one: transpose first, then the flips.
_TRANSFORMS: dict[int, tuple[bool, bool, bool]] = {
    1: (False, False, False),
    2: (False, False, True),  # mirrored horizontally
    3: (False, True, True),  # rotated 180
    4: (False, True, False),  # mirrored vertically
    5: (True, False, False),  # transpose
    6: (True, False, True),  # rotated 90 CW to display
    7: (True, True, True),  # transverse
    8: (True, True, False),  # rotated 90 CCW to display
}


@dataclass(frozen=True, slots=True)
class Orientation:
    value: int = 1

    def __post_init__(self) -> None:
        if self.value not in _TRANSFORMS:
            raise ValueError(f"EXIF orientation must be 1..8, got {self.value}")

    @property
    def transposed(self) -> bool:
        return _TRANSFORMS[self.value][0]

    @property
    def flip_rows(self) -> bool:
        """Displayed rows run bottom-to-top relative to the (transposed) stored array."""
        return _TRANSFORMS[self.value][1]

    @property
    def flip_cols(self) -> bool:
        return _TRANSFORMS[self.value][2]

    def oriented_size(self, width: int, height: int) -> tuple[int, int]:
        return (height, width) if self.transposed else (width, height)

    def apply(self, arr: np.ndarray) -> np.ndarray:
        """Orient a (rows, cols[, channels]) array as a viewer displays it."""
        out = arr.swapaxes(0, 1) if self.transposed else arr
        if self.flip_rows:
            out = out[::-1]
        if self.flip_cols:
            out = out[:, ::-1]
        return out

    def apply_pil(self, img: Image.Image) -> Image.Image:
        arr = np.asarray(img)
        return Image.fromarray(np.ascontiguousarray(self.apply(arr)), img.mode)
