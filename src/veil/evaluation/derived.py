"""Derived copies made from benign photos: a part of the photo replaced, the rest
kept, then re-shared — the shape of what an "undressing" service returns, made
without any such service and without any sexual content: the replaced part is
filled with another benign photo, OpenCV's inpainting, a flat colour, heavy blur
or noise (``bench/derived.py``, docs/derived.md).

The replaced region is either "body-like" (centred horizontally, reaching the
bottom, as a person's torso in a portrait) or placed at random; its box in the
derived copy's pixels is returned with it, the ground truth for the differing
region a matcher reports.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

FILLS = ("paste", "inpaint", "flat", "blur", "noise")
PLACES = ("body", "random")


@dataclass(frozen=True, slots=True)
class Derived:
    """A derived copy (JPEG bytes) and where its replaced region ended up."""

    data: bytes
    box: tuple[int, int, int, int]  # x, y, w, h in the copy's pixels
    size: tuple[int, int]


def region_box(size: tuple[int, int], share: float, place: str,
               rng: np.random.Generator) -> tuple[int, int, int, int]:
    """A box covering ``share`` of the picture's area."""
    w, h = size
    area = share * w * h
    if place == "body":
        # a torso: taller than wide where the frame allows, reaching the bottom edge
        bh = min(h, round(np.sqrt(area / 0.75)))
        bw = min(w, round(area / bh))
        bh = min(h, round(area / bw))
        x = round((w - bw) / 2 + rng.uniform(-0.05, 0.05) * w)
        return max(0, min(w - bw, x)), h - bh, bw, bh
    aspect = rng.uniform(0.6, 1.6)
    bw = min(w, round(np.sqrt(area * aspect)))
    bh = min(h, round(area / bw))
    bw = min(w, round(area / bh))  # widen what the picture's height cut short
    return int(rng.integers(0, w - bw + 1)), int(rng.integers(0, h - bh + 1)), bw, bh


def replace(photo: Image.Image, box: tuple[int, int, int, int], fill: str,
            rng: np.random.Generator, donor: Image.Image | None = None) -> Image.Image:
    """The photo with ``box`` replaced by ``fill``."""
    x, y, bw, bh = box
    out = photo.convert("RGB").copy()
    if fill == "paste":
        if donor is None:
            raise ValueError("paste needs a donor photo")
        patch = donor.convert("RGB").resize((bw, bh), Image.Resampling.BILINEAR)
    elif fill == "inpaint":
        import cv2

        rgb = np.asarray(out)
        mask = np.zeros(rgb.shape[:2], np.uint8)
        mask[y:y + bh, x:x + bw] = 255
        painted = cv2.inpaint(rgb, mask, 5, cv2.INPAINT_TELEA)
        return Image.fromarray(painted)
    elif fill == "flat":
        region = np.asarray(out.crop((x, y, x + bw, y + bh)), dtype=np.float64)
        colour = tuple(int(c) for c in region.reshape(-1, 3).mean(axis=0))
        patch = Image.new("RGB", (bw, bh), colour)
    elif fill == "blur":
        patch = out.crop((x, y, x + bw, y + bh)).filter(ImageFilter.GaussianBlur(16))
    elif fill == "noise":
        patch = Image.fromarray(rng.integers(0, 256, (bh, bw, 3), dtype=np.uint8))
    else:
        raise ValueError(f"unknown fill {fill!r}")
    out.paste(patch, (x, y))
    return out


def reshare(img: Image.Image, box: tuple[int, int, int, int], rng: np.random.Generator,
            *, scale: float = 0.8, crop: float = 0.03, quality: int = 75) -> Derived:
    """Resized, lightly cropped (at one corner) and re-encoded as JPEG, as a copy
    passed on in a messenger; the box follows."""
    w, h = img.size
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    small = img.resize((nw, nh), Image.Resampling.LANCZOS)
    cx, cy = round(nw * crop * rng.uniform(0, 1)), round(nh * crop * rng.uniform(0, 1))
    cw, ch = nw - round(nw * crop), nh - round(nh * crop)
    cut = small.crop((cx, cy, cx + cw, cy + ch))
    buf = io.BytesIO()
    cut.save(buf, "JPEG", quality=quality)
    x, y, bw, bh = box
    bx0 = max(0, round(x * nw / w) - cx)
    by0 = max(0, round(y * nh / h) - cy)
    bx1 = min(cw, round((x + bw) * nw / w) - cx)
    by1 = min(ch, round((y + bh) * nh / h) - cy)
    return Derived(buf.getvalue(), (bx0, by0, max(0, bx1 - bx0), max(0, by1 - by0)),
                   (cw, ch))


def derive(photo: Image.Image, *, share: float, fill: str, place: str,
           rng: np.random.Generator, donor: Image.Image | None = None) -> Derived:
    """One derived copy of ``photo``: ``share`` of it replaced, then re-shared."""
    box = region_box(photo.size, share, place, rng)
    return reshare(replace(photo, box, fill, rng, donor), box, rng)


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0
