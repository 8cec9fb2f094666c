"""The stored form of a region signal: exact round trip at its precision, and a
clear refusal of every malformed or hostile blob."""

from __future__ import annotations

import numpy as np
import pytest

from veil.errors import BadInput
from veil.regions import blob
from veil.regions.features import DESCRIPTOR_BYTES, Features


def _features(n: int, rng: np.random.Generator, size: tuple[int, int] = (512, 341)) -> Features:
    w, h = size
    pts = np.stack([rng.uniform(0, w, n), rng.uniform(0, h, n)], axis=1).astype(np.float32)
    desc = rng.integers(0, 256, (n, DESCRIPTOR_BYTES), dtype=np.uint8)
    return Features(pts, desc, size, 2.5)


def test_round_trip_keeps_descriptors_and_quantises_positions() -> None:
    f = _features(256, np.random.default_rng(1))
    data = blob.encode(f)
    assert len(data) == blob.size_for(256) == 9 + 256 * 34
    back = blob.decode(data)
    assert back.work_size == f.work_size
    assert np.array_equal(back.descriptors, f.descriptors)
    # 1/255 of each side: within a pixel of where the detector put it
    assert np.abs(back.points - f.points).max() <= 512 / 255 / 2 + 1e-3
    assert blob.encode(back) == data


def test_empty_signal_round_trips() -> None:
    f = Features(np.zeros((0, 2), np.float32), np.zeros((0, DESCRIPTOR_BYTES), np.uint8),
                 (10, 10), 1.0)
    assert len(blob.decode(blob.encode(f))) == 0


@pytest.mark.parametrize("mangle", [
    lambda b: b[:5],                         # shorter than the header
    lambda b: b"XX" + b[2:],                 # not a region signal
    lambda b: b[:2] + b"\x02" + b[3:],       # another version
    lambda b: b[:-1],                        # one byte short
    lambda b: b + b"\x00",                   # one byte too many
    lambda b: b[:3] + b"\x00\x00" + b[5:],   # zero width
    lambda b: b[:3] + (blob.MAX_SIDE + 1).to_bytes(2, "little") + b[5:],  # too wide
    lambda b: b[:7] + (blob.MAX_POINTS + 1).to_bytes(2, "little") + b[9:],  # too many points
    lambda b: b"",
])
def test_malformed_blobs_are_refused_with_a_reason(mangle) -> None:  # type: ignore[no-untyped-def]
    data = blob.encode(_features(8, np.random.default_rng(2)))
    with pytest.raises(BadInput) as err:
        blob.decode(mangle(data))
    assert err.value.code == "region.malformed"


def test_random_bytes_never_crash() -> None:
    rng = np.random.default_rng(3)
    for n in range(200):
        data = rng.integers(0, 256, int(rng.integers(0, 400)), dtype=np.uint8).tobytes()
        if n % 2:
            data = blob.MAGIC + data
        try:
            f = blob.decode(data)
        except BadInput:
            continue
        assert f.points.shape[0] == f.descriptors.shape[0]
