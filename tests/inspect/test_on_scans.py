"""Scans read what an upload declares, but look for watermarks only when told to
(VEIL_PROVENANCE_SCAN_WATERMARKS): the decode and the decoder cost several times a
scan's own hashing. ``veil inspect`` always looks."""

from __future__ import annotations

import pytest
from PIL import Image
from provenance_kit import png, watermarked

from veil.config import load_settings
from veil.inspect import inspect_bytes
from veil.inspect.watermark import KNOWN_MARKS
from veil.matching import BankMatcher, scan_bytes
from veil.store import open_store


def _watermark_observations(data: bytes, veil_home: object) -> list[str]:
    settings = load_settings()
    with open_store(settings) as store:
        matcher = BankMatcher.load(settings, store)
    verdict = scan_bytes(data, matcher).verdict
    assert verdict is not None
    return [o.value for o in verdict.observations if o.source == "watermark"]


@pytest.mark.parametrize("enabled", [False, True])
def test_scans_look_for_watermarks_only_when_enabled(
        textured: Image.Image, veil_home: object, monkeypatch: pytest.MonkeyPatch,
        enabled: bool) -> None:
    marked = png(watermarked(textured, KNOWN_MARKS[2].bits))
    settings = load_settings()
    assert any(o.source == "watermark" for o in
               inspect_bytes(marked, settings.media, settings.provenance).observations)
    if enabled:
        monkeypatch.setenv("VEIL_PROVENANCE_SCAN_WATERMARKS", "true")
    found = _watermark_observations(marked, veil_home)
    assert bool(found) is enabled
