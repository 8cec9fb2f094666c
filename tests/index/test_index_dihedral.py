"""Dihedral matching: a rotated or mirrored copy of a banked photo is found when the
query passes the 8 orientation hashes of ``compute_pdq(media).dihedral()``."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from index_data import entries, random_rows
from PIL import Image

from veil.config import MediaLimits
from veil.index import build_index
from veil.media.source import Media
from veil.signals.pdq import DIHEDRAL, compute_pdq

TURNS = [Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270,
         Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.FLIP_TOP_BOTTOM,
         Image.Transpose.TRANSPOSE, Image.Transpose.TRANSVERSE]


def _pdq(img: Image.Image):  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return compute_pdq(Media.from_bytes(buf.getvalue(), MediaLimits()))


@pytest.mark.corpus
def test_every_orientation_of_a_banked_photo_is_found(photos: list[Path]) -> None:
    rng = np.random.default_rng(3)
    original = Image.open(photos[3]).convert("RGB")
    turned = [original.transpose(t) for t in TURNS]
    bank = entries(random_rows(rng, 50_000), first_id=100)
    bank += [(i, "victims", "victim_submitted", _pdq(img).hash, None)
             for i, img in enumerate(turned, 1)]
    index = build_index("pdq", bank)

    query = _pdq(original)
    variants = query.dihedral()
    assert len(variants) == len(DIHEDRAL) and variants[0] == query.hash
    plain = {m.entry_id for m in index.match(query.hash)}
    assert plain.isdisjoint(range(1, 8)), "a turned photo should not match the plain hash"

    found = {m.entry_id: m for m in index.match_dihedral(variants)}
    assert set(found) == set(range(1, 8))
    # each copy is found through a different orientation, closest first, each once
    assert len({m.variant for m in found.values()}) == 7 and 0 not in {
        m.variant for m in found.values()}
    assert all(m.distance <= 31 for m in found.values())

    batch = index.search_dihedral([variants, [query.hash]])
    assert {m.entry_id for m in batch[0]} == set(found) and batch[1] == index.match(query.hash)
