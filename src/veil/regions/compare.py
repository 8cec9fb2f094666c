"""One banked picture against one upload: do their keypoints agree under one
geometric transform, and where do they disagree?

Descriptor matches alone say little (two photos of grass share corners); what makes
a match is that many of them agree on one similarity transform (shift, turn,
scale), found by RANSAC (OpenCV's ``estimateAffinePartial2D``, the reference).
Crops, borders, screenshots, captions and tilts are all such transforms of the
part that survived. The banked picture is then cut into a grid; a cell the
transform maps wholly inside the upload either holds agreeing keypoints, or lost
all of its own where the rest of the picture kept a share of theirs (content
replaced, flattened, blurred): joined with a neighbour of the same kind, that is
the differing region, in the upload's pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from veil.regions.features import Features

#: Share of a descriptor's bits (64 of ORB's 256) that may differ in a candidate
#: pair, and Lowe's ratio: the best match must be clearly better than the
#: second, or the pair is ambiguous (repeated texture).
MAX_DESCRIPTOR_SHARE = 0.25
RATIO = 0.8
#: RANSAC's reprojection tolerance, in working pixels (a 512-pixel picture).
REPROJECTION_PX = 5.0
#: Agreeing pairs that make a match. Between 19,800 pairs of distinct photos and
#: near-duplicates of other photos the most seen is 14 (docs/derived.md); 16 costs
#: next to no recall (12 let 0.09 % of those pairs through).
MIN_INLIERS = 16
#: A transform that shrinks or enlarges by more than this is not a re-share.
MAX_SCALE_CHANGE = 8.0
#: Cells of the banked picture's grid (``CELLS``×``CELLS``) the agreeing keypoints
#: must cover. Between distinct photos, pairs that reach 16 agree within one or two
#: cells (a patch of grass, fur or water that repeats): all 20 such pairs of the
#: corpus's 234,740 ordered pairs covered at most 3 cells, 19 of them 2, where 0.5 %
#: of edited and derived copies cover fewer than 4 (docs/derived.md).
MIN_CELLS = 4
#: The banked picture's grid for the differing region: 6×6 cells hold about 7
#: keypoints each, enough to tell a lost cell from bad luck (8×8 called fewer
#: replaced regions derived, docs/derived.md).
CELLS = 6
#: An agreeing pair is "derived" (content replaced) rather than an edited copy when
#: at least this share of the banked picture's visible cells differ.
DERIVED_MIN_DIFFER = 0.2
#: A cell with no agreeing keypoint is "differing" when, at the picture's own rate
#: of agreement, finding none of its keypoints agreeing would be this unlikely
#: (0.05 called a fifth more re-shares derived for the same derived copies found).
CELL_EVIDENCE = 0.01


class Box(NamedTuple):
    """A rectangle in the upload's pixels: left, top, width, height (a tuple, so
    ``veil.evaluation.derived.iou`` takes it as it is)."""

    x: int
    y: int
    w: int
    h: int

    def as_dict(self) -> dict[str, int]:
        return self._asdict()


@dataclass(frozen=True, slots=True)
class RegionMatch:
    """How one banked picture sits in an upload."""

    inliers: int
    #: 2×3 similarity from the banked picture's working pixels to the upload's.
    transform: np.ndarray
    #: Where the agreeing keypoints are, in the upload's pixels.
    agreeing: Box
    #: Where the banked picture's content is missing or replaced (None: nowhere).
    differing: Box | None
    #: Shares of the banked picture's visible cells that agree / differ.
    agree_share: float
    differ_share: float
    #: (CELLS, CELLS) booleans over the banked picture: which cells differ.
    differing_cells: np.ndarray

    @property
    def kind(self) -> str:
        """``derived`` when a large part of the banked picture was replaced, else
        ``copy``."""
        return "derived" if self.differ_share >= DERIVED_MIN_DIFFER else "copy"

    @property
    def score(self) -> float:
        """0–1: how sure the pairing is (not how much differs). 40 agreeing
        keypoints or more is certain."""
        return min(1.0, self.inliers / 40.0)


def candidate_pairs(bank: Features, query: Features) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (bank, query) of descriptors that pass the distance and ratio
    tests."""
    import cv2

    if len(bank) < 2 or len(query) < 2:
        empty = np.zeros(0, np.int64)
        return empty, empty
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    knn = matcher.knnMatch(query.descriptors, bank.descriptors, k=2)
    max_distance = MAX_DESCRIPTOR_SHARE * 8 * bank.descriptors.shape[1]
    b_idx: list[int] = []
    q_idx: list[int] = []
    for pair in knn:
        if len(pair) < 2:
            continue
        best, second = pair
        if best.distance <= max_distance and best.distance < RATIO * second.distance:
            b_idx.append(best.trainIdx)
            q_idx.append(best.queryIdx)
    return np.asarray(b_idx, np.int64), np.asarray(q_idx, np.int64)


def compare(bank: Features, query: Features, *, min_inliers: int = MIN_INLIERS,
            min_cells: int = MIN_CELLS) -> RegionMatch | None:
    """The banked picture's place in the upload, or None when fewer than
    ``min_inliers`` keypoint pairs agree, or they agree within fewer than
    ``min_cells`` cells of the banked picture (lower them only to measure: with
    ``min_inliers=0`` the agreeing count is a score, still 0 for pairs that agree
    in too few cells)."""
    import cv2

    b_idx, q_idx = candidate_pairs(bank, query)
    if b_idx.size < max(min_inliers, 3):
        return None
    src = bank.points[b_idx]
    dst = query.points[q_idx]
    transform, mask = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=REPROJECTION_PX,
        maxIters=2000, confidence=0.995)
    if transform is None or mask is None:
        return None
    inlier = mask.ravel().astype(bool)
    n = int(inlier.sum())
    scale = float(np.hypot(transform[0, 0], transform[1, 0]))
    if n < min_inliers or not (1 / MAX_SCALE_CHANGE <= scale <= MAX_SCALE_CHANGE):
        return None
    bw, bh = bank.work_size
    if np.unique(_cells(src[inlier], bw, bh)).size < min_cells:
        return None
    return _describe(bank, query, transform, b_idx[inlier], q_idx[inlier])


def _describe(bank: Features, query: Features, transform: np.ndarray,
              b_in: np.ndarray, q_in: np.ndarray) -> RegionMatch:
    bw, bh = bank.work_size
    qw, qh = query.work_size
    cell_of = _cells(bank.points, bw, bh)
    own = np.bincount(cell_of, minlength=CELLS * CELLS)
    agreeing = np.bincount(cell_of[b_in], minlength=CELLS * CELLS)
    visible = _visible_cells(transform, bw, bh, qw, qh)
    # how often a keypoint agrees where the picture was kept (cells with agreement);
    # a cell whose keypoints all failed where that rate says some should have
    # agreed lost its content (replaced, flattened, blurred), not just luck
    kept = agreeing > 0
    rate = float(agreeing[kept].sum()) / max(1, int(own[kept].sum()))
    chance_of_none = (1.0 - rate) ** own
    differs = _clustered(visible & (agreeing == 0) & (chance_of_none < CELL_EVIDENCE))
    agrees = visible & (agreeing > 0)
    n_visible = max(1, int(visible.sum()))
    cells = differs.reshape(CELLS, CELLS)
    return RegionMatch(
        inliers=int(b_in.size), transform=transform,
        agreeing=_box(query.points[q_in] * query.scale, query),
        differing=_cells_box(cells, transform, bank, query),
        agree_share=float(agrees.sum()) / n_visible,
        differ_share=float(differs.sum()) / n_visible,
        differing_cells=cells)


def _clustered(cells: np.ndarray) -> np.ndarray:
    """Only cells with a differing neighbour (left, right, above, below): an edit
    replaces a region, while lone cells are where a shrunken or blurred copy lost
    keypoints by chance."""
    grid = cells.reshape(CELLS, CELLS)
    near = np.zeros_like(grid)
    near[1:, :] |= grid[:-1, :]
    near[:-1, :] |= grid[1:, :]
    near[:, 1:] |= grid[:, :-1]
    near[:, :-1] |= grid[:, 1:]
    return (grid & near).ravel()


def _cells(points: np.ndarray, w: int, h: int) -> np.ndarray:
    if points.size == 0:
        return np.zeros(0, np.int64)
    cx = np.clip((points[:, 0] * CELLS / w).astype(np.int64), 0, CELLS - 1)
    cy = np.clip((points[:, 1] * CELLS / h).astype(np.int64), 0, CELLS - 1)
    return cy * CELLS + cx


def _visible_cells(transform: np.ndarray, bw: int, bh: int, qw: int, qh: int) -> np.ndarray:
    """Cells the transform maps wholly inside the upload: a cell cut by the upload's
    edge (a crop, a screenshot's rounded corner) has lost keypoints to the edge, not
    to an edit, and says nothing either way."""
    xs = np.arange(CELLS + 1) * bw / CELLS
    ys = np.arange(CELLS + 1) * bh / CELLS
    gx, gy = np.meshgrid(xs, ys)
    corners = _apply(transform, np.stack([gx.ravel(), gy.ravel()], axis=1))
    inside = ((corners[:, 0] >= -1) & (corners[:, 0] <= qw + 1)
              & (corners[:, 1] >= -1) & (corners[:, 1] <= qh + 1)).reshape(CELLS + 1, CELLS + 1)
    whole = inside[:-1, :-1] & inside[1:, :-1] & inside[:-1, 1:] & inside[1:, 1:]
    return whole.ravel()


def _cells_box(cells: np.ndarray, transform: np.ndarray, bank: Features,
               query: Features) -> Box | None:
    ys, xs = np.nonzero(cells)
    if ys.size == 0:
        return None
    bw, bh = bank.work_size
    cw, ch = bw / CELLS, bh / CELLS
    corners = np.concatenate([
        np.stack([xs * cw, ys * ch], axis=1), np.stack([(xs + 1) * cw, ys * ch], axis=1),
        np.stack([xs * cw, (ys + 1) * ch], axis=1),
        np.stack([(xs + 1) * cw, (ys + 1) * ch], axis=1)]).astype(np.float32)
    return _box(_apply(transform, corners) * query.scale, query)


def _box(points: np.ndarray, query: Features) -> Box:
    qw, qh = query.work_size
    width, height = round(qw * query.scale), round(qh * query.scale)
    x0 = int(np.clip(np.floor(points[:, 0].min()), 0, width))
    y0 = int(np.clip(np.floor(points[:, 1].min()), 0, height))
    x1 = int(np.clip(np.ceil(points[:, 0].max()), 0, width))
    y1 = int(np.clip(np.ceil(points[:, 1].max()), 0, height))
    return Box(x0, y0, x1 - x0, y1 - y0)


def _apply(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    if points.size == 0:
        return np.zeros((0, 2), np.float32)
    moved: np.ndarray = points @ transform[:, :2].T + transform[:, 2]
    return moved.astype(np.float32)
