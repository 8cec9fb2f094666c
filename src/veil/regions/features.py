"""Local features of a picture: ORB keypoints spread over a grid.

A picture is seen at a working size (its longer side ``WORK_SIDE`` pixels), so the
same photo re-shared at another resolution gives comparable keypoints, and a 12 MP
photo costs what a thumbnail does. Keypoints are kept per cell of a grid, strongest
first, instead of the strongest of the whole picture: a derived fake replaces a large
part of the photo, and the keypoints that can still agree are those of the parts it
kept (face, background), which a global top-N would leave out whenever the replaced
part is the busiest. OpenCV's ORB (FAST corners, rotated BRIEF) is the reference
implementation; Veil only chooses which keypoints to keep.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    import cv2

    from veil.media.source import Media

#: Longer side of the working picture, in pixels. 512 keeps a tilt, a crop to 60 %
#: or a screenshot at half the screen's width with enough detail to match
#: (docs/derived.md), and bounds the cost of any upload.
WORK_SIDE = 512
#: FAST corner threshold: OpenCV's default (20) finds too few corners in smooth
#: photos (skin, sky) once they are re-encoded.
FAST_THRESHOLD = 10
#: ORB's pyramid: 8 levels at 1.2× cover a photo shown at 0.25–1× of its size.
N_LEVELS = 8
SCALE_FACTOR = 1.2
#: Candidates detected before the grid picks; several times what is kept so that
#: every cell has a choice.
DETECT_POINTS = 3000
#: Bytes of an ORB descriptor (256 bits).
DESCRIPTOR_BYTES = 32
#: What a banked picture keeps: 256 keypoints, the strongest of each cell of a 4×4
#: grid in turn. 128 let two pairs of distinct corpus photos agree; 256 none
#: (docs/derived.md).
BANK_POINTS = 256
BANK_GRID = 4
#: What an upload is searched with: more keypoints over a finer grid (a chat
#: screenshot's photo covers a few cells of the screen), at up to twice the working
#: side (a photo at half a tall screenshot's width is still 250 pixels wide).
QUERY_POINTS = 1000
QUERY_GRID = 6
QUERY_MAX_SIDE = 1024
#: Shortest working side worth searching: ORB's 31-pixel patch must fit.
MIN_SIDE = 32


@dataclass(frozen=True, slots=True)
class Features:
    """Keypoints of one picture, in working-picture pixels (``x`` right, ``y`` down),
    with the size of that picture and its scale to the original's pixels."""

    points: np.ndarray  # (n, 2) float32
    descriptors: np.ndarray  # (n, 32) uint8
    work_size: tuple[int, int]  # (width, height) of the working picture
    scale: float  # original pixels per working pixel

    def __len__(self) -> int:
        return int(self.points.shape[0])


def working_picture(grey: np.ndarray, side: int = WORK_SIDE) -> tuple[np.ndarray, float]:
    """The picture with its longer side ``side`` pixels, and the scale back to
    ``grey``'s pixels."""
    import cv2

    h, w = grey.shape
    scale = max(h, w) / side
    if abs(scale - 1.0) < 0.02:
        return np.ascontiguousarray(grey, dtype=np.uint8), 1.0
    size = (max(1, round(w / scale)), max(1, round(h / scale)))
    # INTER_AREA averages every source pixel: no aliasing that would invent corners
    small = cv2.resize(grey, size, interpolation=cv2.INTER_AREA if scale > 1 else cv2.INTER_LINEAR)
    return small, max(h / size[1], w / size[0])


def extract(grey: np.ndarray, *, keep: int, grid: int, side: int = WORK_SIDE) -> Features:
    """At most ``keep`` keypoints of a grey picture (uint8, 2-D), the strongest of each
    of ``grid``×``grid`` cells in turn."""
    import cv2

    small, scale = working_picture(grey, side)
    h, w = small.shape
    if min(h, w) < MIN_SIDE:
        # a strip (a 2×4000 banner): no patch fits, and ORB's pyramid would shrink a
        # side to nothing; it has no region signal, only its hashes
        return _empty((w, h), scale)
    orb = cv2.ORB.create(nfeatures=DETECT_POINTS, scaleFactor=SCALE_FACTOR,
                         nlevels=N_LEVELS, fastThreshold=FAST_THRESHOLD, edgeThreshold=15,
                         patchSize=31)
    try:
        found = orb.detect(small, None)
        chosen = spread(found, keep=keep, grid=grid, size=(w, h))
        if not chosen:
            return _empty((w, h), scale)
        kept, desc = orb.compute(small, chosen)
    except cv2.error:
        # OpenCV refusing a picture Veil decoded must not fail the scan: its hashes
        # still stand, it just has no region signal
        return _empty((w, h), scale)
    if desc is None or not kept:
        return _empty((w, h), scale)
    points = np.array([k.pt for k in kept], dtype=np.float32).reshape(-1, 2)
    return Features(points, np.ascontiguousarray(desc, dtype=np.uint8), (w, h), scale)


def for_bank(grey: np.ndarray) -> Features:
    """The features a bank keeps of a picture."""
    return extract(grey, keep=BANK_POINTS, grid=BANK_GRID)


def for_query(grey: np.ndarray) -> Features:
    """The features an upload is searched with."""
    return extract(grey, keep=QUERY_POINTS, grid=QUERY_GRID, side=query_side(grey.shape))


def bank_features(media: Media) -> Features:
    """A banked file's features, decoded no larger than they need."""
    return for_bank(grey_at(media, WORK_SIDE))


def query_features(media: Media) -> Features:
    """An upload's features, decoded no larger than they need."""
    w, h = media.stored_size
    return for_query(grey_at(media, query_side((h, w))))


#: The names under which ``veil.signals.batch`` computes region features beside
#: hashes: ``region`` is what a bank keeps of a photo (``veil protect``), and
#: ``region-query`` what an upload is searched with (a scan, when a bank holds
#: region signals). Features are not hashes: they travel in ``FileSignals.features``.
BANK = "region"
QUERY = "region-query"
EXTRACTORS: dict[str, Callable[[Media], Features]] = {}
#: What a dihedral scan (``?dihedral=true``, ``veil scan --dihedral``) adds to an
#: extractor: ORB turns with a picture but does not mirror with it, so a mirrored
#: copy is searched with the features of the upload mirrored back (its points in
#: that mirrored frame: the matcher flips the boxes it reports).
QUERY_MIRRORED = "region-query-mirrored"
MIRRORED: dict[str, tuple[str, Callable[[Media], Features]]] = {}


def mirrored_query_features(media: Media) -> Features:
    """The features of the upload mirrored left to right."""
    w, h = media.stored_size
    grey = grey_at(media, query_side((h, w)))
    return for_query(np.ascontiguousarray(grey[:, ::-1]))


def grey_at(media: Media, side: int) -> np.ndarray:
    """The picture in grey, decoded by the JPEG codec at the smallest scale (1/2–1/8)
    that still leaves its longer side at least ``side``: a 12 MP photo's features
    cost an eighth of a full decode."""
    longer = max(media.stored_size)
    factor = next((k for k in (8, 4, 2) if longer // k >= side and media.can_reduce(k)), 1)
    return np.asarray(media.grey(factor), dtype=np.uint8)


def query_side(shape: tuple[int, ...]) -> int:
    """An upload's working side: small pictures are enlarged to ``WORK_SIDE`` (so
    ORB's pyramid sees them at a banked picture's scale), large ones shrunk to at
    most ``QUERY_MAX_SIDE``."""
    return min(QUERY_MAX_SIDE, max(WORK_SIDE, max(shape[:2])))


def spread(found: Sequence[cv2.KeyPoint], *, keep: int, grid: int,
           size: tuple[int, int]) -> list[cv2.KeyPoint]:
    """Round-robin over the cells of a grid, each cell's keypoints strongest first,
    until ``keep`` are chosen: every part of the picture is represented as far as
    it has corners at all."""
    if len(found) <= keep:
        return list(found)
    w, h = size
    cells: dict[int, list[cv2.KeyPoint]] = {}
    for kp in sorted(found, key=lambda k: -k.response):
        x, y = kp.pt
        cell = min(grid - 1, int(y * grid / h)) * grid + min(grid - 1, int(x * grid / w))
        cells.setdefault(cell, []).append(kp)
    chosen: list[cv2.KeyPoint] = []
    depth = 0
    while len(chosen) < keep:
        added = False
        for bucket in cells.values():
            if depth < len(bucket):
                chosen.append(bucket[depth])
                added = True
                if len(chosen) == keep:
                    break
        if not added:
            break
        depth += 1
    return chosen


def _empty(size: tuple[int, int], scale: float) -> Features:
    return Features(np.zeros((0, 2), np.float32), np.zeros((0, DESCRIPTOR_BYTES), np.uint8),
                    size, scale)


EXTRACTORS.update({BANK: bank_features, QUERY: query_features})
MIRRORED[QUERY] = (QUERY_MIRRORED, mirrored_query_features)
