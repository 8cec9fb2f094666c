"""A verified pairing as the verdict reports it: boxes in the upload's pixels, mirrored
back when the match was found in the upload's mirror image; the kind decides the
policy (a copy: the bank's action; derived: review, derived_from_protected)."""

from __future__ import annotations

import numpy as np

from veil.matching.regions import evidence
from veil.regions.compare import Box, RegionMatch
from veil.regions.features import Features
from veil.verdict import Match, decide


def pairing(differ_share: float) -> RegionMatch:
    return RegionMatch(inliers=40, transform=np.eye(2, 3), agreeing=Box(10, 20, 30, 40),
                       differing=Box(150, 0, 50, 100) if differ_share else None,
                       agree_share=1 - differ_share, differ_share=differ_share,
                       differing_cells=np.zeros((6, 6), bool))


UPLOAD = Features(np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8), (400, 200), 0.5)


def test_boxes_are_in_the_uploads_pixels_and_mirrored_back() -> None:
    plain = evidence(pairing(0.3), UPLOAD)
    assert (plain.width, plain.height) == (200, 100)
    assert plain.agreeing.x == 10 and plain.differing is not None and plain.differing.x == 150
    flipped = evidence(pairing(0.3), UPLOAD, flipped=True)
    assert flipped.agreeing.x == 200 - 10 - 30 and flipped.agreeing.y == 20
    assert flipped.differing is not None and flipped.differing.x == 0
    assert flipped.differing_fraction() == {"x": 0.0, "y": 0.0, "w": 0.25, "h": 1.0}


def test_a_copy_gets_the_banks_action_and_a_derived_one_is_reviewed() -> None:
    def match(differ: float) -> Match:
        return Match(signal="region", entry_id=1, bank="victims", category="victim_submitted",
                     distance=200, threshold=240, region=evidence(pairing(differ), UPLOAD))

    copy = decide([match(0.0)], {"victims": {}})
    assert copy.decision == "block"
    derived = decide([match(0.3)], {"victims": {}})
    assert derived.decision == "review"
    assert "derived_from_protected" in derived.reasons[0]
    assert "part of the banked photo replaced" in derived.reasons[0]
    # whatever the bank's own action: a new picture made from a person's photo
    assert decide([match(0.3)], {"victims": {"action": "allow"}}).decision == "review"
