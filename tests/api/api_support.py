"""Constants and helpers shared by the service tests (a module with a name of its own:
``conftest`` is ambiguous when several test folders are collected together)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from PIL import Image

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from veil.api.services import Services
    from veil.config import Settings

SCOPES = ("intake", "platform", "review", "admin", "exchange")
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
ATTEST = {"self_or_guardian": True, "intimate": True}


def near(value: str, bits: int) -> str:
    """``value`` with its lowest ``bits`` bits flipped (a near copy, in PDQ terms)."""
    return f"{int(value, 16) ^ ((1 << bits) - 1):064x}"


def jpeg(seed: int = 0, size: tuple[int, int] = (320, 240)) -> bytes:
    """A generated, benign picture (gradients and blocks), as JPEG bytes."""
    import numpy as np

    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([(x * 255 // w), (y * 255 // h), ((x + y) * 127 // (w + h))], -1)
    for _ in range(6):
        x0, y0 = rng.integers(0, w - 40), rng.integers(0, h - 40)
        img[y0:y0 + 40, x0:x0 + 40] = rng.integers(0, 255, 3)
    buf = io.BytesIO()
    Image.fromarray(img.astype("uint8")).save(buf, "JPEG", quality=90)
    return buf.getvalue()


@contextmanager
def running(settings: Settings | None = None) -> Iterator[tuple[TestClient, Services]]:
    """The service on ``settings`` (default: loaded now, after a test set its
    ``VEIL_*`` variables), started, with a client; stopped afterwards."""
    from fastapi.testclient import TestClient

    from veil.api import create_app
    from veil.api.services import Services
    from veil.config import load_settings

    settings = settings or load_settings()
    services = Services(settings)
    services.start(background=False)
    try:
        with TestClient(create_app(settings, services=services)) as client:
            yield client, services
    finally:
        services.stop()
