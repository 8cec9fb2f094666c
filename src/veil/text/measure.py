"""How well the detector does on a labelled set: recall and false positives per
language and per obfuscation, at the model's own threshold.

Every post is scored as written and once per obfuscation (``veil.text.obfuscate``,
seeded), negatives included: a disguise must not turn a news report into an advert.
Used by ``bench/text_detector.py`` (the published figures) and ``tests/text``.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field

from veil.text.detector import check
from veil.text.model import Model
from veil.text.obfuscate import OBFUSCATIONS, combined

#: The ways each post is shown to the detector: as written, each obfuscation, two at once.
FORMS = ("clean", *sorted(OBFUSCATIONS), "combined")


@dataclass
class Tally:
    positives: int = 0
    caught: int = 0
    negatives: int = 0
    false_positives: int = 0

    def add(self, label: int, flagged: bool) -> None:
        if label:
            self.positives += 1
            self.caught += flagged
        else:
            self.negatives += 1
            self.false_positives += flagged

    @property
    def recall(self) -> float:
        return self.caught / self.positives if self.positives else float("nan")

    @property
    def fpr(self) -> float:
        return self.false_positives / self.negatives if self.negatives else float("nan")


@dataclass
class Report:
    by_lang_form: dict[tuple[str, str], Tally] = field(default_factory=dict)
    by_kind: dict[str, Tally] = field(default_factory=dict)
    #: (score, label) of every scored form, for a ROC curve
    scores: list[tuple[float, int]] = field(default_factory=list)
    #: the false positives and misses, as (lang, form, kind, text, score)
    errors: list[tuple[str, str, str, str, float]] = field(default_factory=list)

    def total(self, lang: str | None = None, form: str | None = None) -> Tally:
        out = Tally()
        for (lg, fm), t in self.by_lang_form.items():
            if (lang is None or lg == lang) and (form is None or fm == form):
                out.positives += t.positives
                out.caught += t.caught
                out.negatives += t.negatives
                out.false_positives += t.false_positives
        return out


def shown(text: str, form: str, rng: random.Random) -> str:
    if form == "clean":
        return text
    if form == "combined":
        return combined(text, rng)
    return OBFUSCATIONS[form](text, rng)


def measure(rows: Iterable[dict[str, object]], model: Model | None = None,
            seed: int = 0) -> Report:
    report = Report()
    rng = random.Random(seed)
    for row in rows:
        text, label = str(row["text"]), int(str(row["label"]))
        lang, kind = str(row["lang"]), str(row["kind"])
        for form in FORMS:
            verdict = check(shown(text, form, rng), model)
            report.by_lang_form.setdefault((lang, form), Tally()).add(
                label, verdict.nudify_service)
            report.by_kind.setdefault(kind, Tally()).add(label, verdict.nudify_service)
            report.scores.append((verdict.score, label))
            if verdict.nudify_service != bool(label):
                report.errors.append((lang, form, kind, text, verdict.score))
    return report
