"""The seeded suite of everyday edits that a re-shared image goes through.

A ``Family`` is one kind of edit (JPEG re-compression, centre crop, caption …) with
a few strengths; a ``Variant`` is one family at one strength. ``render`` turns a
photo into the bytes an upload of the edited copy would carry: JPEG for the JPEG
family, PNG for everything else (lossless, so the edit alone is measured).

Randomness (which corner an off-centre crop keeps, sticker places, the sign of a
small rotation, the three edits of a combination) comes from a generator derived
from (seed, photo key, family, strength) only: a variant is identical on every
run, in every worker process, whatever order the photos are processed in.
"""

from __future__ import annotations

import io
import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from veil.errors import BadInput
from veil.evaluation.overlays import border, caption_bar, stickers, text_overlay
from veil.evaluation.png import encode_png
from veil.evaluation.screenshot import chat_screenshot

Op = Callable[[Image.Image, float, np.random.Generator], Image.Image]

@dataclass(frozen=True, slots=True)
class Family:
    name: str
    #: What the strength measures (x axis of its plot).
    title: str
    #: In plotting order (by value); ``mild_to_strong`` gives the order of severity.
    strengths: tuple[float, ...]
    op: Op
    label: Callable[[float], str]
    #: For edits that go both ways (darker/brighter): the no-op value; severity is
    #: then the distance from it on a log scale. None: ``strengths`` are mild → strong.
    neutral: float | None = None
    #: ``render`` emits the codec's own bytes (JPEG) rather than a PNG of ``op``.
    jpeg: bool = False
    #: May be drawn as one of the three edits of a ``combo``.
    in_combos: bool = True
    #: What the edit does to the picture, for grouping in plots: "pixels" (codec,
    #: colour, scale: the layout stays), "geometry" (content moves) or "overlay"
    #: (content is covered or framed).
    group: str = "pixels"

    def mild_to_strong(self) -> tuple[float, ...]:
        if self.neutral is None:
            return self.strengths
        neutral = self.neutral
        return tuple(sorted(self.strengths, key=lambda s: abs(math.log(s / neutral))))


@dataclass(frozen=True, slots=True)
class Variant:
    family: Family
    strength: float

    @property
    def name(self) -> str:
        return self.family.name

    @property
    def strength_label(self) -> str:
        return self.family.label(self.strength)

    @property
    def label(self) -> str:
        return f"{self.family.name} {self.strength_label}"

    def __reduce__(self) -> tuple[object, tuple[str, float]]:
        # Families hold functions (lambdas for labels): pickle the suite entry's name.
        return find_variant, (self.name, self.strength)


# -- codecs --------------------------------------------------------------------------
def encode_jpeg(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def decode(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as im:
        return im.convert("RGB")


# -- the edits -------------------------------------------------------------------------
def identity(img: Image.Image, strength: float, rng: np.random.Generator) -> Image.Image:
    return img.copy()


def jpeg_roundtrip(img: Image.Image, quality: float, rng: np.random.Generator) -> Image.Image:
    return decode(encode_jpeg(img, int(quality)))


def resize(img: Image.Image, scale: float, rng: np.random.Generator) -> Image.Image:
    w, h = img.size
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return img.resize(size, Image.Resampling.LANCZOS)


Box = tuple[int, int, int, int]


def crop_box(size: tuple[int, int], removed: float, corner: int | None) -> Box:
    """Box keeping ``1 - removed`` of each side: centred, or against corner 0-3
    (top-left, top-right, bottom-left, bottom-right)."""
    w, h = size
    cw, ch = max(1, round(w * (1 - removed))), max(1, round(h * (1 - removed)))
    if corner is None:
        left, top = (w - cw) // 2, (h - ch) // 2
    else:
        left = 0 if corner in (0, 2) else w - cw
        top = 0 if corner in (0, 1) else h - ch
    return left, top, left + cw, top + ch


def crop_centre(img: Image.Image, removed: float, rng: np.random.Generator) -> Image.Image:
    return img.crop(crop_box(img.size, removed, None))


def crop_offcentre(img: Image.Image, removed: float, rng: np.random.Generator) -> Image.Image:
    return img.crop(crop_box(img.size, removed, int(rng.integers(4))))


def stretch(img: Image.Image, factor: float, rng: np.random.Generator) -> Image.Image:
    """Widen or heighten (chosen at random) by ``factor``: a wrong aspect ratio."""
    w, h = img.size
    size = (round(w * factor), h) if rng.integers(2) else (w, round(h * factor))
    return img.resize(size, Image.Resampling.BICUBIC)


_QUARTER_TURNS = {
    90: Image.Transpose.ROTATE_90,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_270,
}


def rotate_quarter(img: Image.Image, degrees: float, rng: np.random.Generator) -> Image.Image:
    """Counter-clockwise by 90, 180 or 270 degrees (lossless)."""
    return img.transpose(_QUARTER_TURNS[int(degrees)])


def rotate_small(img: Image.Image, degrees: float, rng: np.random.Generator) -> Image.Image:
    """A tilt either way, same canvas, corners filled black as most editors do."""
    sign = 1 if rng.integers(2) else -1
    return img.rotate(sign * degrees, resample=Image.Resampling.BICUBIC, expand=False,
                      fillcolor=(0, 0, 0))


def mirror(img: Image.Image, axis: float, rng: np.random.Generator) -> Image.Image:
    """0: left-right (horizontal mirror), 1: top-bottom (vertical mirror)."""
    return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT if axis == 0
                         else Image.Transpose.FLIP_TOP_BOTTOM)


def brightness(img: Image.Image, factor: float, rng: np.random.Generator) -> Image.Image:
    return ImageEnhance.Brightness(img).enhance(factor)


def contrast(img: Image.Image, factor: float, rng: np.random.Generator) -> Image.Image:
    return ImageEnhance.Contrast(img).enhance(factor)


def gamma(img: Image.Image, g: float, rng: np.random.Generator) -> Image.Image:
    """out = 255·(in/255)^g per channel: g < 1 lifts shadows, g > 1 deepens them."""
    lut = [round(255 * (i / 255) ** g) for i in range(256)]
    return img.point(lut * 3)


def saturation(img: Image.Image, factor: float, rng: np.random.Generator) -> Image.Image:
    return ImageEnhance.Color(img).enhance(factor)


def greyscale(img: Image.Image, strength: float, rng: np.random.Generator) -> Image.Image:
    return img.convert("L").convert("RGB")


def blur(img: Image.Image, radius: float, rng: np.random.Generator) -> Image.Image:
    return img.filter(ImageFilter.GaussianBlur(radius))


def noise(img: Image.Image, sigma: float, rng: np.random.Generator) -> Image.Image:
    """Gaussian noise of ``sigma`` grey levels, independent per pixel and channel."""
    a = np.asarray(img, dtype=np.float32)
    a = a + rng.normal(0.0, sigma, size=a.shape).astype(np.float32)
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "RGB")


COMBO_LEVELS = {1: "mild", 2: "medium", 3: "strong"}
COMBO_SIZE = 3


def combo(img: Image.Image, level: float, rng: np.random.Generator) -> Image.Image:
    """Three distinct edits drawn at random, applied in random order, each at its
    mildest (level 1), middle (2) or strongest (3) strength."""
    pool = [f for f in SUITE if f.in_combos]
    for i in rng.choice(len(pool), size=COMBO_SIZE, replace=False):
        fam = pool[int(i)]
        order = fam.mild_to_strong()
        pick = {1: 0, 2: len(order) // 2, 3: len(order) - 1}[int(level)]
        img = fam.op(img, order[pick], rng)
    return img


def combo_parts(level: float, rng: np.random.Generator) -> list[str]:
    """The names of the families ``combo`` would draw from ``rng`` (for tests, docs)."""
    pool = [f for f in SUITE if f.in_combos]
    return [pool[int(i)].name for i in rng.choice(len(pool), size=COMBO_SIZE, replace=False)]


# -- labels ---------------------------------------------------------------------------
def _pct(s: float) -> str:
    return f"{s * 100:g}%"


def _times(s: float) -> str:
    return f"{s:g}×"


def _factor(s: float) -> str:
    return f"×{s:g}"


SUITE: tuple[Family, ...] = (
    Family("identity", "PNG re-encode, no edit", (0,), identity, lambda s: "-",
           in_combos=False),
    Family("jpeg", "JPEG quality", (90, 70, 50, 30, 10), jpeg_roundtrip,
           lambda s: f"q{s:g}", jpeg=True),
    Family("resize", "downscale factor", (0.8, 0.5, 0.35, 0.2), resize, _times),
    Family("crop_centre", "centre crop: width & height cut by",
           (0.02, 0.05, 0.1, 0.2, 0.3, 0.4), crop_centre, _pct, group="geometry"),
    Family("crop_offcentre", "corner crop: width & height cut by",
           (0.02, 0.05, 0.1, 0.2, 0.3, 0.4), crop_offcentre, _pct, group="geometry"),
    Family("stretch", "one axis stretched by", (1.1, 1.25, 1.5, 2.0), stretch, _times),
    Family("rotate", "quarter turns, counter-clockwise", (90, 180, 270), rotate_quarter,
           lambda s: f"{s:g}°", in_combos=False, group="geometry"),
    Family("rotate_small", "tilt either way, black corners", (1, 2, 5, 10, 15), rotate_small,
           lambda s: f"±{s:g}°", group="geometry"),
    Family("mirror", "mirror", (0, 1), mirror, lambda s: "horizontal" if s == 0 else "vertical",
           in_combos=False, group="geometry"),
    Family("brightness", "brightness factor", (0.5, 0.7, 1.3, 1.6), brightness, _factor,
           neutral=1.0),
    Family("contrast", "contrast factor", (0.5, 0.75, 1.5, 2.0), contrast, _factor,
           neutral=1.0),
    Family("gamma", "gamma", (0.5, 0.75, 1.5, 2.0), gamma, lambda s: f"γ{s:g}", neutral=1.0),
    Family("saturation", "saturation factor", (0.25, 0.5, 1.5, 2.5), saturation, _factor,
           neutral=1.0),
    Family("greyscale", "greyscale", (1,), greyscale, lambda s: "on"),
    Family("blur", "Gaussian blur radius (px)", (1, 2, 4, 8), blur, lambda s: f"r{s:g}"),
    Family("noise", "Gaussian noise σ (grey levels)", (5, 10, 20, 40), noise,
           lambda s: f"σ{s:g}"),
    Family("caption", "caption bar: share of photo height", (0.05, 0.1, 0.2, 0.35),
           caption_bar, _pct, group="overlay"),
    Family("text", "meme text size: share of height", (0.06, 0.12, 0.2),
           text_overlay, _pct, group="overlay"),
    Family("sticker", "stickers: share of area", (0.05, 0.1, 0.2, 0.3), stickers, _pct,
           group="overlay"),
    Family("border", "border: share of width/height", (0.02, 0.05, 0.1, 0.2, 0.4), border,
           _pct, group="overlay"),
    Family("screenshot", "chat screenshot: photo width / screen", (0.9, 0.7, 0.5),
           chat_screenshot, _pct, group="overlay"),
    Family("combo", "3 random edits at once", (1, 2, 3), combo,
           lambda s: COMBO_LEVELS[int(s)], in_combos=False, group="mixed"),
)


_BY_NAME = {f.name: f for f in SUITE}


def family_names() -> list[str]:
    return list(_BY_NAME)


def get_family(name: str) -> Family:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise BadInput(f"unknown transformation {name!r}; known: {', '.join(_BY_NAME)}",
                       code="eval.unknown_transform") from None


def variants(names: Sequence[str] | None = None, *, quick: bool = False) -> list[Variant]:
    """The suite (or the named families), every strength; ``quick``: only the mildest
    and strongest of each."""
    fams = SUITE if not names else tuple(get_family(n) for n in names)
    out: list[Variant] = []
    for fam in fams:
        keep = fam.strengths
        if quick:
            order = fam.mild_to_strong()
            ends = {order[0], order[-1]}
            keep = tuple(s for s in fam.strengths if s in ends)
        out.extend(Variant(fam, s) for s in keep)
    return out


def find_variant(name: str, strength: float) -> Variant:
    fam = get_family(name)
    if strength not in fam.strengths:
        raise BadInput(f"{name} has no strength {strength:g}", code="eval.unknown_transform")
    return Variant(fam, strength)


# -- rendering -------------------------------------------------------------------------
def variant_rng(seed: int, key: str, variant: Variant) -> np.random.Generator:
    """The generator for one photo (``key``, e.g. its file name) and one variant.

    crc32, not ``hash()``: Python salts string hashes per process.
    """
    words = [seed, zlib.crc32(key.encode()), zlib.crc32(variant.name.encode()),
             zlib.crc32(repr(float(variant.strength)).encode())]
    return np.random.default_rng(np.random.SeedSequence(words))


def apply(variant: Variant, photo: Image.Image, *, seed: int, key: str) -> Image.Image:
    """The edited pixels (for the JPEG family: what its bytes decode to)."""
    if variant.family.jpeg:
        return decode(render(variant, photo, seed=seed, key=key))
    return variant.family.op(photo, variant.strength, variant_rng(seed, key, variant))


def render(variant: Variant, photo: Image.Image, *, seed: int, key: str) -> bytes:
    """The edited copy as uploaded bytes: JPEG for the JPEG family, PNG otherwise."""
    if variant.family.jpeg:
        return encode_jpeg(photo, int(variant.strength))
    return encode_png(apply(variant, photo, seed=seed, key=key))
