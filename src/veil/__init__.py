"""Veil: keep non-consensual intimate images off platforms.

Data flows one way: media bytes -> decode (``veil.media``) -> signals
(``veil.signals``) -> index (``veil.index``)
-> verdict -> actions. See ../shared/DESIGN.md for the vocabulary.
"""

__version__ = "0.1.0"
