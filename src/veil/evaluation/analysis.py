"""The metrics applied to one run: per signal mode, false matches and tuned
thresholds on the distinct pairs, recall per variant, ROC, and where it breaks."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from veil.evaluation.metrics import (
    Breakdown,
    Rate,
    Roc,
    breakdown,
    certified_threshold,
    false_matches,
    min_pairs,
    recall,
    roc,
)
from veil.evaluation.runner import ModeInfo, Results
from veil.evaluation.transforms import Family

#: False-match rates the thresholds are tuned for.
TARGETS = (1e-3, 1e-4)
#: Recall that counts as "survives" and as "broken" in the summaries.
HOLD = 0.9
FAIL = 0.5
#: Quantiles of the distinct-pair distances shown in the report, closest first
#: ("closest": the smallest distance, or the largest score).
QUANTILES = {"closest": 0.0, "0.01%": 1e-4, "0.1%": 1e-3, "1%": 1e-2, "median": 0.5}


@dataclass(frozen=True, slots=True)
class Tuned:
    target: float
    #: None: the pairs cannot show any threshold meets the target.
    threshold: int | None
    false_matches: Rate | None
    recall: np.ndarray | None  # per variant
    pairs_needed: int


@dataclass(frozen=True, slots=True)
class ModeSummary:
    info: ModeInfo
    fmr_default: Rate
    recall_default: np.ndarray  # per variant
    tuned: tuple[Tuned, ...]
    roc: Roc
    #: Of the distinct-pair distances, in the mode's units (``QUANTILES``).
    quantiles: dict[str, float]
    #: Share of edited copies (per variant) whose quality is below the configured
    #: minimum, for types with a quality and a ``<type>_min_quality`` setting.
    low_quality: np.ndarray | None = None
    min_quality: int | None = None

    @property
    def name(self) -> str:
        return self.info.name

    def tuned_for(self, target: float) -> Tuned | None:
        return next((t for t in self.tuned if t.target == target), None)


@dataclass(frozen=True, slots=True)
class FamilyView:
    family: Family
    #: Indices into ``Results.variants``, in plotting order and mild → strong.
    columns: tuple[int, ...]
    by_severity: tuple[int, ...]


@dataclass
class Summary:
    results: Results
    modes: list[ModeSummary]
    families: list[FamilyView]
    extra_timings: dict[str, float] = field(default_factory=dict)

    def mode(self, name: str) -> ModeSummary:
        return next(m for m in self.modes if m.name == name)

    def breakdown(self, mode: ModeSummary, view: FamilyView,
                  recalls: np.ndarray | None = None) -> Breakdown:
        r = mode.recall_default if recalls is None else recalls
        return breakdown([float(r[i]) for i in view.by_severity], HOLD, FAIL)

    def group_columns(self, group: str) -> list[int]:
        return [i for i, v in enumerate(self.results.variants) if v.family.group == group]


def family_views(results: Results) -> list[FamilyView]:
    views: dict[str, FamilyView] = {}
    for v in results.variants:
        if v.name in views:
            continue
        cols = [i for i, w in enumerate(results.variants) if w.name == v.name]
        order = v.family.mild_to_strong()
        by_sev = sorted(cols, key=lambda i: order.index(results.variants[i].strength))
        views[v.name] = FamilyView(v.family, tuple(cols), tuple(by_sev))
    return list(views.values())


def _recalls(matched: np.ndarray, threshold: int) -> np.ndarray:
    return np.array([recall(matched[:, j], threshold) for j in range(matched.shape[1])])


def summarise_mode(results: Results, info: ModeInfo,
                   targets: tuple[float, ...] = TARGETS) -> ModeSummary:
    matched = results.matched[info.name]
    distinct = results.distinct[info.name]
    tuned: list[Tuned] = []
    if info.perceptual:
        for target in targets:
            t = certified_threshold(distinct, target, info.bits)
            tuned.append(Tuned(
                target, t,
                None if t is None else false_matches(distinct, t),
                None if t is None else _recalls(matched, t),
                min_pairs(target),
            ))
    # "lower": report distances that occur, not interpolations between them.
    quantiles = ({k: info.scale.value(float(np.quantile(distinct, q, method="lower")))
                  for k, q in QUANTILES.items()} if distinct.size else {})
    low = None
    # Quality belongs to the type's plain hash: reported once, on the mode that
    # carries the type's minimum.
    floor = info.min_quality
    q = results.quality.get(info.base) if floor is not None else None
    if q is not None and floor is not None:
        low = np.mean(np.nan_to_num(q, nan=np.inf) < floor, axis=0)
    return ModeSummary(
        info=info,
        fmr_default=false_matches(distinct, info.default_threshold),
        recall_default=_recalls(matched, info.default_threshold),
        tuned=tuple(tuned),
        roc=roc(matched, distinct, info.bits),
        quantiles=quantiles,
        low_quality=low,
        min_quality=floor if low is not None else None,
    )


def summarise(results: Results, targets: tuple[float, ...] = TARGETS) -> Summary:
    return Summary(results, [summarise_mode(results, m, targets) for m in results.modes],
                   family_views(results))
