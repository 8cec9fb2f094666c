"""The text detector on the held-out set: recall and false positives per language
and per obfuscation, a ROC curve, and its speed against scikit-learn's own pipeline.

    .venv/bin/python bench/text_detector.py --plot docs/text-detector-roc.png

The held-out posts (``tests/data/text/heldout3``) were written by another author than
the training sets, before the model's last changes, and never used to develop it.
Speed: Veil's ``check`` (its own feature hashing, pure Python) against the reference
a scikit-learn user would write — ``HashingVectorizer`` (``char_wb`` 2–5, ``char``
4-grams, words and pairs) and the same logistic regression's ``predict_proba`` — one
text at a time, as messages arrive.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from veil.text.detector import check
from veil.text.measure import FORMS, measure
from veil.text.model import shipped
from veil.text.normalize import normalize
from veil.text.train import load_rows

HELDOUT = Path(__file__).parents[1] / "tests" / "data" / "text" / "heldout3"


def _pct(x: float) -> str:
    return "–" if x != x else f"{100 * x:.1f}%"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--plot", type=Path, help="write the ROC curve here (PNG)")
    ap.add_argument("--errors", action="store_true", help="print every miss and false positive")
    args = ap.parse_args()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows = load_rows(HELDOUT)
    model = shipped()
    report = measure(rows, model)
    langs = sorted({str(r["lang"]) for r in rows})
    print(f"\n{len(rows)} held-out posts, threshold {model.threshold:.4f}\n")
    head = " | ".join(f"{lg} recall | {lg} FP" for lg in langs)
    print(f"| form | {head} | all recall | all FP |")
    print("|---|" + "---:|" * (2 * len(langs) + 2))
    for form in FORMS:
        cells = []
        for lg in langs:
            t = report.total(lg, form)
            cells += [_pct(t.recall), _pct(t.fpr)]
        t = report.total(form=form)
        print(f"| {form} | " + " | ".join(cells) + f" | {_pct(t.recall)} | {_pct(t.fpr)} |")
    t = report.total()
    print("| **every form** | " + " | ".join(
        f"{_pct(report.total(lg).recall)} | {_pct(report.total(lg).fpr)}" for lg in langs)
        + f" | **{_pct(t.recall)}** | **{_pct(t.fpr)}** |")
    print("\n| kind | posts scored | flagged |\n|---|---:|---:|")
    for kind, k in sorted(report.by_kind.items()):
        n = k.positives or k.negatives
        print(f"| {kind} | {n} | {_pct((k.caught or k.false_positives) / n)} |")
    if args.errors:
        for lang, form, kind, text, score in report.errors:
            print(f"{lang} {form} {kind} {score:.3f} {text!r}")
    if args.plot:
        _plot(report.scores, model.threshold, args.plot)
        print(f"\nROC curve: {args.plot}")
    _speed(rows, model)


def _plot(scores: list[tuple[float, int]], threshold: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = np.array([x for x, _ in scores])
    y = np.array([lab for _, lab in scores])
    cuts = np.unique(s)[::-1]
    fpr = [(s[y == 0] >= c).mean() for c in cuts]
    tpr = [(s[y == 1] >= c).mean() for c in cuts]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.plot(fpr, tpr, label="held-out, every form")
    at = ((s[y == 0] >= threshold).mean(), (s[y == 1] >= threshold).mean())
    ax.plot(*at, "o", label=f"shipped threshold ({100 * at[0]:.1f}% FP, {100 * at[1]:.1f}% recall)")
    ax.axvline(0.01, color="grey", ls=":", label="1% false positives")
    ax.set_xscale("symlog", linthresh=0.001)
    ax.set_xlim(0, 1)
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("recall")
    ax.set_title("Text detector: adverts for undressing services")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _speed(rows: list[dict[str, object]], model) -> None:  # type: ignore[no-untyped-def]
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.linear_model import LogisticRegression

    texts = [str(r["text"]) for r in rows]
    chars = HashingVectorizer(analyzer="char_wb", ngram_range=(2, 5), n_features=1 << 18,
                              alternate_sign=False, norm=None)
    words = HashingVectorizer(ngram_range=(1, 2), n_features=1 << 18, alternate_sign=False,
                              norm=None, token_pattern=r"(?u)\b\w+\b")
    # char 4-grams: a superset of Veil's 4-grams across word boundaries
    cross = HashingVectorizer(analyzer="char", ngram_range=(4, 4), n_features=1 << 18,
                              alternate_sign=False, norm=None)
    x = csr_matrix(chars.transform(texts) + words.transform(texts) + cross.transform(texts))
    lr = LogisticRegression().fit(x, [int(str(r["label"])) for r in rows])

    def reference(text: str) -> float:
        norm = normalize(text).text
        v = chars.transform([norm]) + words.transform([norm]) + cross.transform([norm])
        return float(lr.predict_proba(v)[0, 1])

    for name, fn in (("Veil check()", lambda t: check(t, model)), ("scikit-learn", reference)):
        fn(texts[0])
        t0 = time.perf_counter()
        for t in texts:
            fn(t)
        dt = time.perf_counter() - t0
        rate = len(texts) / dt
        print(f"{name}: {rate:,.0f} texts/s ({1000 * dt / len(texts):.2f} ms each)")
        if name == "Veil check()":
            ours = rate
    print(f"ratio: {ours / rate:.1f}× the reference (both include normalisation)")


if __name__ == "__main__":
    main()
