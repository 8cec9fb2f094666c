"""Index snapshots: one file per signal type, so a restart skips re-reading the store.

A snapshot is trusted only if all of these hold, else ``BadSnapshot`` (the caller
rebuilds from the store):

* magic and ``FORMAT_VERSION`` match this code (the arrays' meaning is versioned);
* it is for the expected signal type and table layout;
* its watermark equals the store's, or is below it and the snapshot records the
  store's identity (the caller then applies the change feed from the snapshot's
  watermark, ``StaleSnapshot`` otherwise: a snapshot ahead of the store, or behind
  it with no identity or another's);
* the SHA-256 trailer matches every byte before it (truncation, bit rot);
* the arrays are mutually consistent (directories monotone and ending at the row
  count, every row number in range, record cycles closing: all of them up to 2M
  rows, a regular sample above, ``cycle.check_cycle``), so even a well-formed but
  wrong file cannot make the compiled kernels read out of bounds.

Layout: ``MAGIC``, u32 version, u32 header length, JSON header, arrays (each
64-byte aligned), 32-byte SHA-256 of everything before it. Written compacted, to a
temporary file renamed into place, owner-only: it holds victims' hashes.

``load_snapshot(..., mapped=True)`` maps the file instead of reading it: every
process that maps one file shares its pages (``veil serve --workers``). The mapping
is private copy-on-write, so a withdrawal zeroes the hash in this process's copy of
the page only; the file keeps it until it is rewritten (``veil.matching.shared``).
The mapping is released when the index built on it is dropped.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import struct
import tempfile
from pathlib import Path

import numpy as np

from veil.errors import BadSnapshot, StaleSnapshot
from veil.index.chunks import CHUNK_BITS, RECORD_BYTES, row_bits_for, top_bits_for
from veil.index.cycle import CycleTables, check_cycle, rank_samples
from veil.index.hamming import Block, HammingIndex
from veil.index.mapped import MappedFile
from veil.index.packing import words_per_hash

MAGIC = b"VEILIDX\x00"
#: 2: cycle tables (the hashes live only in the tables); 1 had a hash array.
FORMAT_VERSION = 2
_PREFIX = struct.Struct("<8sII")
_DIGEST = 32
_ALIGN = 64
#: Header sizes above this are refused before parsing (a real one is a few KiB
#: plus the bank names).
_MAX_HEADER = 64 * 1024 * 1024


def _pad(n: int) -> int:
    return -n % _ALIGN


def save_snapshot(index: HammingIndex, path: Path, *, store: str | None = None) -> Path:
    """Write ``index`` (compacted first) to ``path`` atomically; returns ``path``.
    ``store``: the identity of the store the index reflects (see ``load_snapshot``)."""
    block = index._only_block()
    arrays: dict[str, np.ndarray] = {}
    layout: dict[str, object] = {}
    if block is not None:
        arrays = {"entry_ids": block.entry_ids[: block.n], "labels": block.labels[: block.n]}
        if block.cycle is not None:
            # the rank samples are derived data: rebuilt at load, never trusted from disk
            arrays["dirs"] = block.cycle.dirs
            arrays["records"] = block.cycle.records
            layout = {"layout": "cycle", "top_bits": block.cycle.top_bits,
                      "row_bits": block.cycle.row_bits}
        else:
            assert block.words is not None
            arrays["words"] = block.words[: block.n]
            layout = {"layout": "words"}
    header: dict[str, object] = {
        "signal": index.signal, "bits": index.bits, "tables": index.tables,
        "equality": index.equality, "watermark": index.watermark, "store": store,
        "rows": block.n if block is not None else 0, "labels": index.labels, **layout,
        "arrays": {},
    }
    offset = 0
    for name, a in arrays.items():
        header["arrays"][name] = {  # type: ignore[index]
            "offset": offset, "dtype": a.dtype.str, "shape": list(a.shape)}
        offset += a.nbytes + _pad(a.nbytes)
    head = json.dumps(header, separators=(",", ":")).encode()
    prefix = _PREFIX.pack(MAGIC, FORMAT_VERSION, len(head))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            digest = hashlib.sha256()

            def put(data: bytes | memoryview) -> None:
                digest.update(data)
                f.write(data)

            put(prefix)
            put(head)
            put(b"\0" * _pad(len(prefix) + len(head)))
            for a in arrays.values():
                if a.size:  # memoryview refuses to cast an empty array's view
                    put(np.ascontiguousarray(a).view(np.uint8).reshape(-1).data)
                put(b"\0" * _pad(a.nbytes))
            f.write(digest.digest())
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_header(path: Path) -> dict[str, object]:
    """The snapshot's header, checked for magic and version only (cheap)."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            prefix = f.read(_PREFIX.size)
            if len(prefix) < _PREFIX.size:
                raise BadSnapshot(f"{path.name}: truncated (no header)")
            magic, version, head_len = _PREFIX.unpack(prefix)
            if magic != MAGIC:
                raise BadSnapshot(f"{path.name}: not a Veil index snapshot")
            if version != FORMAT_VERSION:
                raise BadSnapshot(f"{path.name}: snapshot format version {version}, "
                                  f"this Veil reads version {FORMAT_VERSION}")
            if head_len > _MAX_HEADER:
                raise BadSnapshot(f"{path.name}: header length {head_len} is implausible")
            head = f.read(head_len)
    except OSError as exc:
        raise BadSnapshot(f"{path.name}: cannot read: {exc.strerror or exc}") from None
    if len(head) != head_len:
        raise BadSnapshot(f"{path.name}: truncated (header)")
    try:
        header = json.loads(head)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadSnapshot(f"{path.name}: header is not valid JSON") from None
    if not isinstance(header, dict):
        raise BadSnapshot(f"{path.name}: header is not an object")
    header["_payload_at"] = _PREFIX.size + head_len + _pad(_PREFIX.size + head_len)
    return header


def load_snapshot(path: Path, template: HammingIndex, *, watermark: int | None,
                  store: str | None = None, mapped: bool = False) -> HammingIndex:
    """Fill ``template`` (an empty index configured for the signal) from ``path``.

    ``watermark``: the store's current one; ``None`` skips the staleness check
    (for tools that inspect a snapshot without a store). ``store``: the store's
    identity; a snapshot that records it may be behind ``watermark``, and the index
    returned then has the snapshot's watermark: the caller applies the change feed
    from there (``BankMatcher.catch_up``). ``mapped``: map the file (shared with
    other processes mapping it) instead of copying it into memory; the index's
    ``mapped`` then says which file it is.
    """
    path = Path(path)
    header = read_header(path)
    try:
        _check_config(header, template)
        if watermark is not None:
            _check_current(path.name, header, watermark, store)
        rows = header["rows"]
        listed = header["labels"]
        if not isinstance(rows, int) or not isinstance(listed, list) or not all(
                isinstance(x, list) and len(x) == 2 for x in listed):
            raise BadSnapshot(f"{path.name}: malformed header (rows or labels)")
        labels = [(str(b), str(c)) for b, c in listed]
        specs = header["arrays"]
        assert isinstance(specs, dict)
    except StaleSnapshot:
        raise
    except (KeyError, TypeError, ValueError, AssertionError):
        raise BadSnapshot(f"{path.name}: header is missing or has malformed fields") from None

    buf, fid = _map_verified(path) if mapped else (_read_verified(path), None)
    base = int(header["_payload_at"])  # type: ignore[call-overload]
    arrays: dict[str, np.ndarray] = {}
    try:
        for name, spec in specs.items():
            dtype = np.dtype(spec["dtype"])
            shape = tuple(int(x) for x in spec["shape"])
            count = int(np.prod(shape, dtype=np.int64))
            start = base + int(spec["offset"])
            if start < base or start + count * dtype.itemsize > len(buf) - _DIGEST:
                raise BadSnapshot(f"{path.name}: array {name!r} lies outside the file")
            arrays[name] = np.frombuffer(buf, dtype, count, start).reshape(shape)
    except (KeyError, TypeError, ValueError) as exc:
        raise BadSnapshot(f"{path.name}: malformed array table ({exc})") from None
    template.watermark = int(header["watermark"])  # type: ignore[call-overload]
    template._install(_block(path.name, arrays, header, rows, template, len(labels)), labels)
    if fid is not None:
        template.mapped = MappedFile(path, fid, rows)
    return template


def _check_current(name: str, header: dict[str, object], watermark: int,
                   store: str | None) -> None:
    built = header["watermark"]
    assert isinstance(built, int)
    written_by = header.get("store")
    if store is not None and written_by is not None and written_by != store:
        raise StaleSnapshot(f"{name}: written from another store")
    if built == watermark:
        return
    if built < watermark and store is not None and written_by == store:
        return  # behind, from this very store: the change feed brings it up to date
    raise StaleSnapshot(f"{name}: built at watermark {built}, the store is at {watermark}")


def _check_config(header: dict[str, object], template: HammingIndex) -> None:
    want = {"signal": template.signal, "bits": template.bits, "tables": template.tables,
            "equality": template.equality}
    for key, value in want.items():
        if header.get(key) != value:
            raise BadSnapshot(f"snapshot has {key}={header.get(key)!r}, expected {value!r}")
    if not isinstance(header.get("watermark"), int):
        raise BadSnapshot("snapshot has no watermark")


def _read_verified(path: Path) -> np.ndarray:
    try:
        size = path.stat().st_size
        # numpy's buffer, not a bytearray: numpy asks the kernel for huge pages, and
        # the tables' random reads then miss the TLB far less (a bytearray-backed
        # index served slower than the same index built in memory)
        buf = np.empty(size, np.uint8)
        with path.open("rb") as f:
            got = f.readinto(buf.data)
    except OSError as exc:
        raise BadSnapshot(f"{path.name}: cannot read: {exc.strerror or exc}") from None
    except MemoryError:
        raise BadSnapshot(f"{path.name}: too large to load ({size} bytes)") from None
    if got != size or size < _PREFIX.size + _DIGEST:
        raise BadSnapshot(f"{path.name}: truncated")
    _check_digest(path, buf)
    return buf


def _check_digest(path: Path, buf: np.ndarray) -> None:
    """The SHA-256 trailer must match every byte before it."""
    view = buf.data
    if hashlib.sha256(view[:-_DIGEST]).digest() != bytes(view[-_DIGEST:]):
        raise BadSnapshot(f"{path.name}: checksum mismatch (corrupt or truncated)")


def _map_verified(path: Path) -> tuple[np.ndarray, tuple[int, int]]:
    """The file mapped private copy-on-write, its checksum verified, and its id."""
    try:
        with path.open("rb") as f:
            st = os.fstat(f.fileno())
            if st.st_size < _PREFIX.size + _DIGEST:
                raise BadSnapshot(f"{path.name}: truncated")
            m = mmap.mmap(f.fileno(), st.st_size, flags=mmap.MAP_PRIVATE,
                          prot=mmap.PROT_READ | mmap.PROT_WRITE)
    except OSError as exc:
        raise BadSnapshot(f"{path.name}: cannot map: {exc.strerror or exc}") from None
    # the kernel reads ahead and keeps these pages for whoever maps the file next
    m.madvise(mmap.MADV_WILLNEED)
    buf = np.frombuffer(m, np.uint8)  # holds the mapping: unmapped when the index goes
    _check_digest(path, buf)
    return buf, (st.st_dev, st.st_ino)


def _block(name: str, arrays: dict[str, np.ndarray], header: dict[str, object], rows: int,
           template: HammingIndex, n_labels: int) -> Block | None:
    w = words_per_hash(template.bits)

    def need(key: str, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
        a = arrays.get(key)
        if a is None or a.dtype != np.dtype(dtype) or a.shape != shape:
            raise BadSnapshot(f"{name}: array {key!r} is missing or has the wrong shape")
        return a

    if rows == 0:
        return None
    ids = need("entry_ids", "<i8", (rows,))
    labels = need("labels", "<u2", (rows,))
    if n_labels == 0 or int(labels.max()) >= n_labels:
        raise BadSnapshot(f"{name}: label codes out of range")
    dead = np.zeros(rows, np.uint8)
    if header.get("layout") == "words":
        return Block(need("words", "<u8", (rows, w)), ids, labels, dead, rows, None)
    if header.get("layout") != "cycle" or not template.tables:
        raise BadSnapshot(f"{name}: table layout missing")
    try:
        top, row_bits = (int(header[k])  # type: ignore[call-overload]
                         for k in ("top_bits", "row_bits"))
    except (KeyError, TypeError, ValueError):
        raise BadSnapshot(f"{name}: table layout missing") from None
    if not (top == top_bits_for(rows) and row_bits == row_bits_for(rows)
            and CHUNK_BITS - top + row_bits <= 8 * RECORD_BYTES):
        raise BadSnapshot(f"{name}: inconsistent table layout")
    dirs = need("dirs", "<u4", (template.tables, (1 << top) + 1))
    records = need("records", "|u1", (template.tables, rows * RECORD_BYTES))
    why = check_cycle(dirs, records, rows, row_bits)
    if why is not None:
        raise BadSnapshot(f"{name}: {why}")
    cycle = CycleTables(dirs, records, rank_samples(dirs, rows), rows, top, row_bits)
    return Block(None, ids, labels, dead, rows, cycle)
