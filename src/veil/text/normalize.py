"""Undo the tricks ads use to slip past word filters, and say which were used.

An advertiser writes "undrеss" with a Cyrillic е, "n u d i f y", "und​ress" with a
zero-width space, "nud1fy", "𝐮𝐧𝐝𝐫𝐞𝐬𝐬" or 👗❌. The detector reads the text after
this step, so each trick costs it nothing; the tricks themselves are evidence too
(ordinary posts rarely mix scripts inside a word), so they are reported.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

#: Letters that look alike in Latin and Cyrillic (and Greek, folded to Latin), after
#: casefolding. A word is written in the script most of its letters use; look-alikes
#: from the other script are mapped into it.
_TO_LAT = {**dict(zip("аеорсухіјѕкмтвнԁӏһԛԝ", "aeopcyxijskmtbhdlhqw", strict=True)),
           **dict(zip("αορικντυχεβμ", "aopikvtuxebu", strict=True))}  # Cyrillic, Greek
_LAT_TO_CYR = dict(zip("aeopcyxikmthb", "аеорсухікмтнв", strict=True))
#: Digits and signs standing for letters, inside words that have letters.
_LEET_LAT = dict(zip("0134578@$", "oieastbas", strict=True))
_LEET_CYR = dict(zip("034@6", "озчаб", strict=True))

#: Emoji that stand for words in these ads, as placeholder words the same in every
#: language (so a Russian and an English ad share them).
_EMOJI = {
    **dict.fromkeys("👗👚👕👙🩱🩲🩳👘🥻👖🧥👔🧦👠👡👢👒🎩👛", " emclothes "),
    **dict.fromkeys("❌🚫⛔✖", " emno "),
    **dict.fromkeys("🔞", " em18 "),
    **dict.fromkeys("🤖", " embot "),
    **dict.fromkeys("📸📷🖼🤳", " emphoto "),
    **dict.fromkeys("👀🔍🔎", " emlook "),
    **dict.fromkeys("🍑🍒💦👅🫦💋", " emhint "),
    **dict.fromkeys("➡👉👇⬇", " emarrow "),
}
#: How a placeholder word is shown back to people (evidence): one emoji it stands for.
SHOWN_AS = {"emclothes": "👗", "emno": "❌", "em18": "🔞", "embot": "🤖", "emphoto": "📸",
            "emlook": "👀", "emhint": "🍑", "emarrow": "👉"}
_PLACEHOLDER = re.compile(r"\b(?:" + "|".join(SHOWN_AS) + r")\b")


def shown(text: str) -> str:
    """``text`` with placeholder words turned back into the emoji they stand for."""
    return _PLACEHOLDER.sub(lambda m: SHOWN_AS[m.group()], text)


_VARIATION = "\ufe0f\ufe0e\u20e3"  # emoji presentation selectors, keycap
#: Blank-looking characters that are neither format controls nor spaces to Unicode.
_BLANKS = dict.fromkeys(map(ord, "\u2800\u3164\u115f\u1160\uffa0\u180e"), " ")

_SEPARATORS = r"[\s.\-_*·•|/+~']"
#: Four or more single letters in a row, one to three separators apart: "n u d e".
_SPACED = re.compile(rf"(?<!\w)(?:\w{_SEPARATORS}{{1,3}}){{3,}}\w(?!\w)")
_SPACED_SEP = re.compile(_SEPARATORS)
_REPEATS = re.compile(r"([^\W\d_])\1{2,}")
_WORD = re.compile(r"[\w@$]+")
_URL = re.compile(r"(?:https?://)?(?:t\.me|telegram\.me)/\S+|https?://\S+|\b[\w-]+\.(?:ai|app|xyz|io|me|site|online|pro|fun|bot)\b(?:/\S*)?",
                 re.IGNORECASE)
_HANDLE = re.compile(r"@\w{3,}")
#: Numbers with a unit or a short prefix ("100usdt", "x5", "mp4", "4k"): not leet.
_UNIT = re.compile(r"^[\d$]+[^\W\d]{0,5}$|^[^\W\d]{0,3}\d+$")
#: Up to three digits (or @, $) in a row: "355" in "undr355".
_DIGIT_RUN = re.compile(r"[\d@$]{1,3}")
_BOT_NAME = re.compile(r"bot\b|_bot\b|бот\b")


@dataclass
class Normalized:
    """The text as the detector reads it, and what was undone to get there."""

    text: str
    tricks: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)

    def trick(self, name: str) -> None:
        if name not in self.tricks:
            self.tricks.append(name)


def normalize(raw: str) -> Normalized:
    out = Normalized("")
    # a lone surrogate (JSON "\ud800" decodes to one) is no character: make it U+FFFD
    text = raw.encode("utf-8", "replace").decode("utf-8") if _has_surrogate(raw) else raw
    text = text.translate(_BLANKS)
    if any(unicodedata.category(c) == "Cf" for c in text):
        out.trick("invisible")
        text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    styled = unicodedata.normalize("NFKC", text)
    if styled != unicodedata.normalize("NFC", text):
        out.trick("styled letters")
    text = _regional_letters(styled, out)
    text = _links(_emoji_words(text, out), out)
    text = "".join(c for c in unicodedata.normalize("NFD", text.casefold())
                   if unicodedata.category(c) != "Mn")
    text = unicodedata.normalize("NFC", text)
    text = _SPACED.sub(lambda m: _joined(m, out), text)
    text = _WORD.sub(lambda m: _one_script(m.group(), out), text)
    repeated = _REPEATS.sub(r"\1\1", text)
    if repeated != text:
        out.trick("repeated letters")
    out.text = " ".join(repeated.split())
    return out


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _regional_letters(text: str, out: Normalized) -> str:
    """🇺🇳🇩🇷🇪🇸🇸: regional indicator symbols read as letters (a flag is two of them,
    which reads as two letters: harmless)."""
    if not any("\U0001f1e6" <= c <= "\U0001f1ff" for c in text):
        return text
    out.trick("emoji letters")
    return "".join(chr(ord(c) - 0x1F1E6 + ord("a")) if "\U0001f1e6" <= c <= "\U0001f1ff"
                   else c for c in text)


def _emoji_words(text: str, out: Normalized) -> str:
    parts = []
    for c in text:
        word = _EMOJI.get(c)
        if word is not None:
            out.trick("emoji words")
            parts.append(word)
        elif c not in _VARIATION:
            parts.append(c)
    return "".join(parts)


def _links(text: str, out: Normalized) -> str:
    """Links and @handles are kept as words (a bot's name says what it sells), marked
    with placeholder words the model can weigh: ``zzlink``, ``zzbotlink``, ``zzhandle``."""

    def link(m: re.Match[str]) -> str:
        url = m.group().rstrip(".,!?)»\"'")
        out.links.append(url)
        target = re.sub(r"^(?:https?://)?(?:www\.)?", "", url)
        kind = "zzbotlink" if _BOT_NAME.search(target.lower()) else "zzlink"
        return f" {kind} {re.sub(r'[./_-]+', ' ', target)} "

    def handle(m: re.Match[str]) -> str:
        name = m.group()
        out.links.append(name)
        kind = "zzbotlink" if _BOT_NAME.search(name.lower()) else "zzhandle"
        return f" {kind} {name[1:].replace('_', ' ')} "

    return _HANDLE.sub(handle, _URL.sub(link, text))


def _joined(m: re.Match[str], out: Normalized) -> str:
    out.trick("spaced letters")
    return _SPACED_SEP.sub("", m.group())


def _one_script(word: str, out: Normalized) -> str:
    """Write a word in one script: look-alike letters of the other script and digits
    standing for letters are mapped into the script most of its letters use."""
    latin = sum("a" <= c <= "z" for c in word)
    cyrillic = sum("\u0400" <= c <= "\u04ff" for c in word)
    greek = sum("\u0370" <= c <= "\u03ff" for c in word)
    if not (latin or cyrillic or greek):
        return word
    if cyrillic > latin + greek:
        letters, leet = _LAT_TO_CYR, _LEET_CYR
    else:
        letters, leet = _TO_LAT, _LEET_LAT
    mapped = [letters.get(c, c) for c in word]
    if mapped != list(word):
        out.trick("look-alike letters")
    if not _UNIT.match(word):
        for run in _DIGIT_RUN.finditer(word):
            if _beside_letter(word, run.start(), run.end()) and all(c in leet for c in run.group()):
                mapped[run.start():run.end()] = [leet[c] for c in run.group()]
                out.trick("digits for letters")
    return "".join(mapped)


def _beside_letter(word: str, start: int, end: int) -> bool:
    return (start > 0 and word[start - 1].isalpha()) or (end < len(word) and word[end].isalpha())
