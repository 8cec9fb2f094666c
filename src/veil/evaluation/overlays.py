"""Edits that draw on or around a photo: caption bars, meme text, stickers, borders.

Everything is drawn by code (PIL's bundled font, plain shapes); no image asset is
loaded, so the suite can never pull in a picture from outside the benign corpus.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

#: Short benign phrases for captions and overlaid text.
PHRASES = (
    "best day ever",
    "look at this view",
    "monday again",
    "guess where I am",
    "weekend plans",
    "throwback",
    "so proud of this",
    "no filter",
)

_BORDER_COLOURS = ((0, 0, 0), (255, 255, 255), (24, 24, 24), (242, 242, 242))
_STICKER_FILL = ((255, 204, 0), (235, 64, 52), (255, 140, 0), (66, 133, 244), (52, 168, 83))

Colour = tuple[int, int, int]
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=64)
def font(size: int) -> Font:
    # Loading the font costs more than drawing with it; sizes repeat across photos.
    return ImageFont.load_default(size=max(6, size))


def fitted_font(text: str, size: int, max_width: float) -> Font:
    """The largest font up to ``size`` in which ``text`` fits ``max_width`` pixels."""
    f = font(size)
    width = f.getlength(text)
    if width > max_width and width > 0:
        f = font(max(6, math.floor(size * max_width / width)))
    return f


def phrase(rng: np.random.Generator) -> str:
    return PHRASES[int(rng.integers(len(PHRASES)))]


def caption_bar(img: Image.Image, fraction: float, rng: np.random.Generator) -> Image.Image:
    """A solid bar with a caption above or below the photo (``fraction`` of its height)."""
    w, h = img.size
    bar = max(1, round(fraction * h))
    top = bool(rng.integers(2))
    bg, fg = ((255, 255, 255), (0, 0, 0)) if rng.integers(2) else ((0, 0, 0), (255, 255, 255))
    canvas = Image.new("RGB", (w, h + bar), bg)
    canvas.paste(img, (0, bar if top else 0))
    text = phrase(rng)
    f = fitted_font(text, round(0.5 * bar), 0.92 * w)
    y = bar / 2 if top else h + bar / 2
    ImageDraw.Draw(canvas).text((w / 2, y), text, fill=fg, font=f, anchor="mm")
    return canvas


def text_overlay(img: Image.Image, fraction: float, rng: np.random.Generator) -> Image.Image:
    """Meme-style white text with a dark outline at the top and bottom of the photo.

    ``fraction`` is the font size as a share of the photo's height.
    """
    out = img.copy()
    w, h = out.size
    size = max(6, round(fraction * h))
    draw = ImageDraw.Draw(out)
    stroke = max(1, size // 12)
    for y, anchor in ((0.04 * h, "mt"), (0.96 * h, "mb")):
        text = phrase(rng).upper()
        f = fitted_font(text, size, 0.94 * w)
        draw.text((w / 2, y), text, fill=(255, 255, 255), font=f, anchor=anchor,
                  stroke_width=stroke, stroke_fill=(0, 0, 0))
    return out


def _smiley(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], fill: Colour) -> None:
    x0, y0, x1, _ = box
    s = x1 - x0
    draw.ellipse(box, fill=fill, outline=(60, 40, 0), width=max(1, s // 30))
    eye = max(1, s // 10)
    for ex in (x0 + 0.33 * s, x0 + 0.67 * s):
        draw.ellipse((ex - eye / 2, y0 + 0.3 * s, ex + eye / 2, y0 + 0.3 * s + eye * 1.5),
                     fill=(60, 40, 0))
    draw.arc((x0 + 0.25 * s, y0 + 0.35 * s, x0 + 0.75 * s, y0 + 0.78 * s), 20, 160,
             fill=(60, 40, 0), width=max(1, s // 20))


def _heart(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], fill: Colour) -> None:
    x0, y0, x1, _ = box
    s = x1 - x0
    r = s / 4
    draw.ellipse((x0, y0 + 0.1 * s, x0 + 2 * r, y0 + 0.1 * s + 2 * r), fill=fill)
    draw.ellipse((x1 - 2 * r, y0 + 0.1 * s, x1, y0 + 0.1 * s + 2 * r), fill=fill)
    draw.polygon([(x0 + 0.02 * s, y0 + 0.1 * s + 1.3 * r), (x1 - 0.02 * s, y0 + 0.1 * s + 1.3 * r),
                  (x0 + s / 2, y0 + 0.95 * s)], fill=fill)


def _star(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], fill: Colour) -> None:
    x0, y0, x1, _ = box
    s = x1 - x0
    cx, cy = x0 + s / 2, y0 + s / 2
    points = []
    for k in range(10):
        r = s / 2 if k % 2 == 0 else s / 5
        a = -math.pi / 2 + k * math.pi / 5
        points.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    draw.polygon(points, fill=fill, outline=(90, 50, 0))


_SHAPES = (_smiley, _heart, _star)


def stickers(img: Image.Image, fraction: float, rng: np.random.Generator) -> Image.Image:
    """Emoji-like stickers whose bounding squares add up to ``fraction`` of the area.

    One sticker per 10% (at least one), as people cover a face or a corner; shapes
    fill 40-80% of their square and may overlap, so the covered share is below
    ``fraction``.
    """
    out = img.copy()
    w, h = out.size
    n = max(1, round(fraction / 0.1))
    side = min(w, h, max(2, round(math.sqrt(fraction * w * h / n))))
    draw = ImageDraw.Draw(out)
    for _ in range(n):
        x = int(rng.integers(0, w - side + 1))
        y = int(rng.integers(0, h - side + 1))
        shape = _SHAPES[int(rng.integers(len(_SHAPES)))]
        fill = _STICKER_FILL[int(rng.integers(len(_STICKER_FILL)))]
        shape(draw, (x, y, x + side, y + side), fill)
    return out


def border(img: Image.Image, fraction: float, rng: np.random.Generator) -> Image.Image:
    """A uniform border of ``fraction`` of the width (sides) and height (top, bottom)."""
    w, h = img.size
    bx, by = round(fraction * w), round(fraction * h)
    colour = _BORDER_COLOURS[int(rng.integers(len(_BORDER_COLOURS)))]
    canvas = Image.new("RGB", (w + 2 * bx, h + 2 * by), colour)
    canvas.paste(img, (bx, by))
    return canvas
