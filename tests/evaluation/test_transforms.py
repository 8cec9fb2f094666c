"""Each transformation does what its name says, and is the same for the same seed."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from veil.config import MediaLimits
from veil.errors import BadInput
from veil.evaluation import transforms as T
from veil.evaluation.screenshot import PAD, SCREEN, chat_layout
from veil.media.source import Media

KEY = "photo.jpg"
RANDOM_FAMILIES = {"crop_offcentre", "stretch", "rotate_small", "noise", "caption", "text",
                   "sticker", "border", "screenshot", "combo"}


def px(img: Image.Image) -> np.ndarray:
    return np.asarray(img, dtype=np.int16)


def edit(photo: Image.Image, name: str, strength: float, seed: int = 0) -> Image.Image:
    return T.apply(T.find_variant(name, strength), photo, seed=seed, key=KEY)


@pytest.mark.parametrize("variant", T.variants(), ids=lambda v: v.label)
def test_every_variant_is_deterministic_and_decodes(photo: Image.Image, variant: T.Variant):
    a = T.render(variant, photo, seed=7, key=KEY)
    b = T.render(variant, photo, seed=7, key=KEY)
    assert a == b
    media = Media.from_bytes(a, MediaLimits())
    assert media.format == ("jpeg" if variant.name == "jpeg" else "png")
    assert media.image.size == T.apply(variant, photo, seed=7, key=KEY).size


@pytest.mark.parametrize("name", sorted(RANDOM_FAMILIES))
def test_the_seed_drives_the_random_choices(photo: Image.Image, name: str):
    fam = T.get_family(name)
    v = T.Variant(fam, fam.mild_to_strong()[-1])
    outputs = {T.render(v, photo, seed=s, key=KEY) for s in range(6)}
    assert len(outputs) > 1
    # and so does the photo's key: two photos do not get the same crop corner, text …
    keyed = {T.render(v, photo, seed=0, key=f"p{k}.jpg") for k in range(6)}
    assert len(keyed) > 1


def test_identity_png_is_lossless(photo: Image.Image):
    data = T.render(T.find_variant("identity", 0), photo, seed=0, key=KEY)
    assert data.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(data)) as im:
        assert np.array_equal(px(im.convert("RGB")), px(photo))


def test_jpeg_quality_lowers_fidelity(photo: Image.Image):
    sizes, errors = [], []
    for q in (90, 50, 10):
        data = T.render(T.find_variant("jpeg", q), photo, seed=0, key=KEY)
        assert data[:3] == b"\xff\xd8\xff"
        sizes.append(len(data))
        errors.append(np.abs(px(T.decode(data)) - px(photo)).mean())
    assert sizes == sorted(sizes, reverse=True)
    assert errors == sorted(errors)


@pytest.mark.parametrize("scale", [0.8, 0.5, 0.2])
def test_resize_scales_both_sides(photo: Image.Image, scale: float):
    out = edit(photo, "resize", scale)
    assert out.size == (round(photo.width * scale), round(photo.height * scale))


@pytest.mark.parametrize("removed", [0.02, 0.1, 0.4])
def test_centre_crop_keeps_the_centre(photo: Image.Image, removed: float):
    out = edit(photo, "crop_centre", removed)
    w, h = photo.size
    cw, ch = round(w * (1 - removed)), round(h * (1 - removed))
    assert out.size == (cw, ch)
    left, top = (w - cw) // 2, (h - ch) // 2
    assert np.array_equal(px(out), px(photo)[top:top + ch, left:left + cw])


def test_offcentre_crop_keeps_a_corner(photo: Image.Image):
    w, h = photo.size
    corners = set()
    for seed in range(12):
        out = px(edit(photo, "crop_offcentre", 0.2, seed))
        ch, cw = out.shape[:2]
        assert (cw, ch) == (round(w * 0.8), round(h * 0.8))
        a = px(photo)
        found = [c for c, (y, x) in enumerate([(0, 0), (0, w - cw), (h - ch, 0),
                                               (h - ch, w - cw)])
                 if np.array_equal(out, a[y:y + ch, x:x + cw])]
        assert len(found) == 1
        corners.add(found[0])
    assert len(corners) >= 3  # the seed picks the corner


def test_stretch_changes_one_axis(photo: Image.Image):
    w, h = photo.size
    sizes = {edit(photo, "stretch", 1.5, seed).size for seed in range(8)}
    assert sizes <= {(round(w * 1.5), h), (w, round(h * 1.5))}
    assert len(sizes) == 2


def test_rotate_90_maps_pixels_counter_clockwise(photo: Image.Image):
    a = px(photo)
    out = px(edit(photo, "rotate", 90))
    h, w = a.shape[:2]
    assert out.shape[:2] == (w, h)
    # counter-clockwise: the pixel at (x, y) moves to (y, w - 1 - x)
    for x, y in [(0, 0), (w - 1, 0), (10, 200), (300, 17)]:
        assert np.array_equal(out[w - 1 - x, y], a[y, x])
    assert np.array_equal(px(edit(photo, "rotate", 180)), a[::-1, ::-1])
    assert np.array_equal(px(edit(photo, "rotate", 270)), np.rot90(a, k=3))


def test_small_rotation_tilts_about_the_centre(photo: Image.Image):
    out = px(edit(photo, "rotate_small", 15))
    a = px(photo)
    assert out.shape == a.shape
    for y, x in [(0, 0), (0, -1), (-1, 0), (-1, -1)]:
        assert (out[y, x] == 0).all()  # corners filled black
    cy, cx = a.shape[0] // 2, a.shape[1] // 2
    assert np.abs(out[cy - 2:cy + 3, cx - 2:cx + 3] - a[cy - 2:cy + 3, cx - 2:cx + 3]).mean() < 40
    signs = set()
    for seed in range(8):  # the tilt goes either way, as the seed says
        o = px(edit(photo, "rotate_small", 10, seed))
        for sign in (1, -1):
            turned = photo.rotate(sign * 10, resample=Image.Resampling.BICUBIC,
                                  fillcolor=(0, 0, 0))
            if np.array_equal(o, px(turned)):
                signs.add(sign)
    assert signs == {1, -1}


def test_mirror(photo: Image.Image):
    a = px(photo)
    assert np.array_equal(px(edit(photo, "mirror", 0)), a[:, ::-1])
    assert np.array_equal(px(edit(photo, "mirror", 1)), a[::-1, :])


def test_brightness_contrast_gamma_move_the_right_way(photo: Image.Image):
    a = px(photo)
    assert px(edit(photo, "brightness", 1.3)).mean() > a.mean() + 5
    assert px(edit(photo, "brightness", 0.5)).mean() < a.mean() - 20
    assert px(edit(photo, "contrast", 2.0)).std() > a.std() * 1.3
    assert px(edit(photo, "contrast", 0.5)).std() < a.std() * 0.7
    assert px(edit(photo, "gamma", 0.5)).mean() > a.mean() + 10  # lifts shadows
    assert px(edit(photo, "gamma", 2.0)).mean() < a.mean() - 10


def _chroma(a: np.ndarray) -> float:
    return float((a.max(axis=2) - a.min(axis=2)).mean())


def test_saturation_and_greyscale(photo: Image.Image):
    a = px(photo)
    assert _chroma(px(edit(photo, "saturation", 2.5))) > _chroma(a) * 1.5
    assert _chroma(px(edit(photo, "saturation", 0.25))) < _chroma(a) * 0.5
    grey = px(edit(photo, "greyscale", 1))
    assert np.array_equal(grey[..., 0], grey[..., 1])
    assert np.array_equal(grey[..., 1], grey[..., 2])


def _detail(a: np.ndarray) -> float:
    return float(np.abs(np.diff(a, axis=1)).mean())


def test_blur_removes_detail_and_noise_adds_it(photo: Image.Image):
    details = [_detail(px(edit(photo, "blur", r))) for r in (1, 2, 4, 8)]
    assert details == sorted(details, reverse=True)
    assert details[0] < _detail(px(photo))
    diff = px(edit(photo, "noise", 10)) - px(photo)
    assert 8 < diff.std() < 11  # σ 10, a little lost to clipping at 0 and 255
    assert abs(diff.mean()) < 1


def test_caption_bar_adds_a_strip_with_text(photo: Image.Image):
    w, h = photo.size
    seen_top = set()
    for seed in range(6):
        out = px(edit(photo, "caption", 0.2, seed))
        bar = round(0.2 * h)
        assert out.shape[:2] == (h + bar, w)
        top = np.array_equal(out[bar:], px(photo))
        assert top or np.array_equal(out[:h], px(photo))
        strip = out[:bar] if top else out[h:]
        assert len(np.unique(strip.reshape(-1, 3), axis=0)) > 2  # background + text
        seen_top.add(top)
    assert seen_top == {True, False}


def test_text_overlay_grows_with_its_size(photo: Image.Image):
    a = px(photo)
    changed = []
    for size in (0.06, 0.12, 0.2):
        out = px(edit(photo, "text", size))
        assert out.shape == a.shape
        changed.append(float((np.abs(out - a).sum(axis=2) > 0).mean()))
    assert 0 < changed[0] < changed[1] < changed[2] < 0.6


@pytest.mark.parametrize("share", [0.05, 0.1, 0.2, 0.3])
def test_stickers_cover_about_their_share(photo: Image.Image, share: float):
    out = px(edit(photo, "sticker", share))
    covered = float((np.abs(out - px(photo)).sum(axis=2) > 0).mean())
    assert 0.25 * share < covered <= share * 1.02


def test_border_frames_the_photo(photo: Image.Image):
    w, h = photo.size
    out = px(edit(photo, "border", 0.1))
    bx, by = round(0.1 * w), round(0.1 * h)
    assert out.shape[:2] == (h + 2 * by, w + 2 * bx)
    assert np.array_equal(out[by:by + h, bx:bx + w], px(photo))
    frame = np.concatenate([out[:by].reshape(-1, 3), out[:, :bx].reshape(-1, 3)])
    assert len(np.unique(frame, axis=0)) == 1


@pytest.mark.parametrize("width", [0.9, 0.7, 0.5])
def test_screenshot_canvas_contains_the_photo(photo: Image.Image, width: float):
    v = T.find_variant("screenshot", width)
    out = T.apply(v, photo, seed=3, key=KEY)
    assert out.size == SCREEN
    layout = chat_layout(photo.size, width, T.variant_rng(3, KEY, v))
    pw, ph = layout.photo_size
    assert pw == round(width * SCREEN[0]) - 2 * PAD
    assert abs(ph - pw * photo.height / photo.width) <= 1
    left, top, right, bottom = layout.photo_box
    expected = photo.resize(layout.photo_size, Image.Resampling.LANCZOS)
    assert np.array_equal(px(out)[top:bottom, left:right], px(expected))
    # phone bars above and below, the rest of the screen is chat UI
    assert top > 100 and bottom < SCREEN[1] - 80


def test_combo_draws_three_everyday_edits(photo: Image.Image):
    v = T.find_variant("combo", 2)
    parts = T.combo_parts(2, T.variant_rng(0, KEY, v))
    assert len(set(parts)) == 3
    assert not set(parts) & {"identity", "combo", "rotate", "mirror"}
    assert T.render(v, photo, seed=0, key=KEY) != T.render(v, photo, seed=1, key=KEY)


def test_suite_selection():
    quick = T.variants(quick=True)
    assert {v.name for v in quick} == set(T.family_names())
    brightness = [v.strength for v in quick if v.name == "brightness"]
    assert brightness == [0.5, 1.3]  # mildest (closest to ×1) and strongest
    jpeg = [v.strength for v in T.variants(["jpeg"])]
    assert jpeg == [90, 70, 50, 30, 10]
    with pytest.raises(BadInput):
        T.variants(["sepia"])
