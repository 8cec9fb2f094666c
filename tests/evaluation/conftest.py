"""Fixtures of the evaluation tests. The corpus comes from the suite-wide ``photos``
fixture (tests/conftest.py: ``VEIL_TEST_DATA``, fails loudly when missing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image


@pytest.fixture(scope="session")
def photo_path(photos: list[Path]) -> Path:
    """A landscape corpus photo (481x321)."""
    for p in photos:
        with Image.open(p) as im:
            if im.width > im.height:
                return p
    raise AssertionError("no landscape photo in the corpus")


@pytest.fixture
def photo(photo_path: Path) -> Image.Image:
    with Image.open(photo_path) as im:
        return im.convert("RGB")
