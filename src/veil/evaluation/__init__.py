"""Evaluation harnesses: how well Veil's signals hold up on real-world edits.

``transforms`` (the seeded suite of edits, with ``overlays`` and ``screenshot`` for the
drawn ones), ``modes`` (what is compared: each registered signal type,
``<name>_dihedral`` where a type can hash the 8 rotations/mirrors, and ``region``, the
region signal), ``scales`` (how a mode's values read: Hamming bits, or agreeing
keypoints where more is closer), ``corpus``,
``runner`` (parallel hashing), ``metrics`` (recall, false-match rate, bounds,
thresholds, ROC), ``analysis`` (metrics applied to a run), ``report`` (Markdown) and
``plots`` (PNG, matplotlib imported lazily).

Imports ``veil.signals``, ``veil.regions``, ``veil.media``, ``veil.config`` and
``veil.errors`` only; signals are computed through their public protocol, never
re-implemented here. ``derived`` makes the derived copies of ``bench/derived.py``.
"""
