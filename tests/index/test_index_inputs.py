"""Bad input gets a clear VeilError with a stable code, never a crash or a wrong
answer: malformed hashes, thresholds out of range, huge query batches."""

from __future__ import annotations

import numpy as np
import pytest
from index_data import assert_exact, entries, flipped, random_rows

from veil.errors import BadHash, BadInput
from veil.index import build_index, hamming
from veil.index.packing import pack_hex, unpack_hex


@pytest.fixture(scope="module")
def bank() -> list:
    return entries(random_rows(np.random.default_rng(5), 20_000))


@pytest.fixture(scope="module")
def index(bank: list):  # type: ignore[no-untyped-def]
    return build_index("pdq", bank)


@pytest.mark.parametrize("bad", ["", "abc", "0" * 63, "0" * 65, "g" * 64, "0x" + "0" * 62,
                                 " " * 64, "0" * 62 + " 0"])
def test_malformed_query_hashes_raise_bad_hash(index, bad: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BadHash) as exc:
        index.search(["0" * 64, bad])
    assert exc.value.code == "signal.bad_hash"
    assert "#1" in exc.value.message  # names the offending query


def test_uppercase_hex_is_the_same_hash(index, bank: list) -> None:  # type: ignore[no-untyped-def]
    assert index.search([bank[0][3].upper()]) == index.search([bank[0][3]])


@pytest.mark.parametrize("threshold", [-1, 257, 10**9, 3.5, "31", True])
def test_thresholds_out_of_range_are_refused(index, threshold: object) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BadInput) as exc:
        index.search(["0" * 64], threshold)  # type: ignore[arg-type]
    assert exc.value.code == "input.bad_threshold"


def test_threshold_bounds_are_accepted(index, bank: list) -> None:  # type: ignore[no-untyped-def]
    assert [m.distance for m in index.match(bank[0][3], 0)] == [0]
    assert len(index.match(bank[0][3], 256)) == len(bank)


def test_bad_values_from_a_source_are_refused_with_their_position() -> None:
    good = "0" * 64
    with pytest.raises(BadHash) as exc:
        build_index("pdq", [(1, "b", "imported", good, None), (2, "b", "imported", "xyz", None)])
    assert "#1" in exc.value.message


def test_large_batches_are_searched_in_bounded_steps(index, bank: list,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A batch far larger than one step gives the same answers, in order."""
    monkeypatch.setattr(hamming, "SEARCH_BATCH", 1000)
    rng = np.random.default_rng(9)
    rows = pack_hex([e[3] for e in bank], 256)
    picks = rng.integers(0, len(bank), 3_500)
    queries = unpack_hex(np.array([flipped(rng, rows[i], int(i % 40)) for i in picks]))
    found = assert_exact(index, bank, queries, 31)
    for i, f in zip(picks, found, strict=True):
        if i % 40 <= 31:
            assert bank[i][0] in {m.entry_id for m in f}


def test_a_million_queries_run_in_flat_memory(bank: list) -> None:
    """1M queries in one call: output buffers are per step, not per batch."""
    import resource

    small = build_index("pdq", bank[:1000])
    rng = np.random.default_rng(11)
    q = rng.integers(0, 2**63, size=(1_000_000, 4), dtype=np.uint64)
    q[::1000] = pack_hex([e[3] for e in bank[:1000]], 256)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    hits = small.search_packed(q, 31)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert sorted(h.query.tolist() for _, h in hits)[0] == list(range(0, 1_000_000, 1000))
    assert grown_mib < 100


def test_packed_queries_of_the_wrong_shape_are_refused(index) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BadInput):
        index.search_packed(np.zeros((3, 2), np.uint64), 31)
    with pytest.raises(BadInput):
        index.search_packed(np.zeros((3, 4), np.int64), 31)


def test_dihedral_needs_variants(index) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BadInput):
        index.match_dihedral([])


def test_pack_and_unpack_round_trip() -> None:
    rows = random_rows(np.random.default_rng(1), 100)
    assert (pack_hex(unpack_hex(rows), 256) == rows).all()
    assert unpack_hex(pack_hex(["ff" + "00" * 31], 256)) == ["ff" + "00" * 31]
    assert pack_hex([], 256).shape == (0, 4)


def test_hashes_shorter_than_a_word_are_padded_and_given_back_whole() -> None:
    from veil.index import empty_index
    from veil.index.hamming import HammingIndex

    values = ["abcde", "abcdf", "00000"]
    assert unpack_hex(pack_hex(values, 20), 20) == values
    index = HammingIndex("toy", 20, tables=0, default_threshold=2)
    index.load([(i + 1, "b", "imported", v, None) for i, v in enumerate(values)])
    assert [(h.entry_id, h.distance, h.value) for h in index.match("abcdc", 2, values=True)] == [
        (1, 1, "abcde"), (2, 2, "abcdf")]
    assert empty_index("pdq").bits == 256
