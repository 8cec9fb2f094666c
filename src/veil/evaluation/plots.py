"""PNG plots of a run, readable at a glance and small enough to commit.

One colour per signal type, solid for the plain mode and dashed for its dihedral
mode. Figures are quantised to a small palette after drawing: flat-colour line
art loses nothing visible and the files shrink several-fold.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from veil.evaluation.analysis import FAIL, HOLD, ModeSummary, Summary

#: Colours for the plotted groups of edits in the distance histograms.
GROUP_COLOURS = {"pixels": "#2a9d8f", "geometry": "#e76f51", "overlay": "#8e5ea2",
                 "mixed": "#e9c46a"}
GROUP_NAMES = {"pixels": "codec, colour, scale", "geometry": "crops, rotations, mirrors",
               "overlay": "text, stickers, borders, screenshots", "mixed": "combinations"}
PALETTE_COLOURS = 64
DPI = 72


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.titlesize": 9, "axes.spines.top": False,
                         "axes.spines.right": False, "legend.frameon": False})
    return plt


def _style(summary: Summary) -> dict[str, tuple[str, str]]:
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
               "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
    bases = list(dict.fromkeys(m.info.base for m in summary.modes))
    out = {}
    for m in summary.modes:
        colour = colours[bases.index(m.info.base) % len(colours)]
        out[m.name] = (colour, "-" if m.name == m.info.base else "--")
    return out


def save_compact(fig: Any, path: Path) -> Path:
    """Save ``fig`` as a palette PNG (a fraction of matplotlib's RGBA size)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    buf.seek(0)
    with Image.open(buf) as im:
        small = im.convert("RGB").quantize(PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT)
        path.parent.mkdir(parents=True, exist_ok=True)
        small.save(path, optimize=True)
    return path


def recall_grid(summary: Summary, path: Path, *, target: float | None = None) -> Path | None:
    """Recall vs strength, one panel per transformation, one line per signal mode.

    ``target`` None: at each mode's default threshold; else at the threshold tuned
    for that false-match rate (modes that cannot be tuned are left out).
    """
    plt = _pyplot()
    series: list[tuple[ModeSummary, np.ndarray, str]] = []
    for m in summary.modes:
        if target is None:
            series.append((m, m.recall_default,
                           f"{m.name} ({m.info.scale.at(m.info.default_threshold, '')})"))
            continue
        t = m.tuned_for(target)
        if t is not None and t.recall is not None and t.threshold is not None:
            series.append((m, t.recall, f"{m.name} ({m.info.scale.at(t.threshold, '')})"))
    if not series:
        return None
    views = [v for v in summary.families if v.family.name != "identity"] or summary.families
    cols = min(5, len(views))
    rows = math.ceil(len(views) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.5 * rows + 0.8),
                             squeeze=False)
    style = _style(summary)
    markers = "osD^vP*X"
    for ax, view in zip(axes.flat, views, strict=False):
        x = np.arange(len(view.columns))
        # Later series thinner, so lines that coincide (often: 100% or 0%) stay visible.
        for k, (m, rec, _) in enumerate(series):
            colour, dash = style[m.name]
            ax.plot(x, [rec[i] for i in view.columns], dash, color=colour,
                    marker=markers[k % len(markers)], markersize=4.5 - 0.6 * k,
                    linewidth=max(0.8, 2.6 - 0.5 * k))
        ax.axhline(HOLD, color="#999999", linewidth=0.6, linestyle=":")
        ax.axhline(FAIL, color="#999999", linewidth=0.6, linestyle=":")
        ax.set_ylim(-0.04, 1.04)
        ax.set_xlim(-0.3, len(x) - 0.7)
        ax.set_xticks(x, [summary.results.variants[i].strength_label for i in view.columns],
                      fontsize=8)
        ax.set_title(view.family.name, loc="left", fontsize=9.5, fontweight="bold")
        ax.set_xlabel(view.family.title, fontsize=8, color="#444444")
        ax.set_yticks([0, 0.5, 0.9, 1.0], ["0", "50%", "90%", "100%"], fontsize=8)
    for ax in list(axes.flat)[len(views):]:
        ax.axis("off")
    what = ("default thresholds" if target is None
            else f"thresholds tuned for false-match rate ≤ {target:g} (95% bound)")
    fig.suptitle(f"Recall of edited copies vs strength, at {what} — "
                 f"{len(summary.results.photos)} photos", x=0.01, ha="left", fontsize=11)
    handles = [plt.Line2D([], [], color=style[m.name][0], linestyle=style[m.name][1],
                          marker=markers[k % len(markers)], linewidth=max(0.8, 2.6 - 0.5 * k))
               for k, (m, _, _) in enumerate(series)]
    fig.legend(handles, [label for _, _, label in series], loc="upper right",
               ncol=len(series), fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.55 / fig.get_figheight()))
    out = save_compact(fig, path)
    plt.close(fig)
    return out


def _edges(m: ModeSummary, values: list[np.ndarray]) -> np.ndarray:
    scale = m.info.scale
    if scale.higher_is_closer:
        # a score (agreeing keypoints): distinct photos sit at a few, copies at tens to
        # hundreds; whole numbers up to 10, then bins growing geometrically
        top = max([float(v.max()) for v in values if v.size] + [20.0])
        return np.unique(np.concatenate([np.arange(0, 10), np.geomspace(10, top + 1, 40)
                                         .round()])) - 0.5
    # ≥ 2 bits per bin: median-split hashes (PDQ, pHash) have a fixed number of set
    # bits, so their distances are all even and 1-bit bins would comb.
    width = max(2, scale.span // 64)
    return np.arange(0, scale.span + width + 1, width) - 0.5


def distance_histograms(summary: Summary, path: Path) -> Path:
    """Distances (or scores) of distinct pairs vs edited copies (by group of edit), per
    mode, in the mode's units."""
    plt = _pyplot()
    n = len(summary.modes)
    cols = min(2, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.2 * cols, 2.9 * rows + 1.1),
                             squeeze=False)
    groups = [g for g in GROUP_COLOURS if summary.group_columns(g)]
    for ax, m in zip(axes.flat, summary.modes, strict=False):
        scale = m.info.scale
        distinct = scale.values(summary.results.distinct[m.name])
        matched = summary.results.matched[m.name]
        copies = {g: scale.values(matched[:, summary.group_columns(g)].ravel()) for g in groups}
        edges = _edges(m, [distinct, *copies.values()])
        ax.hist(distinct, bins=edges, weights=_share(distinct), color="#bbbbbb",
                label="distinct photos")
        for g, d in copies.items():
            ax.hist(d, bins=edges, weights=_share(d), histtype="step", linewidth=1.4,
                    color=GROUP_COLOURS[g], label=f"edited: {GROUP_NAMES[g]}")
        ax.set_yscale("log")
        at = scale.value(m.info.default_threshold)
        ax.axvline(at, color="black", linewidth=1)
        ax.text(at, 0.97, f" default {scale.at(m.info.default_threshold, '')}",
                fontsize=8, va="top", transform=ax.get_xaxis_transform())
        t = m.tuned[0] if m.tuned else None
        if t is not None and t.threshold is not None:
            ax.axvline(scale.value(t.threshold), color="black", linewidth=1, linestyle="--")
        if scale.higher_is_closer:
            ax.set_xscale("symlog", linthresh=10, linscale=0.6)
            ax.set_xlim(-0.5, edges[-1])
            ticks = [t for t in (0, 5, 10, 20, 50, 100, 200, 500, 1000) if t <= edges[-1]]
            ax.set_xticks(ticks, [str(t) for t in ticks])
        else:
            ax.set_xlim(-1, scale.span + 1)
        pairs = f"{distinct.size:,} distinct pairs"
        ax.set_title(f"{m.name} ({scale.span} {scale.unit}; {pairs})"
                     if not scale.higher_is_closer
                     else f"{m.name} (more is closer; {pairs})", loc="left")
        ax.set_xlabel("Hamming distance (bits)" if scale.unit == "bits" else scale.unit)
        ax.set_ylabel("share per bin (log)", fontsize=8)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(3, len(labels)), fontsize=8.5)
    fig.suptitle("Edited copies vs distinct photos, compared with the original "
                 "(solid line: default threshold; dashed: tuned for FMR ≤ 1e-3)",
                 x=0.01, ha="left", fontsize=10)
    height = fig.get_figheight()
    fig.tight_layout(rect=(0, 0.75 / height, 1, 1 - 0.35 / height))
    out = save_compact(fig, path)
    plt.close(fig)
    return out


def _share(values: np.ndarray) -> np.ndarray:
    return np.full(values.size, 1.0 / max(values.size, 1))


def roc_curves(summary: Summary, path: Path) -> Path:
    """Recall (all edited copies pooled) vs false-match rate, thresholds 0..bits."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 5.2))
    style = _style(summary)
    pairs = summary.results.pair_count
    floor = 0.5 / max(pairs, 1)
    # one dotted line per number of pairs compared (a mode may compare a sample)
    compared = sorted({m.fmr_default.n for m in summary.modes} | {pairs}, reverse=True)
    for m in summary.modes:
        colour, dash = style[m.name]
        fmr = np.maximum(m.roc.fmr, floor)
        ax.plot(fmr, m.roc.recall, dash, color=colour, linewidth=1.6, label=m.name)
        t = m.info.default_threshold
        ax.plot([fmr[t]], [m.roc.recall[t]], "o", color=colour, markersize=6)
    for k, n in enumerate(compared):
        ax.axvline(1 / max(n, 1), color="#999999", linewidth=0.8, linestyle=":")
        ax.text(1 / max(n, 1), 0.02 + 0.05 * k,
                " one false pair" + (f" in {n:,}" if len(compared) > 1 else ""),
                fontsize=8, color="#666666")
    ax.set_xscale("log")
    ax.set_xlim(floor * 0.8, 1.05)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"false-match rate on the distinct pairs compared ({pairs:,}"
                  + (", or a sample" if len(compared) > 1 else "") + "; left edge: none observed)")
    ax.set_ylabel("recall, all edited copies pooled")
    ax.set_title("ROC per signal (dot: default threshold)", loc="left")
    ax.legend(loc="lower right")
    fig.tight_layout()
    out = save_compact(fig, path)
    plt.close(fig)
    return out


def write_all(summary: Summary, folder: Path) -> dict[str, Path]:
    from veil.evaluation.analysis import TARGETS

    made = {
        "recall": recall_grid(summary, folder / "recall.png"),
        "recall_tuned": recall_grid(summary, folder / "recall_tuned.png", target=TARGETS[0]),
        "distances": distance_histograms(summary, folder / "distances.png"),
        "roc": roc_curves(summary, folder / "roc.png"),
    }
    return {k: v for k, v in made.items() if v is not None}
