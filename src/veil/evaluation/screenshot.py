"""A photo re-shared as a screenshot of a chat: phone status bar, app bar, bubbles.

The most common way an intimate image escapes a platform's hash match is a
screenshot of the conversation it was sent in, so the suite draws one: the photo
is an image bubble taking ``width_fraction`` of the screen's width.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from veil.evaluation.overlays import fitted_font, font, phrase

#: Half of a common 1080x2340 phone screen: same proportions, a quarter of the pixels
#: to hash (every signal downsamples far below this anyway).
SCREEN = (540, 1170)
STATUS_BAR = 44
APP_BAR = 76
INPUT_BAR = 80
MARGIN = 16
#: Padding of the bubble around the photo.
PAD = 6
TEXT_BUBBLE = 54


@dataclass(frozen=True, slots=True)
class Theme:
    bars: tuple[int, int, int]
    chat: tuple[int, int, int]
    bubble_out: tuple[int, int, int]
    bubble_in: tuple[int, int, int]
    text: tuple[int, int, int]
    muted: tuple[int, int, int]


LIGHT = Theme((246, 246, 246), (236, 229, 221), (220, 248, 198), (255, 255, 255),
              (17, 17, 17), (120, 120, 120))
DARK = Theme((31, 44, 51), (11, 20, 26), (0, 92, 75), (32, 44, 51),
             (233, 237, 239), (134, 150, 160))


@dataclass(frozen=True, slots=True)
class ChatLayout:
    screen: tuple[int, int]
    #: Where the photo lies on the screen: (left, top, right, bottom), right/bottom
    #: exclusive, at ``photo_size``.
    photo_box: tuple[int, int, int, int]
    dark: bool
    outgoing: bool

    @property
    def photo_size(self) -> tuple[int, int]:
        left, top, right, bottom = self.photo_box
        return right - left, bottom - top


def chat_layout(photo_size: tuple[int, int], width_fraction: float,
                rng: np.random.Generator) -> ChatLayout:
    """Place the photo bubble; the photo shrinks further only if it would not fit."""
    sw, sh = SCREEN
    w, h = photo_size
    chat_top = STATUS_BAR + APP_BAR
    chat_bottom = sh - INPUT_BAR
    lowest = chat_top + 2 * MARGIN + TEXT_BUBBLE + PAD
    room = chat_bottom - MARGIN - PAD - lowest
    pw = max(1, round(width_fraction * sw) - 2 * PAD)
    ph = max(1, round(pw * h / w))
    if ph > room:
        ph = room
        pw = max(1, round(ph * w / h))
    outgoing = bool(rng.integers(2))
    left = sw - MARGIN - PAD - pw if outgoing else MARGIN + PAD
    # The chat is scrolled somewhere: the bubble sits anywhere that keeps it whole.
    slack = max(0, room - ph)
    top = lowest + int(rng.integers(0, slack + 1))
    return ChatLayout(SCREEN, (left, top, left + pw, top + ph), bool(rng.integers(2)), outgoing)


def chat_screenshot(img: Image.Image, width_fraction: float,
                    rng: np.random.Generator) -> Image.Image:
    layout = chat_layout(img.size, width_fraction, rng)
    theme = DARK if layout.dark else LIGHT
    sw, sh = layout.screen
    canvas = Image.new("RGB", layout.screen, theme.chat)
    d = ImageDraw.Draw(canvas)

    # Status bar: clock, signal bars, battery.
    d.rectangle((0, 0, sw, STATUS_BAR), fill=theme.bars)
    d.text((24, STATUS_BAR / 2), "9:41", fill=theme.text, font=font(20), anchor="lm")
    for k in range(4):
        d.rectangle((sw - 120 + 8 * k, 30 - 5 * k, sw - 115 + 8 * k, 32), fill=theme.text)
    d.rounded_rectangle((sw - 70, 14, sw - 30, 32), radius=4, outline=theme.text, width=2)
    d.rectangle((sw - 66, 18, sw - 44, 28), fill=theme.text)

    # App bar: back arrow, avatar, contact name.
    top = STATUS_BAR
    d.rectangle((0, top, sw, top + APP_BAR), fill=theme.bars)
    d.text((18, top + APP_BAR / 2), "<", fill=theme.text, font=font(30), anchor="lm")
    d.ellipse((50, top + 14, 98, top + 62), fill=(93, 173, 226))
    d.text((112, top + 28), "Alex", fill=theme.text, font=font(22), anchor="lm")
    d.text((112, top + 52), "online", fill=theme.muted, font=font(15), anchor="lm")

    # A text bubble above the photo, then the photo bubble itself.
    left, ptop, right, bottom = layout.photo_box
    text = phrase(rng)
    f = fitted_font(text, 20, sw - 4 * MARGIN)
    tw = int(f.getlength(text)) + 28
    ty = ptop - PAD - MARGIN - TEXT_BUBBLE
    tx = MARGIN if layout.outgoing else sw - MARGIN - tw
    in_colour = theme.bubble_in if layout.outgoing else theme.bubble_out
    d.rounded_rectangle((tx, ty, tx + tw, ty + TEXT_BUBBLE - 8), radius=12, fill=in_colour)
    d.text((tx + 14, ty + (TEXT_BUBBLE - 8) / 2), text, fill=theme.text, font=f, anchor="lm")
    colour = theme.bubble_out if layout.outgoing else theme.bubble_in
    d.rounded_rectangle((left - PAD, ptop - PAD, right + PAD, bottom + PAD), radius=12,
                        fill=colour)
    canvas.paste(img.resize(layout.photo_size, Image.Resampling.LANCZOS), (left, ptop))
    if bottom + PAD + 24 < sh - INPUT_BAR:
        d.text((right, bottom + PAD + 4), "21:07", fill=theme.muted, font=font(14), anchor="rt")

    # Input bar: message field and send button.
    iy = sh - INPUT_BAR
    d.rectangle((0, iy, sw, sh), fill=theme.bars)
    d.rounded_rectangle((12, iy + 14, sw - 80, sh - 14), radius=26, fill=theme.bubble_in)
    d.text((36, iy + INPUT_BAR / 2), "Message", fill=theme.muted, font=font(20), anchor="lm")
    d.ellipse((sw - 66, iy + 14, sw - 14, sh - 14), fill=(0, 168, 132))
    return canvas
