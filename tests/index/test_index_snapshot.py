"""Snapshots: a sound, current one restores the index exactly; anything else
(truncated, corrupt, another format version, another signal, stale) is refused
with ``index.bad_snapshot``/``index.stale_snapshot`` and ``open_index`` rebuilds."""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest
from index_data import entries, flipped, got, random_rows

from veil.errors import BadSnapshot, StaleSnapshot
from veil.index import build_index, empty_index, load_snapshot, open_index, save_snapshot
from veil.index import snapshot as snap
from veil.index.packing import unpack_hex


class ListSource:
    """An ``IndexSource`` over a list, counting full reads."""

    def __init__(self, rows: list, watermark: int = 1, store: str | None = None) -> None:
        self.rows = rows
        self.mark = watermark
        self.store = store
        self.reads = 0

    def iter_active(self, signal: str) -> Iterable:
        assert signal == "pdq"
        self.reads += 1
        return iter(self.rows)

    def watermark(self) -> int:
        return self.mark

    def identity(self) -> str | None:
        return self.store


@pytest.fixture
def bank(rng: np.random.Generator) -> list:
    # above CYCLE_MIN_ROWS: the snapshot holds cycle tables, not plain rows
    return entries(random_rows(rng, 40_000))


@pytest.fixture
def queries(bank: list, rng: np.random.Generator) -> list[str]:
    rows = np.array([np.frombuffer(bytes.fromhex(e[3]), ">u8") for e in bank[::997]])
    return unpack_hex(np.array([flipped(rng, r.astype(np.uint64), int(rng.integers(0, 34)))
                                for r in rows]))


@pytest.fixture
def saved(bank: list, tmp_path: Path) -> Path:
    index = build_index("pdq", bank, watermark=42)
    return save_snapshot(index, tmp_path / "pdq.snapshot")


def test_round_trip_gives_identical_results(bank: list, queries: list[str],
                                            saved: Path) -> None:
    original = build_index("pdq", bank, watermark=42)
    loaded = load_snapshot(saved, empty_index("pdq"), watermark=42)
    assert loaded.watermark == 42 and len(loaded) == len(bank)
    assert got(loaded.search(queries)) == got(original.search(queries))
    # and it keeps working as a live index
    loaded.withdraw(bank[0][0])
    assert loaded.match(bank[0][3]) == []
    loaded.add(10**9, "new", "imported", bank[0][3])
    assert [m.entry_id for m in loaded.match(bank[0][3])] == [10**9]


def test_snapshot_is_owner_only_and_holds_no_withdrawn_hash(bank: list, tmp_path: Path) -> None:
    index = build_index("pdq", bank)
    index.withdraw(bank[5][0])
    index.add(10**7, "victims", "victim_submitted", unpack_hex(random_rows(
        np.random.default_rng(1), 1))[0])
    path = save_snapshot(index, tmp_path / "s" / "pdq.snapshot")
    assert path.stat().st_mode & 0o077 == 0
    loaded = load_snapshot(path, empty_index("pdq"), watermark=None)
    assert len(loaded) == len(bank) and loaded.match(bank[5][3]) == []
    (block,) = loaded._view.blocks
    assert block.cycle is not None and block.words is None
    held = set(unpack_hex(block.row_words(np.arange(block.n))))
    assert bank[5][3] not in held and bank[6][3] in held and len(held) == len(bank)


def test_small_indexes_snapshot_plain_rows(bank: list, queries: list[str],
                                           tmp_path: Path) -> None:
    small = build_index("pdq", bank[:1000], watermark=7)
    path = save_snapshot(small, tmp_path / "pdq.snapshot")
    assert snap.read_header(path)["layout"] == "words"
    loaded = load_snapshot(path, empty_index("pdq"), watermark=7)
    assert got(loaded.search(queries)) == got(small.search(queries))


def _expect_bad(path: Path, watermark: int | None = 42, code: str = "index.bad_snapshot",
                signal: str = "pdq", store: str | None = None) -> BadSnapshot:
    with pytest.raises(BadSnapshot) as exc:
        load_snapshot(path, empty_index(signal), watermark=watermark, store=store)
    assert exc.value.code == code
    return exc.value


def test_truncated_snapshots_are_refused(saved: Path) -> None:
    data = saved.read_bytes()
    for keep in (0, 5, 16, 200, len(data) // 2, len(data) - 1):
        saved.write_bytes(data[:keep])
        _expect_bad(saved)


def test_a_flipped_byte_anywhere_is_refused(saved: Path) -> None:
    data = bytearray(saved.read_bytes())
    for at in (len(data) // 3, len(data) // 2, len(data) - 40, len(data) - 1):
        corrupt = bytearray(data)
        corrupt[at] ^= 0x10
        saved.write_bytes(corrupt)
        assert "checksum" in _expect_bad(saved).message


def test_other_format_versions_and_foreign_files_are_refused(saved: Path,
                                                             tmp_path: Path) -> None:
    data = bytearray(saved.read_bytes())
    struct.pack_into("<I", data, 8, snap.FORMAT_VERSION + 1)
    saved.write_bytes(data)
    assert "version" in _expect_bad(saved).message
    other = tmp_path / "other"
    other.write_bytes(b"PK\x03\x04 not an index at all" * 10)
    _expect_bad(other)
    _expect_bad(tmp_path / "missing")


def test_stale_snapshot_is_refused(saved: Path) -> None:
    exc = _expect_bad(saved, watermark=43, code="index.stale_snapshot")
    assert isinstance(exc, StaleSnapshot)


def test_a_snapshot_behind_its_own_store_loads_at_its_watermark(bank: list,
                                                                tmp_path: Path) -> None:
    """Behind the store and written from it: loaded as it is, at its own watermark
    (the caller applies the change feed); written from another store, from none, or
    ahead of the store: refused, and ``open_index`` rebuilds."""
    path = save_snapshot(build_index("pdq", bank, watermark=42), tmp_path / "pdq.snapshot",
                         store="a" * 32)
    assert load_snapshot(path, empty_index("pdq"), watermark=50,
                         store="a" * 32).watermark == 42
    for watermark, store in [(50, "b" * 32), (50, None), (42, "b" * 32), (41, "a" * 32)]:
        exc = _expect_bad(path, watermark=watermark, store=store,
                          code="index.stale_snapshot")
        assert isinstance(exc, StaleSnapshot)
    assert load_snapshot(path, empty_index("pdq"), watermark=42).watermark == 42

    source = ListSource(bank, watermark=50, store="a" * 32)
    behind = open_index("pdq", source, snapshot=path)
    assert source.reads == 0 and behind.watermark == 42 and len(behind) == len(bank)
    source.store = "b" * 32
    rebuilt = open_index("pdq", source, snapshot=path)
    assert source.reads == 1 and rebuilt.watermark == 50
    assert snap.read_header(path)["store"] == "b" * 32  # rewritten, as the new store's


def test_snapshot_of_another_signal_is_refused(saved: Path) -> None:
    _expect_bad(saved, signal="sha256")


def _rewrite(path: Path, edit) -> None:  # type: ignore[no-untyped-def]
    """Apply ``edit`` to the header and arrays, then re-sign: a well-formed file
    whose checksum is right but whose content is wrong."""
    header = snap.read_header(path)
    at = header.pop("_payload_at")
    data = bytearray(path.read_bytes()[:-32])
    payload = data[at:]
    edit(header, payload)
    head = json.dumps(header).encode()
    prefix = struct.pack("<8sII", snap.MAGIC, snap.FORMAT_VERSION, len(head))
    body = prefix + head + b"\0" * (-(len(prefix) + len(head)) % 64) + payload
    path.write_bytes(body + hashlib.sha256(body).digest())


def test_consistent_checksum_but_inconsistent_arrays_is_refused(saved: Path) -> None:
    def bad_dirs(header: dict, payload: bytearray) -> None:
        spec = header["arrays"]["dirs"]
        payload[spec["offset"] + 4: spec["offset"] + 8] = struct.pack("<I", 2**31)

    _rewrite(saved, bad_dirs)
    assert "directories" in _expect_bad(saved).message


def test_out_of_range_rows_are_refused(saved: Path) -> None:
    def bad_rows(header: dict, payload: bytearray) -> None:
        at = header["arrays"]["records"]["offset"]
        payload[at: at + 5] = b"\xff" * 5  # all position bits set: past the last row

    _rewrite(saved, bad_rows)
    assert "out of range" in _expect_bad(saved).message


def test_records_whose_cycles_do_not_close_are_refused(saved: Path) -> None:
    """Positions in range but not a permutation: walks would not come back."""
    def bad_cycle(header: dict, payload: bytearray) -> None:
        spec = header["arrays"]["records"]
        rows = header["rows"]
        at = spec["offset"] + rows * 5  # table 1, record 0: copy record 1's position
        mask = (1 << header["row_bits"]) - 1
        first = int.from_bytes(payload[at: at + 5], "little")
        second = int.from_bytes(payload[at + 5: at + 10], "little")
        payload[at: at + 5] = ((first & ~mask) | (second & mask)).to_bytes(5, "little")

    _rewrite(saved, bad_cycle)
    assert "do not close" in _expect_bad(saved).message


def test_missing_header_fields_are_refused(saved: Path) -> None:
    _rewrite(saved, lambda header, payload: header.pop("labels"))
    _expect_bad(saved)


def test_open_index_uses_a_current_snapshot_and_rebuilds_otherwise(
        bank: list, queries: list[str], tmp_path: Path) -> None:
    path = tmp_path / "index" / "pdq.snapshot"
    source = ListSource(bank, watermark=1)
    first = open_index("pdq", source, snapshot=path)
    assert source.reads == 1 and path.exists()
    again = open_index("pdq", source, snapshot=path)
    assert source.reads == 1, "a current snapshot must not re-read the store"
    assert got(again.search(queries)) == got(first.search(queries))

    # the store moved on: the snapshot is stale, the new entry must match
    extra = unpack_hex(random_rows(np.random.default_rng(3), 1))[0]
    source.rows = [*bank[1:], (10**6, "victims", "victim_submitted", extra, None)]
    source.mark = 2
    fresh = open_index("pdq", source, snapshot=path)
    assert source.reads == 2
    assert [m.entry_id for m in fresh.match(extra)] == [10**6]
    assert fresh.match(bank[0][3]) == []
    assert load_snapshot(path, empty_index("pdq"), watermark=2).watermark == 2

    # corrupt: rebuilt, not trusted, and rewritten
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(data)
    rebuilt = open_index("pdq", source, snapshot=path)
    assert source.reads == 3
    assert got(rebuilt.search(queries)) == got(fresh.search(queries))
    load_snapshot(path, empty_index("pdq"), watermark=2)


def test_small_indexes_drop_rather_than_keep_a_bad_snapshot(bank: list, tmp_path: Path) -> None:
    path = tmp_path / "pdq.snapshot"
    path.write_bytes(b"garbage")
    open_index("pdq", ListSource(bank[:10]), snapshot=path, save_min_entries=1000)
    assert not path.exists()


class MovingSource(ListSource):
    """A source whose watermark reads give ``marks`` in turn (the last one after)."""

    def __init__(self, rows: list, marks: list[int]) -> None:
        super().__init__(rows, marks[0])
        self.marks = marks

    def watermark(self) -> int:
        return self.marks.pop(0) if len(self.marks) > 1 else self.marks[0]


@pytest.mark.parametrize("marks", [[1, 2], [1, 1, 2]],
                         ids=["moved-while-building", "moved-while-saving"])
def test_no_snapshot_is_kept_when_the_source_moved_meanwhile(
        bank: list, tmp_path: Path, marks: list[int]) -> None:
    """A change (a withdrawal, say) committed while the index was built or its file
    written: the index is returned (the caller catches up), but a file claiming the
    watermark read before is not left on disk, nor the older snapshot it replaced."""
    path = tmp_path / "pdq.snapshot"
    save_snapshot(build_index("pdq", bank[:10], watermark=0), path)
    index = open_index("pdq", MovingSource(bank, marks), snapshot=path)
    assert index.watermark == 1 and len(index) == len(bank)
    assert not path.exists()
    open_index("pdq", MovingSource(bank, [2]), snapshot=path)  # settled: saved again
    assert load_snapshot(path, empty_index("pdq"), watermark=2).watermark == 2
