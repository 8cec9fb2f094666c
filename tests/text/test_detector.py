"""The shipped detector on posts written for this test (neither in the training set
nor in the held-out set): adverts flagged however they are disguised, the hard
negatives left alone, evidence that says why, bounded work for any input."""

from __future__ import annotations

import random

import pytest

from veil.text.detector import EVIDENCE_CHARS, check
from veil.text.obfuscate import OBFUSCATIONS, combined

ADVERTS = [
    "Any photo, any girl: our neural net takes the clothes off in 10 seconds. Try free "
    "@ClothesGoneBot",
    "Upload a selfie of someone and the AI will undress it. 20 stars per photo",
    "Раздеваем любые фото за 5 секунд, первые три бесплатно 👉 @GolayaKartinkaBot",
    "Надішли фото будь-кого, і бот зніме з неї одяг. Перша спроба безкоштовна",
]
NOT_ADVERTS = [
    "Police shut down a bot that undressed photos of women; its owner faces charges",
    "Someone ran my picture through an undress app and posted it. How do I get it removed?",
    "Не пользуйтесь ботами для раздевания: это преступление, а пострадавшим нужна помощь",
    "Поліція заблокувала бот, що роздягав фото школярок",
    "Remove the background from any photo in one tap, free trial @CutOutBot",
    "Summer dresses and swimsuits -40%, free delivery this week",
    "Примерь новое пальто онлайн: загрузи фото и выбери размер",
]


@pytest.mark.parametrize("text", ADVERTS)
def test_adverts_are_flagged_with_evidence(text: str) -> None:
    v = check(text)
    assert v.nudify_service, (text, v.score)
    assert any(e.kind == "words" for e in v.evidence)


@pytest.mark.parametrize("text", NOT_ADVERTS)
def test_news_victims_advocates_editors_and_shops_are_not_flagged(text: str) -> None:
    v = check(text)
    assert not v.nudify_service, (text, v.score)


#: Of 20 disguised copies of the adverts, how many must still be flagged. Undoable
#: tricks leave the text as it was: all but one. Spaced letters are undone only where
#: four or more single letters stand in a row; an emoji replaces a word for good
#: (docs/text-detector.md: 88.6% recall on the held-out set). Without normalisation
#: the same model flags 15, 16, 10, 17, 14 and 15 of them.
FLAGGED_OF_20 = {"homoglyphs": 19, "leet": 19, "spacing": 16, "styled": 19, "zero-width": 19,
                 "emoji": 14}


@pytest.mark.parametrize("name", sorted(OBFUSCATIONS))
def test_disguised_adverts_are_still_flagged(name: str) -> None:
    rng = random.Random(1)
    flagged = 0
    for text in ADVERTS:
        for _ in range(5):
            v = check(OBFUSCATIONS[name](text, rng))
            flagged += v.nudify_service
    assert flagged >= FLAGGED_OF_20[name], (name, flagged)


def test_evidence_lists_links_as_written_and_the_tricks_undone() -> None:
    v = check("Undrеss any photo now: t.me/Quick_Undress_Bot")  # Cyrillic е
    assert v.nudify_service
    kinds = {(e.kind, e.text) for e in v.evidence}
    assert ("link", "t.me/Quick_Undress_Bot") in kinds
    assert ("trick", "look-alike letters") in kinds
    assert ("service word", "undress") in kinds


def test_combined_tricks_on_an_advert() -> None:
    rng = random.Random(3)
    hits = sum(check(combined(ADVERTS[0], rng)).nudify_service for _ in range(20))
    assert hits >= 18


@pytest.mark.parametrize("hostile", [
    "",
    "\u200b" * 100_000,
    "a" * 1_000_000,
    "🇺" * 50_000,
    "t.me/" + "x" * 100_000,
    "\ud800 lone surrogate \udfff",
    "\x00\x01\x02 control characters",
])
def test_hostile_input_gives_an_answer_with_short_evidence(hostile: str) -> None:
    v = check(hostile)
    assert 0.0 <= v.score <= 1.0
    assert all(len(e.text) <= EVIDENCE_CHARS for e in v.evidence)


def test_evidence_shows_emoji_as_emoji_not_placeholder_words() -> None:
    v = check("Send her 📸 and the 🤖 takes the 👗 off 👗❌ 🔞 @x_bot")
    assert v.nudify_service
    texts = [e.text for e in v.evidence]
    assert not any(w in t for t in texts for w in ("emclothes", "embot", "emno", "emphoto"))
    assert "👗 ❌" in texts and ("trick", "emoji words") in {(e.kind, e.text) for e in v.evidence}
