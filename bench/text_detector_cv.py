"""The text detector on a new author's posts, estimated without the held-out set:
each written set (``tests/data/text/dev*``) is left out in turn, the model is trained
on ``train/`` and the other written sets as ``veil.text.train`` trains it (threshold
from their out-of-fold scores), and the set left out is scored as written and in
every disguised form. This is what chose the detector's settings
(``docs/text-detector.md``); the held-out set (``heldout3/``) is never read here.

    .venv/bin/python bench/text_detector_cv.py      # about four minutes

There is no reference to compare with: the figure is the detector's own estimate.
"""

from __future__ import annotations

import argparse
import random
from collections import defaultdict

import numpy as np
from scipy.sparse import vstack
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from veil.text import train
from veil.text.measure import FORMS, shown


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--errors", action="store_true",
                    help="print each left-out set's misses and false positives (as written)")
    args = ap.parse_args()
    written = sorted(p.name for p in train.DATA.glob("dev*"))
    sets = {n: train.load_rows(train.DATA / n) for n in ["train", *written]}
    aug = {}
    for i, (name, rows) in enumerate(sets.items()):
        ex = train.augmented(rows, seed=i)
        aug[name] = (train.matrix([e.text for e in ex]), np.array([e.label for e in ex]),
                     np.array([e.group for e in ex]))

    def model() -> LogisticRegression:
        return LogisticRegression(C=train.C, solver="liblinear", class_weight="balanced",
                                  random_state=0)

    print("| left out | threshold | recall | false positives | recall at 1% FP |")
    print("|---|---:|---:|---:|---:|")
    results = []
    by: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    caught: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for out in written:
        xs, ys, gs, cal, off = [], [], [], [], 0
        for name in ["train", *(w for w in written if w != out)]:
            x, y, g = aug[name]
            xs.append(x)
            ys.append(y)
            gs.append(g + off)
            off += int(g.max()) + 1
            cal.append(np.full(len(y), name != "train"))
        x, y, g = vstack(xs).tocsr(), np.concatenate(ys), np.concatenate(gs)
        calibrates = np.concatenate(cal)
        weight = np.where(calibrates, train.WRITTEN_WEIGHT, 1.0)
        oof = np.zeros(len(y))
        for tr, te in GroupKFold(n_splits=5).split(x, y, g):
            oof[te] = model().fit(x[tr], y[tr], weight[tr]).predict_proba(x[te])[:, 1]
        threshold = train.threshold_for(oof[calibrates], y[calibrates], train.TARGET_FPR)
        fitted = model().fit(x, y, weight)
        rng = random.Random(0)
        texts, labels, langs, forms = [], [], [], []
        for row in sets[out]:
            for form in FORMS:
                texts.append(shown(str(row["text"]), form, rng))
                labels.append(int(str(row["label"])))
                langs.append(str(row["lang"]))
                forms.append(form)
        s = fitted.predict_proba(train.matrix(texts))[:, 1]
        lab = np.array(labels)
        flagged = s >= threshold
        for lg, fm, label, hit in zip(langs, forms, labels, flagged, strict=True):
            for key in (lg, fm):
                by[key][label] += 1
                caught[key][label] += int(hit)
        if args.errors:
            for text, form, label, score, hit in zip(texts, forms, labels, s, flagged,
                                                     strict=True):
                if form == "clean" and hit != bool(label):
                    print(f"  {out} {'MISS' if label else 'FP  '} {score:.2f} {text!r}")
        negatives = np.sort(s[lab == 0])[::-1]
        at_1pct = (s[lab == 1] > negatives[int(0.01 * len(negatives))]).mean()
        results.append((flagged[lab == 1].mean(), flagged[lab == 0].mean(), at_1pct))
        print(f"| {out} | {threshold:.3f} | {100 * results[-1][0]:.1f}% | "
              f"{100 * results[-1][1]:.2f}% | {100 * at_1pct:.1f}% |")
    r = np.mean(results, axis=0)
    print(f"| **mean** | | **{100 * r[0]:.1f}%** | **{100 * r[1]:.2f}%** | {100 * r[2]:.1f}% |")
    print("\nAll left-out posts together, by language and by form:\n")
    print("| | recall | false positives |")
    print("|---|---:|---:|")
    for key in sorted(by, key=lambda k: (k not in ("en", "ru", "uk"), FORMS.index(k)
                                         if k in FORMS else 0, k)):
        print(f"| {key} | {100 * caught[key][1] / by[key][1]:.1f}% | "
              f"{100 * caught[key][0] / by[key][0]:.2f}% |")


if __name__ == "__main__":
    main()
