"""Text → a sparse vector: character n-grams inside words and across them, words and
word pairs, hashed.

Character n-grams (2 to 5, inside each word padded with a space, as scikit-learn's
``char_wb`` analyzer makes them; ``tests/text`` holds this to it) carry inflected
and misspelled forms across English, Russian and Ukrainian; word pairs carry
phrases ("remove clothes", "arrested for"). Features are hashed (``zlib.crc32``)
into ``N_FEATURES`` slots, so the model is a weight array and no vocabulary ships.
The hashing is Veil's own, not scikit-learn's ``HashingVectorizer``: importing
scikit-learn takes a second and a half, which a ``veil text check`` start-up and a
service's first request should not pay; scikit-learn is used to train only.
"""

from __future__ import annotations

import itertools
import math
import re
import zlib
from collections import Counter

N_FEATURES = 1 << 18

_GARMENTS_EN = (r"(?:clothes|clothing|outfit|swimsuit|bikini|underwear|lingerie|dress"
                r"|everything|it all)")
_GARMENTS_RU = r"(?:одежд\w*|купальник\w*|бель[её]|трусы|платье)"
_GARMENTS_UK = r"(?:одяг\w*|купальник\w*|білизн\w*|сукню)"
_REMOVE_RU = r"(?:сним\w*|снять|убер\w*|убрать|убира\w*|стира\w*|стереть|удал\w*)"
_REMOVE_UK = r"(?:знім\w*|зніми|зняти|прибер\w*|прибрати|прибира\w*|стира\w*|видал\w*)"
#: Words that name the service itself, after normalisation. They are as common in
#: news about such services and in victims' posts as in adverts, so they decide
#: nothing alone: they mark which weights apply (``features``) and are evidence.
SERVICE_WORDS = re.compile(
    r"undress\w*|unclothe\w*|nudif\w*|nude\w*|naked\w*|deep ?nude\w*"
    rf"|cloth\w* ?(?:off|remov\w*)|(?:remov|eras|tak|strip)\w* (?:\w+ )?{_GARMENTS_EN}( off)?"
    r"|without (?:clothes|clothing)|birthday suit|x-?ray\w*|see[- ]?through|sees? through"
    r"|under (?:the |her |their )?clothes"
    r"|раздева\w*|раздет\w*|разден\w*|голы\w*|гола\w*|голой|голышом|без одежд\w*"
    rf"|{_REMOVE_RU} (?:\w+ )?{_GARMENTS_RU}|{_REMOVE_RU} вс[её]|без всего|догола|до гола|нюд\w*"
    r"|под одежд\w*|дорису\w*|обнаж\w*"
    r"|роздяг\w*|голи\w*|голяком|оголен\w*|без одяг\w*|під одяг\w*|домалю\w*"
    rf"|{_REMOVE_UK} (?:\w+ )?{_GARMENTS_UK}|{_REMOVE_UK} все"
    r"|рентген\w*|emclothes emno")
#: Words that hint at the service without naming it: what an advert that avoids the
#: service words says instead ("18+ version", "uncensored", "what's underneath").
HINT_WORDS = re.compile(
    r"\b(?:18|em18|nsfw|uncensored|unfilter\w*|without filters?|no filters?|reveal\w*"
    r"|underneath|uncover\w*|no censorship|censorship|spicy|private version"
    r"|нсфв|цензур\w*|без цензур\w*|откровенн\w*|раскры\w*|без ткан\w*|без фильтр\w*"
    r"|под (?:ней|платьем|свитером|формой)"
    r"|цензур\w*|відверт\w*|розкри\w*|без тканин\w*|без фільтр\w*"
    r"|під (?:нею|сукнею|светром|формою))\b")
CHAR_NGRAMS = (2, 5)
_WORDS = re.compile(r"\w+")


def char_ngrams(text: str) -> list[str]:
    """The ``char_wb`` n-grams of ``text``: each word padded with one space each side."""
    low, high = CHAR_NGRAMS
    grams: list[str] = []
    for word in text.split():
        padded = f" {word} "
        for n in range(low, high + 1):
            if n > len(padded):
                break
            grams.extend(padded[i:i + n] for i in range(len(padded) - n + 1))
    return grams


def word_features(text: str) -> list[str]:
    words = _WORDS.findall(text)
    pairs = [f"{a} {b}" for a, b in itertools.pairwise(words)]
    return [f"w:{w}" for w in words] + [f"p:{p}" for p in pairs]


def slot(feature: str) -> int:
    return zlib.crc32(feature.encode()) % N_FEATURES


def features(text: str) -> list[str]:
    """Char n-grams and word features; where the text names the service ("undress",
    "раздеть", "без одягу" …) the word features once more, marked ``S|``. A linear
    model cannot weigh "free, send a photo, @…_bot" differently with and without a
    word for undressing; these copies let it: an advert for a background remover and
    an advert for an undressing bot share everything else. Texts that only hint
    ("18+ version", "uncensored", "what's underneath") get their own copies, ``H|``.
    Character 4-grams across word boundaries come last."""
    words = word_features(text)
    named = [f"S|{w}" for w in words] + ["S|"] if SERVICE_WORDS.search(text) else []
    if not named and HINT_WORDS.search(text):
        named = [f"H|{w}" for w in words] + ["H|"]
    return char_ngrams(text) + words + named + [f"c:{g}" for g in _cross_grams(text)]


def _cross_grams(text: str) -> list[str]:
    """Character 4-grams that span a word boundary ("r th", "f cl"): short phrases
    ("no towel", "под свитером") that word pairs miss when a word is inflected."""
    out = []
    for i in range(len(text) - 3):
        g = text[i:i + 4]
        if " " in g[1:3]:
            out.append(g)
    return out


def vector(text: str) -> dict[int, float]:
    """Slot → value: 1 + log(count) per feature, scaled to unit length."""
    counts = Counter(slot(f) for f in features(text))
    values = {i: 1.0 + math.log(c) for i, c in counts.items()}
    norm = math.sqrt(sum(v * v for v in values.values())) or 1.0
    return {i: v / norm for i, v in values.items()}
