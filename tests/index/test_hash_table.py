"""Hash lists read from Parquet and CSV as packed rows (``veil.index.hash_table``):
the same index as the hex entries the store streams, and every malformed table
refused with the row at fault."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from index_data import got, random_rows

from veil.errors import BadHash, BadInput
from veil.index import build_index, empty_index
from veil.index.hash_table import read_packed
from veil.index.packing import unpack_hex


@pytest.fixture
def rows(rng: np.random.Generator) -> np.ndarray:
    return random_rows(rng, 40_000)  # above CYCLE_MIN_ROWS: cycle tables


def _raw(rows: np.ndarray) -> list[bytes]:
    return [r.astype(">u8").tobytes() for r in rows]


def _same_as_hex_build(path: Path, rows: np.ndarray, ids: np.ndarray) -> None:
    seen: list[tuple[int, int | None]] = []
    tables: list[int] = []
    index = empty_index("pdq")
    n = index.load_packed(read_packed(path, 256, batch_rows=7_000,
                                      progress=lambda done, total: seen.append((done, total))),
                          "bank0", "victim_submitted", on_table=tables.append)
    assert n == len(rows) and len(index) == len(rows)
    assert seen[-1][0] == len(rows) and len(seen) == -(-len(rows) // 7_000)
    assert tables == list(range(8))
    reference = build_index("pdq", [(int(i), "bank0", "victim_submitted", h, None)
                                    for i, h in zip(ids, unpack_hex(rows), strict=True)])
    queries = unpack_hex(rows[::401])
    assert got(index.search(queries)) == got(reference.search(queries))


def test_parquet_of_raw_bytes_and_of_hex_build_the_same_index(
        rows: np.ndarray, tmp_path: Path) -> None:
    ids = np.arange(len(rows), dtype=np.int64) * 3 + 11
    raw = tmp_path / "raw.parquet"
    pq.write_table(pa.table({"id": ids, "hash": pa.array(_raw(rows), pa.binary(32))}), raw)
    _same_as_hex_build(raw, rows, ids)
    text = tmp_path / "hex.parquet"
    hexes = [h.upper() if i % 2 else h for i, h in enumerate(unpack_hex(rows))]
    pq.write_table(pa.table({"id": ids, "hash": hexes}), text)
    _same_as_hex_build(text, rows, ids)


def test_csv_of_hex_without_ids_numbers_the_rows(rows: np.ndarray, tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("hash,note\n" + "".join(f"{h},x\n" for h in unpack_hex(rows)))
    batches = list(read_packed(path, 256, batch_rows=10_000))
    assert np.array_equal(np.concatenate([i for i, _ in batches]), np.arange(len(rows)))
    assert np.array_equal(np.concatenate([w for _, w in batches]), rows)


@pytest.mark.parametrize(("body", "reason"), [
    ("hash\n" + "ab" * 32 + "\n" + "ab" * 31 + "\n", "row 1: 62 characters"),
    ("hash\n" + "ab" * 32 + "\n" + "zz" * 32 + "\n", "row 1: not hex"),
    ("hash\n" + "ab" * 32 + "\n" + "\u00e9" * 32 + "\n", "row 1"),
    ("hash\n\n" + "ab" * 32 + "\n", None),  # an empty line is skipped by the CSV reader
    ("hash\n\"\"\n", "row 0: 0 characters"),
    ("value\n" + "ab" * 32 + "\n", "no 'hash' column"),
    ("hash,id\n" + "ab" * 32 + ",x\n", "'id' column must be integers"),
    ("hash\n" + "ab" * 32 + ",extra\n", "input.bad_hash_table"),  # a stray column
])
def test_malformed_csv_tables_are_refused_with_the_row(tmp_path: Path, body: str,
                                                       reason: str | None) -> None:
    path = tmp_path / "list.csv"
    path.write_text(body, encoding="utf-8")
    if reason is None:
        assert len(np.concatenate([w for _, w in read_packed(path, 256)])) == 1
        return
    with pytest.raises((BadHash, BadInput)) as exc:
        list(read_packed(path, 256))
    assert reason in str(exc.value)


def test_malformed_parquet_tables_are_refused(tmp_path: Path) -> None:
    cases = {
        "short.parquet": pa.table({"hash": pa.array([b"\0" * 16], pa.binary(16))}),
        "null.parquet": pa.table({"hash": pa.array([b"\1" * 32, None], pa.binary(32))}),
        "int.parquet": pa.table({"hash": [1, 2]}),
    }
    for name, table in cases.items():
        pq.write_table(table, tmp_path / name)
        with pytest.raises(BadHash):
            list(read_packed(tmp_path / name, 256))
    (tmp_path / "junk.parquet").write_bytes(b"PAR1 not really")
    (tmp_path / "list.txt").write_text("hash\n")
    for name in ("junk.parquet", "list.txt", "missing.parquet"):
        with pytest.raises(BadInput) as exc:
            list(read_packed(tmp_path / name, 256))
        assert exc.value.code == "input.bad_hash_table"


def test_a_repeated_id_keeps_its_last_row(rows: np.ndarray) -> None:
    index = empty_index("pdq")
    ids = np.array([1, 2, 1], np.int64)
    assert index.load_packed([(ids, rows[:3])], "b", "c") == 2
    assert [m.entry_id for m in index.match(unpack_hex(rows[2:3])[0], 0)] == [1]
    assert index.match(unpack_hex(rows[:1])[0], 0) == []
