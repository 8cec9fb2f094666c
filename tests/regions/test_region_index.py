"""The region index: candidates and verified matches from a bank of benign photos'
region signals, additions and withdrawals, and agreement with brute force."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from veil.errors import BadInput
from veil.evaluation import transforms as T
from veil.regions import blob, buckets, compare, features
from veil.regions.index import RegionIndex

pytestmark = pytest.mark.corpus

BANKED = 24


def _grey(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("L"), dtype=np.uint8)


def _query(data: bytes | Image.Image) -> features.Features:
    img = Image.open(io.BytesIO(data)) if isinstance(data, bytes) else data
    return features.for_query(_grey(img))


@pytest.fixture(scope="module")
def pictures(photos: list[Path]) -> list[Image.Image]:
    return [Image.open(p).convert("RGB") for p in photos[:BANKED + 4]]


@pytest.fixture(scope="module")
def banked(pictures: list[Image.Image]) -> list[features.Features]:
    return [blob.decode(blob.encode(features.for_bank(_grey(p)))) for p in pictures[:BANKED]]


def _index(banked: list[features.Features]) -> RegionIndex:
    index = RegionIndex()
    # keys unlike positions, so a mix-up of slots and keys shows
    index.add_many([1000 + 7 * i for i in range(len(banked))], banked)
    return index


def _key(i: int) -> int:
    return 1000 + 7 * i


def test_an_exact_copy_is_the_first_candidate_and_matches(
        pictures: list[Image.Image], banked: list[features.Features]) -> None:
    index = _index(banked)
    assert len(index) == BANKED
    q = _query(pictures[3])
    assert index.candidates(q, 3)[0][0] == _key(3)
    found = index.search(q)
    assert [k for k, _ in found] == [_key(3)]
    assert found[0][1].inliers >= compare.MIN_INLIERS


def test_a_copy_with_a_quadrant_replaced_is_found(
        pictures: list[Image.Image], banked: list[features.Features]) -> None:
    img = pictures[5].copy()
    donor = pictures[BANKED + 1].resize(img.size)
    w, h = img.size
    img.paste(donor.crop((w // 2, h // 2, w, h)), (w // 2, h // 2))
    found = _index(banked).search(_query(img))
    assert [k for k, _ in found] == [_key(5)]


def test_a_re_share_is_found(pictures: list[Image.Image],
                             banked: list[features.Features]) -> None:
    data = T.render(T.find_variant("screenshot", 0.7), pictures[8], seed=1, key="p8")
    assert [k for k, _ in _index(banked).search(_query(data))] == [_key(8)]


def test_unrelated_photos_are_not_returned(pictures: list[Image.Image],
                                           banked: list[features.Features]) -> None:
    index = _index(banked)
    for img in pictures[BANKED:BANKED + 3]:
        assert index.search(_query(img), limit=BANKED) == []


def test_a_removed_key_is_never_returned(pictures: list[Image.Image],
                                         banked: list[features.Features]) -> None:
    index = _index(banked)
    q = _query(pictures[2])
    assert index.remove(_key(2))
    assert not index.remove(_key(2))
    assert len(index) == BANKED - 1
    assert all(k != _key(2) for k, _ in index.candidates(q, BANKED))
    assert index.search(q, limit=BANKED) == []
    with pytest.raises(KeyError):
        index.features(_key(2))
    # banked again under the same key, it is found again
    index.add(_key(2), banked[2])
    assert [k for k, _ in index.search(q)] == [_key(2)]


def test_adding_a_key_again_replaces_it(pictures: list[Image.Image],
                                        banked: list[features.Features]) -> None:
    index = _index(banked)
    index.add(_key(4), banked[6])
    assert len(index) == BANKED
    assert sorted(k for k, _ in index.search(_query(pictures[6]))) == [_key(4), _key(6)]
    assert index.search(_query(pictures[4])) == []


def test_photos_added_after_a_search_are_found(pictures: list[Image.Image],
                                               banked: list[features.Features]) -> None:
    index = _index(banked[:10])
    assert index.search(_query(pictures[12])) == []
    index.add(_key(12), banked[12])
    index.add(_key(13), banked[13])
    index.remove(_key(13))
    assert [k for k, _ in index.search(_query(pictures[12]))] == [_key(12)]
    assert index.search(_query(pictures[13])) == []
    assert [k for k, _ in index.search(_query(pictures[3]))] == [_key(3)]


def test_an_empty_index_and_an_empty_query_find_nothing(
        pictures: list[Image.Image], banked: list[features.Features]) -> None:
    empty = RegionIndex()
    assert len(empty) == 0
    assert empty.candidates(_query(pictures[0]), 5) == []
    assert empty.search(_query(pictures[0])) == []
    flat = _query(Image.new("RGB", (300, 200), (90, 90, 90)))
    assert len(flat) == 0
    index = _index(banked)
    assert index.candidates(flat, 5) == []
    assert index.search(flat) == []
    assert index.candidates(_query(pictures[0]), 0) == []


def test_malformed_blobs_and_keys_are_refused(banked: list[features.Features]) -> None:
    index = RegionIndex()
    with pytest.raises(BadInput):
        index.add_blobs([1], [b"VR\x01garbage"])
    with pytest.raises(ValueError, match="twice"):
        index.add_many([1, 1], banked[:2])
    with pytest.raises(ValueError):
        index.add_many([1], banked[:2])
    assert len(index) == 0


def test_saved_and_loaded_it_finds_the_same(tmp_path: Path, pictures: list[Image.Image],
                                            banked: list[features.Features]) -> None:
    index = _index(banked)
    index.remove(_key(1))
    index.save(tmp_path / "bank")
    loaded = RegionIndex.load(tmp_path / "bank")
    assert len(loaded) == BANKED - 1
    for i in (0, 1, 9):
        q = _query(pictures[i])
        assert loaded.candidates(q, 4) == index.candidates(q, 4)
    with pytest.raises(BadInput):
        RegionIndex.load(tmp_path / "nothing")
    blobs = tmp_path / "bank" / "blobs.bin"
    data = bytearray(blobs.read_bytes())
    data[blob.size_for(len(banked[0])) + 7] = 0xFF  # the second blob's keypoint count
    blobs.write_bytes(bytes(data))
    with pytest.raises(BadInput, match="malformed blob"):
        RegionIndex.load(tmp_path / "bank")
    blobs.write_bytes(bytes(data[:-5]))
    with pytest.raises(BadInput, match="size"):
        RegionIndex.load(tmp_path / "bank")


def test_verified_results_equal_brute_force_on_a_small_bank(
        pictures: list[Image.Image], banked: list[features.Features]) -> None:
    index = _index(banked)
    variants = [("crop_offcentre", 0.3), ("caption", 0.2), ("rotate_small", 10)]
    for i in range(0, BANKED + 3, 3):
        family, strength = variants[i % len(variants)]
        q = _query(T.render(T.find_variant(family, strength), pictures[i], seed=i, key=str(i)))
        brute = sorted((_key(j), m.inliers) for j, b in enumerate(banked)
                       if (m := compare.compare(b, q)) is not None)
        assert bool(brute) == (i < BANKED)
        assert sorted((k, m.inliers) for k, m in index.search(q)) == brute


def test_keys_are_the_descriptor_substrings() -> None:
    d = np.zeros((2, features.DESCRIPTOR_BYTES), np.uint8)
    d[0, :3] = (0xAB, 0xCD, 0xEF)
    d[1, 3:6] = (0x12, 0x34, 0x56)
    d[1, 3] |= 0x80
    keys = buckets.keys_of(d, 2, 24)
    assert keys[:, 0].tolist() == [0xABCDEF, 0]
    assert keys[:, 1].tolist() == [0, 0x923456]
    assert buckets.keys_of(d, 1, 4, first=1)[0].tolist() == [0xB, 0]


def test_merges_and_compactions_keep_results(monkeypatch: pytest.MonkeyPatch,
                                             pictures: list[Image.Image],
                                             banked: list[features.Features]) -> None:
    from veil.regions import index as index_module

    monkeypatch.setattr(index_module, "DELTA_MIN", 4)
    index = RegionIndex()
    index.add_many([_key(i) for i in range(10)], banked[:10])
    q3, q12 = _query(pictures[3]), _query(pictures[12])
    assert [k for k, _ in index.search(q3)] == [_key(3)]  # one main set of tables
    index.add_many([_key(i) for i in range(10, 13)], banked[10:13])
    assert [k for k, _ in index.search(q12)] == [_key(12)]  # in the second set
    index.add_many([_key(i) for i in range(13, 20)], banked[13:20])
    assert [k for k, _ in index.search(q12)] == [_key(12)]  # merged again
    for i in range(0, 10):
        if i != 3:
            index.remove(_key(i))
    assert len(index) == 11
    assert [k for k, _ in index.search(q3)] == [_key(3)]  # withdrawn ones dropped
    assert index._main.slots == 11
    assert index.search(_query(pictures[5])) == []
