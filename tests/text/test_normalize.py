"""Normalisation undoes each obfuscation an ad uses, and says which it undid; plain
text in any of the three languages passes through unchanged but for case."""

from __future__ import annotations

import random

import pytest

from veil.text.normalize import normalize
from veil.text.obfuscate import OBFUSCATIONS


@pytest.mark.parametrize(("raw", "text", "trick"), [
    ("Undrеss", "undress", "look-alike letters"),  # Cyrillic е
    ("pаздеть", "раздеть", "look-alike letters"),  # Latin p, Cyrillic rest
    ("nud1fy", "nudify", "digits for letters"),
    ("ра3деть", "раздеть", "digits for letters"),
    ("un\u200bdr\u00adess", "undress", "invisible"),
    ("n u d i f y", "nudify", "spaced letters"),
    ("р.а.з.д.е.т.ь", "раздеть", "spaced letters"),
    ("𝐮𝐧𝐝𝐫𝐞𝐬𝐬", "undress", "styled letters"),
    ("🇺🇳🇩🇷🇪🇸🇸", "undress", "emoji letters"),
    ("👗❌", "emclothes emno", "emoji words"),
    ("undresssss", "undress", "repeated letters"),
])
def test_each_trick_is_undone_and_named(raw: str, text: str, trick: str) -> None:
    out = normalize(raw)
    assert out.text == text
    assert trick in out.tricks


@pytest.mark.parametrize("plain", [
    "Police arrested the owner of a bot, 3 suspects, 100 usdt, mp4, 4k, x5, $5",
    "Суд вынес приговор 12 марта, штраф 5000₽",
    "Ми допомагаємо постраждалим: гаряча лінія 24/7",
])
def test_plain_text_is_only_lowercased_and_names_no_trick(plain: str) -> None:
    out = normalize(plain)
    assert out.tricks == []
    assert out.text == " ".join(plain.casefold().split())


def test_links_and_handles_are_kept_marked_and_listed_as_written() -> None:
    out = normalize("Try t.me/CoolEditBot or @Raz_Bot, site: Nudify.AI/start and @someone")
    assert out.links == ["t.me/CoolEditBot", "Nudify.AI/start", "@Raz_Bot", "@someone"]
    assert "zzbotlink t me cooleditbot" in out.text
    assert "zzbotlink raz bot" in out.text and "zzhandle someone" in out.text
    assert "zzlink nudify ai start" in out.text


@pytest.mark.parametrize("name", sorted(set(OBFUSCATIONS) - {"emoji"}))
def test_an_obfuscated_phrase_normalises_back(name: str) -> None:
    """What ``veil.text.obfuscate`` does (training and measurement use it), undone:
    the service word comes back in every language."""
    for phrase, word in (("undress any photo", "undress"), ("раздеть любое фото", "раздеть"),
                         ("роздягнути будь-яке фото", "роздягнути")):
        for seed in range(20):
            assert word in normalize(OBFUSCATIONS[name](phrase, random.Random(seed))).text, (
                name, seed)


def test_emoji_that_replace_words_become_the_same_placeholder_in_every_language() -> None:
    """An emoji stands for a word in any language; it cannot be turned back into the
    word it replaced, so it becomes one placeholder word the model learned."""
    for phrase in ("remove the clothes from any photo", "убрать одежду с любого фото",
                   "прибрати одяг з будь-якого фото"):
        out = normalize(OBFUSCATIONS["emoji"](phrase, random.Random(0)))
        assert "emclothes" in out.text.split() and "emphoto" in out.text.split(), out.text
        assert "emoji words" in out.tricks
