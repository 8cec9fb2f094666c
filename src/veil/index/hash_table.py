"""Hash lists on disk (Parquet or CSV) read as packed rows, with no Python object per
hash: how an index of 100M entries is built in minutes (``HammingIndex.load_packed``,
``bench/matching.py --sizes 100M``).

A table has a ``hash`` column: raw bytes (``fixed_size_binary`` or ``binary`` of
``bits / 8`` bytes) or hex text (``bits / 4`` characters, either case), and may have
an ``id`` column (integers; else the row number). Anything else in a row (a short
value, a non-hex character, a null) is refused with the row's number, never packed
as a wrong hash. Read ``batch_rows`` at a time, so memory holds one batch beside the
rows already packed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from veil.errors import BadHash, BadInput
from veil.index.packing import pack_bytes

#: Rows read per batch: large enough that per-batch costs vanish, small enough that a
#: batch of hex text stays near 64 MiB.
BATCH_ROWS = 1 << 20

#: ASCII byte → nibble value; 255 marks a byte that is not a hex digit.
_NIBBLE = np.full(256, 255, np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _NIBBLE[_c] = _i
for _i, _c in enumerate(b"ABCDEF", 10):
    _NIBBLE[_c] = _i

#: Progress: (rows read so far, rows in the table, or None where unknown up front).
Progress = Callable[[int, "int | None"], None]


def read_packed(path: Path, bits: int, *, batch_rows: int = BATCH_ROWS,
                progress: Progress | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(ids, words)`` per batch of the table at ``path`` (``.parquet`` or ``.csv``):
    int64 ids and ``(n, bits // 64)`` uint64 rows as ``packing`` lays them out."""
    import pyarrow as pa

    path = Path(path)
    total, batches = _batches(path, batch_rows)
    done = 0
    for batch in batches:
        names = batch.schema.names
        if "hash" not in names:
            raise BadInput(f"{path.name}: no 'hash' column (columns: {', '.join(names)})",
                           code="input.bad_hash_table")
        column = batch.column(names.index("hash"))
        words = _pack(column, bits, done)
        if "id" in names:
            raw = batch.column(names.index("id"))
            if raw.null_count or not pa.types.is_integer(raw.type):
                raise BadInput(f"{path.name}: the 'id' column must be integers with no "
                               "empty cells", code="input.bad_hash_table")
            ids = raw.to_numpy(zero_copy_only=False).astype(np.int64)
        else:
            ids = np.arange(done, done + len(batch), dtype=np.int64)
        done += len(batch)
        del batch, column
        # Arrow's allocator keeps freed pages resident unless asked (measured at 10M:
        # 27 B a hash beside the index, gone with this)
        pa.default_memory_pool().release_unused()
        if progress is not None:
            progress(done, total)
        yield ids, words


def _batches(path: Path, batch_rows: int):  # type: ignore[no-untyped-def]
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            f = pq.ParquetFile(path, pre_buffer=False)
            return f.metadata.num_rows, f.iter_batches(batch_size=batch_rows, use_threads=False)
        if suffix == ".csv":
            reader = pacsv.open_csv(
                path, read_options=pacsv.ReadOptions(block_size=64 << 20),
                convert_options=pacsv.ConvertOptions(column_types={"hash": pa.string()}))
            return None, _rebatch(reader, batch_rows)
    except (OSError, pa.ArrowInvalid) as exc:
        raise BadInput(f"{path.name}: cannot be read as a hash table: {exc}",
                       code="input.bad_hash_table") from None
    raise BadInput(f"{path.name}: a hash table is a .parquet or .csv file",
                   code="input.bad_hash_table")


def _rebatch(reader, batch_rows: int):  # type: ignore[no-untyped-def]
    import pyarrow as pa

    try:
        for batch in reader:
            for start in range(0, len(batch), batch_rows):
                yield batch.slice(start, batch_rows)
    except pa.ArrowInvalid as exc:
        raise BadInput(f"malformed CSV: {exc}", code="input.bad_hash_table") from None


def _pack(column, bits: int, first_row: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The column's hashes as packed rows; ``BadHash`` names the first bad row."""
    import pyarrow as pa

    n = len(column)
    if column.null_count:
        bad = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
        raise BadHash(f"hash table row {first_row + bad}: no hash")
    t = column.type
    if pa.types.is_fixed_size_binary(t):
        if t.byte_width != bits // 8:
            raise BadHash(f"hash table: hashes of {t.byte_width} bytes, expected {bits // 8}")
        raw = np.frombuffer(column.buffers()[1], np.uint8,
                            n * t.byte_width, column.offset * t.byte_width)
    elif pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_string(t) \
            or pa.types.is_large_string(t):
        text = pa.types.is_string(t) or pa.types.is_large_string(t)
        width = bits // 4 if text else bits // 8
        kind = np.dtype(np.int64 if "large" in str(t) else np.int32)
        # a slice of a batch starts ``offset`` elements in (frombuffer counts bytes)
        offsets = np.frombuffer(column.buffers()[1], kind, n + 1,
                                column.offset * kind.itemsize)
        lengths = np.diff(offsets)
        if (lengths != width).any():
            bad = int(np.flatnonzero(lengths != width)[0])
            raise BadHash(f"hash table row {first_row + bad}: {int(lengths[bad])} "
                          f"{'characters' if text else 'bytes'}, expected {width}")
        raw = np.frombuffer(column.buffers()[2], np.uint8, n * width, int(offsets[0]))
        if text:
            raw = _unhex(raw.reshape(n, width), first_row)
    else:
        raise BadHash(f"hash table: the 'hash' column is {t}, not bytes or hex text")
    return pack_bytes(raw.reshape(n, bits // 8), bits)


def _unhex(chars: np.ndarray, first_row: int) -> np.ndarray:
    nibbles = _NIBBLE[chars]
    if (nibbles == 255).any():
        bad = int(np.flatnonzero((nibbles == 255).any(axis=1))[0])
        raise BadHash(f"hash table row {first_row + bad}: not hex")
    out: np.ndarray = (nibbles[:, 0::2] << np.uint8(4)) | nibbles[:, 1::2]
    return out
