"""Signal modes: every registered type is evaluated, dihedral modes come from a
capability, and a type added to the registry shows up with no harness change."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from PIL import Image

from veil.config import MediaLimits
from veil.errors import BadInput
from veil.evaluation import modes as M
from veil.evaluation import transforms as T
from veil.evaluation.runner import run
from veil.media.source import Media
from veil.signals import all_types, registry
from veil.signals.base import Signal, SignalType, Variant
from veil.signals.pdq import PDQ


class Brightness(SignalType):
    """A toy 8-bit signal: the mean grey level; variants: the level and its inverse."""

    name: ClassVar[str] = "toy_brightness"
    bits: ClassVar[int] = 8
    default_threshold: ClassVar[int] = 2
    variants = (Variant("original", "as banked"), Variant("inverted", "inverted"))

    def compute(self, media: Media) -> Signal:
        level = round(float(np.asarray(media.image.convert("L")).mean()))
        return Signal(self.name, f"{level:02x}")

    def compute_variants(self, media: Media) -> list[Signal]:
        plain = self.compute(media)
        return [plain, Signal(self.name, f"{255 - int(plain.value, 16):02x}")]


def test_default_modes_are_the_perceptual_types_and_their_dihedral_modes():
    names = M.default_names()
    perceptual = [t.name for t in all_types() if t.perceptual and t.of_stills]
    assert set(perceptual) <= set(names)
    assert "vpdq" not in names  # a still's vPDQ is its PDQ: measured once, as pdq
    assert "pdq_dihedral" in names
    assert not {"md5", "sha256"} & set(names)
    assert [m.name for m in M.resolve(["md5", "pdq"])] == ["md5", "pdq"]
    with pytest.raises(BadInput) as err:
        M.resolve(["pdq", "nope"])
    assert err.value.code == "signal.unknown"


def test_a_newly_registered_type_is_evaluated_with_its_variants(
        monkeypatch: pytest.MonkeyPatch, photos: list[Path]):
    monkeypatch.setitem(registry._TYPES, Brightness.name, Brightness())
    assert {"toy_brightness", "toy_brightness_dihedral"} <= set(M.default_names())
    variants = [T.find_variant("identity", 0), T.find_variant("brightness", 1.6)]
    results = run(photos[:3], ["toy_brightness", "toy_brightness_dihedral", "pdq"], variants,
                  seed=0, workers=1, limits=MediaLimits())
    assert [m.name for m in results.modes] == ["toy_brightness", "toy_brightness_dihedral",
                                               "pdq"]
    assert results.matched["toy_brightness"].shape == (3, 2)
    assert (results.matched["toy_brightness"][:, 0] == 0).all()  # identity
    assert results.distinct["toy_brightness_dihedral"].shape == (3,)


@pytest.mark.parametrize("index", [0, 57, 300])
def test_pdq_variant_zero_is_the_plain_signal(photos: list[Path], index: int):
    """What lets the pdq and pdq_dihedral modes share one hashing per image."""
    original = Media.from_path(photos[index], MediaLimits())
    with Image.open(photos[index]) as im:
        small = T.render(T.find_variant("resize", 0.35), im.convert("RGB"), seed=0, key="k")
    for media in (original, Media.from_bytes(small, MediaLimits())):
        assert PDQ.variants
        variants = PDQ().compute_variants(media)
        assert len(variants) == 8
        assert variants[0] == PDQ().compute(media)


def test_dihedral_mode_finds_quarter_turns_and_mirrors(photo_path: Path):
    with Image.open(photo_path) as im:
        photo = im.convert("RGB")
    modes = {m.name: m for m in M.resolve(["pdq", "pdq_dihedral"])}
    ref = M.Fingerprints(Media.from_path(photo_path, MediaLimits()))
    for name, strength in [("rotate", 90), ("rotate", 270), ("mirror", 0), ("mirror", 1)]:
        data = T.render(T.find_variant(name, strength), photo, seed=0, key="k")
        fp = M.Fingerprints(Media.from_bytes(data, MediaLimits()))
        plain = modes["pdq"].distance(modes["pdq"].query(fp), modes["pdq"].reference(ref))
        dihedral = modes["pdq_dihedral"].distance(modes["pdq_dihedral"].query(fp),
                                                  modes["pdq_dihedral"].reference(ref))
        # PDQ's downsampling is not exactly symmetric on a 481x321 photo, hence not 0
        assert dihedral <= 16 and plain > 64, (name, strength, plain, dihedral)
