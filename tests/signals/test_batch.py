"""``hash_bytes`` and ``hash_file`` share one core: the same warnings, the same answer to
running out of memory (raised for the service, data for a worker process)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from veil.config import MediaLimits
from veil.errors import MediaTooLarge
from veil.media.source import Media
from veil.signals import batch


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 90)).save(buf, "PNG")
    return buf.getvalue()


def test_out_of_memory_is_media_too_large_raised_or_returned(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_memory(media: Media, *args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(batch, "hash_media", no_memory)
    path = tmp_path / "a.png"
    path.write_bytes(_png())
    with pytest.raises(MediaTooLarge, match="not enough memory"):
        batch.hash_bytes(_png(), MediaLimits(), ("md5",))
    got = batch.hash_file(path, MediaLimits(), ("md5",))
    assert (got.path, got.error_code, got.error_message) == (
        str(path), "media.too_large", "not enough memory to decode this file")


def test_bytes_and_file_give_the_same_result(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(_png())
    from_file = batch.hash_file(path, MediaLimits(), ("md5", "pdq"))
    from_bytes = batch.hash_bytes(_png(), MediaLimits(), ("md5", "pdq"), label=str(path))
    assert from_file == from_bytes and from_file.ok
