"""Region signals: local features of a photo that survive crops, borders, tilts,
overlays and screenshots, and say which part of an upload agrees with a banked photo
and which part differs (a derived fake keeps face, pose and background and replaces
the rest). ``features`` computes them, ``blob`` is their stored form, ``compare``
verifies one pair geometrically, ``index`` finds the few banked photos worth
verifying (``buckets``: its hash tables; ``shelf``: where the blobs are kept)
(docs/derived.md)."""
