"""Veil's own n-gram extraction is scikit-learn's (``char_wb`` and word n-grams), so
the reference's analysers are what it is held to."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from sklearn.feature_extraction.text import CountVectorizer

from veil.text.features import CHAR_NGRAMS, char_ngrams, features, vector, word_features
from veil.text.normalize import normalize

TRAIN = Path(__file__).parents[1] / "data" / "text" / "train"


def _texts() -> list[str]:
    rows = [json.loads(line) for p in sorted(TRAIN.glob("*.jsonl")) for line in p.open()]
    return [normalize(r["text"]).text for r in rows[::7]] + ["a", "я і", "", "  x  y "]


def test_char_ngrams_are_scikit_learns_char_wb() -> None:
    reference = CountVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS,
                                lowercase=False).build_analyzer()
    for text in _texts():
        assert char_ngrams(text) == reference(text), text


def test_word_features_are_scikit_learns_word_unigrams_and_pairs() -> None:
    reference = CountVectorizer(ngram_range=(1, 2), lowercase=False).build_analyzer()
    for text in _texts():
        # scikit-learn's default token pattern drops one-letter words; Veil keeps them
        # ("я", "і"), so compare with that pattern
        ref = CountVectorizer(ngram_range=(1, 2), lowercase=False,
                              token_pattern=r"(?u)\b\w+\b").build_analyzer()(text)
        ours = [f[2:] for f in word_features(text)]
        assert sorted(ours) == sorted(ref), text
    assert reference("a big cat") == ["big", "cat", "big cat"]  # the default, for contrast


def test_a_vector_weighs_repeats_sublinearly_and_has_unit_length() -> None:
    # "ab ab": six char n-grams and the word twice each (1 + ln 2); the pair and the
    # two 4-grams across the space ("ab a", "b ab") once (1)
    values = sorted(vector("ab ab").values())
    repeated = 1 + math.log(2)
    norm = math.sqrt(7 * repeated**2 + 3)
    assert values == pytest.approx([1 / norm] * 3 + [repeated / norm] * 7)


def test_four_grams_across_words_and_copies_for_service_and_hint_words() -> None:
    assert [f for f in features("no towel") if f.startswith("c:")] == [
        "c:no t", "c:o to"]
    plain, hinted, named = (features(t) for t in (
        "send a photo", "send a photo uncensored", "send a photo undress"))
    assert not any(f[:2] in ("S|", "H|") for f in plain)
    assert "H|w:photo" in hinted and not any(f.startswith("S|") for f in hinted)
    assert "S|w:photo" in named and not any(f.startswith("H|") for f in named)
