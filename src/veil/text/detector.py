"""Does a text advertise an "undressing" service? A score, a decision, the evidence.

The text is normalised (``normalize``: the obfuscations undone), hashed into n-gram
features and scored by the linear model. Evidence is what a moderator needs to see
why: the words that weighed most towards "advert", the service words and bot links
found, and the tricks that were undone. Only the first ``MAX_CHARS`` characters are
read (a Telegram message is at most 4,096), and at most that much of its normalised
form is scored, so no input costs more than about 40 ms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from veil.text.features import SERVICE_WORDS, char_ngrams, slot, vector, word_features
from veil.text.model import Model, shipped
from veil.text.normalize import normalize, shown

MAX_CHARS = 4096
#: Longest piece of evidence (a link, a word) quoted back.
EVIDENCE_CHARS = 120

_WORDS = re.compile(
    r"undress\w*|nudif\w*|deep ?nude\w*|clothes ?(?:off|remover)|without clothes|x-?ray\w*"
    r"|раздева\w*|раздет\w*|разден\w*|раздевал\w*|без одежд\w*|сн\w+ одежд\w*|нюд\w*"
    r"|роздяг\w*|без одяг\w*|зн\w+ одяг\w*|рентген\w*|emclothes emno"
)


_WORDS = re.compile(r"\w+")


@dataclass(frozen=True)
class Evidence:
    #: ``words`` (weighed most towards an advert), ``service word``, ``link`` or
    #: ``trick`` (an obfuscation that was undone)
    kind: str
    text: str


@dataclass(frozen=True)
class TextVerdict:
    nudify_service: bool
    score: float
    evidence: list[Evidence] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {"nudify_service": self.nudify_service, "score": round(self.score, 4),
                "evidence": [{"kind": e.kind, "text": e.text} for e in self.evidence]}


def check(text: str, model: Model | None = None,
          threshold: float | None = None) -> TextVerdict:
    """``threshold``: flag at this score instead of the model's own."""
    model = model or shipped()
    norm = normalize(text[:MAX_CHARS])
    # undoing emoji can lengthen a text ~10×: what is scored is bounded too
    norm.text = norm.text[:MAX_CHARS]
    score = model.score(vector(norm.text))
    evidence = [Evidence("words", w) for w in _weighty_words(norm.text, model)]
    seen = dict.fromkeys(m.group() for m in SERVICE_WORDS.finditer(norm.text))
    evidence += [Evidence("service word", _cut(shown(w))) for w in seen]
    evidence += [Evidence("link", _cut(link)) for link in dict.fromkeys(norm.links)]
    evidence += [Evidence("trick", t) for t in norm.tricks]
    return TextVerdict(score >= (threshold or model.threshold), score, evidence)


def _cut(text: str, most: int = EVIDENCE_CHARS) -> str:
    return text if len(text) <= most else text[:most - 1] + "…"


def _weighty_words(text: str, model: Model, top: int = 3) -> list[str]:
    """The words whose features push the score up most (each word's n-grams and its
    word feature, unscaled: the ranking is what matters)."""
    w = model.weights
    weighed = []
    for word in dict.fromkeys(_WORDS.findall(text)):
        if word.startswith("zz"):
            continue  # a link placeholder: links are reported as links
        total = sum(w.get(slot(g), 0.0) for g in char_ngrams(word) + word_features(word))
        if total > 0:
            weighed.append((total, word))
    return [_cut(shown(word)) for _, word in sorted(weighed, reverse=True)[:top]]
