"""The obfuscations ads use, applied by code: to train the detector on them and to
measure it against them (``bench/text_detector.py``). Never used on a live message.

Each function changes some words of a text, seeded; ``OBFUSCATIONS`` names them.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

_TO_CYR = dict(zip("aeopcyxiAEOPCYXIKMTHB", "аеорсухіАЕОРСУХІКМТНВ", strict=True))
_TO_LAT = {v: k for k, v in _TO_CYR.items()}
_LEET = dict(zip("oieastbOIEASTB", "01345780134578", strict=True))
_LEET_CYR = dict(zip("озчбОЗЧБ", "03460346", strict=True))
_ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\u00ad"]
_WORD = re.compile(r"\w{4,}")


def _words(text: str, rng: random.Random, share: float,
           change: Callable[[str], str]) -> str:
    def one(m: re.Match[str]) -> str:
        return change(m.group()) if rng.random() < share else m.group()
    return _WORD.sub(one, text)


def homoglyphs(text: str, rng: random.Random) -> str:
    """Letters swapped for look-alikes of the other script (Latin ↔ Cyrillic)."""
    def swap(word: str) -> str:
        table = _TO_LAT if re.search("[а-яіїєґ]", word, re.I) else _TO_CYR
        return "".join(table.get(c, c) if rng.random() < 0.5 else c for c in word)
    return _words(text, rng, 0.7, swap)


def leet(text: str, rng: random.Random) -> str:
    def swap(word: str) -> str:
        table = _LEET_CYR if re.search("[а-яіїєґ]", word, re.I) else _LEET
        return "".join(table.get(c, c) if rng.random() < 0.6 else c for c in word)
    return _words(text, rng, 0.6, swap)


def zero_width(text: str, rng: random.Random) -> str:
    def split(word: str) -> str:
        cut = rng.randrange(1, len(word))
        return word[:cut] + rng.choice(_ZERO_WIDTH) + word[cut:]
    return _words(text, rng, 0.7, split)


def spacing(text: str, rng: random.Random) -> str:
    sep = rng.choice([" ", ".", "-", "_", " . ", "*"])
    return _words(text, rng, 0.35, sep.join)


def styled(text: str, rng: random.Random) -> str:
    """Mathematical bold letters, as fancy-text generators make them."""
    def bold(word: str) -> str:
        out = []
        for c in word:
            if "a" <= c <= "z":
                out.append(chr(0x1D41A + ord(c) - ord("a")))
            elif "A" <= c <= "Z":
                out.append(chr(0x1D400 + ord(c) - ord("A")))
            else:
                out.append(c)
        return "".join(out)
    return _words(text, rng, 0.6, bold)


_EMOJI_FOR = {
    "clothes": "👗", "outfit": "👗", "dress": "👗", "одежд": "👗", "одяг": "👗",
    "photo": "📸", "фото": "📸", "bot": "🤖", "бот": "🤖", "free": "🆓",
}


def emoji(text: str, rng: random.Random) -> str:
    """Words replaced by the emoji that stand for them; "no clothes" as 👗❌."""
    out = text
    for word, sign in _EMOJI_FOR.items():
        out = re.sub(rf"\w*{word}\w*", sign, out, flags=re.I)
    return out + rng.choice(["", " 🔞", " 👗❌", " 👀"])


OBFUSCATIONS: dict[str, Callable[[str, random.Random], str]] = {
    "homoglyphs": homoglyphs, "leet": leet, "zero-width": zero_width,
    "spacing": spacing, "styled": styled, "emoji": emoji,
}


def combined(text: str, rng: random.Random) -> str:
    """Two obfuscations at once."""
    a, b = rng.sample(sorted(OBFUSCATIONS), 2)
    return OBFUSCATIONS[b](OBFUSCATIONS[a](text, rng), rng)
