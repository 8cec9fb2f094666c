from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image


@pytest.fixture(scope="session")
def reference(shared_data: Path) -> Path:
    path = shared_data / "c2pa-reference"
    assert (path / "es256_certs.pem").is_file(), f"C2PA reference files missing in {path}"
    return path


@pytest.fixture(scope="session")
def textured(shared_data: Path) -> Image.Image:
    """A benign photo textured enough to carry a dwtDct watermark."""
    from provenance_kit import WATERMARK_PHOTOS

    return Image.open(shared_data / "photos" / WATERMARK_PHOTOS[0]).convert("RGB")
