"""The live index of one signal type: table-indexed blocks, a scanned tail, tombstones.

Entries live in *blocks*. A block is immutable once built except for its
tombstones: small blocks keep plain rows and are scanned; from ``CYCLE_MIN_ROWS``
rows, signals with chunk tables keep their hashes only in the ``cycle`` tables
(rows sorted by chunk 0, the order of table 0). New entries go to a small *tail*
block that every search scans; when the tail fills it becomes a block, and blocks
of similar size are merged, so an entry is re-sorted O(log n) times over its life
instead of the whole bank being rebuilt on every add. A withdrawal sets the row's
tombstone and zeroes its hash (in a cycle block: the chunk bits its records store;
the top bits its positions imply go at the next merge) under the index lock, so it
stops matching before ``withdraw`` returns; the row itself disappears at the next
merge or ``compact`` (snapshots are written compacted, so a withdrawn hash never
reaches disk).

Searches take no lock: they read an immutable view (blocks, tail, tail length)
that mutations replace, and rows below the captured tail length never change
except by being zeroed and tombstoned.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING

import numpy as np

from veil.errors import BadInput
from veil.index.chunks import sort_order
from veil.index.cycle import CycleTables, build_cycle
from veil.index.matches import Hit
from veil.index.multi_index import RowHits, search_rows
from veil.index.packing import pack_hex, unpack_hex, words_per_hash

if TYPE_CHECKING:
    from veil.index.mapped import MappedFile

#: Rows the tail holds before it is turned into a block. Scanning 4096 rows costs a
#: query about as much as probing one table-indexed block, and building a block of
#: that size takes about a millisecond.
TAIL_ROWS = 4096
#: Queries per kernel call; bounds the per-call output buffers whatever the batch.
SEARCH_BATCH = 4096
#: Entries read from the source per step while building (bounds temporary strings).
INGEST_CHUNK = 65_536
#: A block is merged into the one before it once it holds this fraction of it.
MERGE_RATIO = 0.25
#: Blocks of at least this many rows get cycle tables (when the signal has chunk
#: tables); smaller ones are cheaper to scan than to probe, and plain rows are
#: smaller than tables.
CYCLE_MIN_ROWS = 32_768


@dataclass(eq=False)
class Block:
    """Rows ``[0, n)`` of the arrays are in use (the tail preallocates more). The
    hashes are in ``words`` (plain rows) or only in ``cycle``."""

    words: np.ndarray | None  # (cap, W) uint64
    entry_ids: np.ndarray  # (cap,) int64
    labels: np.ndarray  # (cap,) uint16, index into HammingIndex.labels
    dead: np.ndarray  # (cap,) uint8 tombstones
    n: int
    cycle: CycleTables | None
    #: Tombstones among rows ``[0, n)``, counted on first use and kept by ``kill``
    #: (-1: not counted yet). Every search asks whether the index is empty, and
    #: counting 10M tombstones each time took a third of a single-hash match.
    dead_count: int = -1

    def live_mask(self) -> np.ndarray:
        mask: np.ndarray = self.dead[: self.n] == 0
        return mask

    @property
    def live(self) -> int:
        if self.dead_count < 0:
            self.dead_count = int(np.count_nonzero(self.dead[: self.n]))
        return self.n - self.dead_count

    def kill(self, rows: np.ndarray) -> None:
        """Tombstone ``rows`` (live until now) and forget their hashes."""
        # tombstone first: a concurrent search checks it after comparing the row
        self.dead[rows] = 1
        if self.dead_count >= 0:
            self.dead_count += len(rows)
        self.erase(rows)

    @property
    def nbytes(self) -> int:
        size = self.entry_ids.nbytes + self.labels.nbytes + self.dead.nbytes
        if self.words is not None:
            size += self.words.nbytes
        return size + (self.cycle.nbytes if self.cycle is not None else 0)

    def row_words(self, rows: np.ndarray) -> np.ndarray:
        """The packed hashes of ``rows``."""
        if self.words is not None:
            found: np.ndarray = self.words[rows]
            return found
        assert self.cycle is not None
        return self.cycle.decode(rows)

    def live_words(self, mask: np.ndarray) -> np.ndarray:
        if self.words is not None:
            live: np.ndarray = self.words[: self.n][mask]
            return live
        return self.row_words(np.flatnonzero(mask))

    def erase(self, rows: np.ndarray) -> None:
        """Forget the hashes of ``rows`` (already tombstoned)."""
        if self.words is not None:
            self.words[rows] = 0
        elif self.cycle is not None:
            self.cycle.erase(rows)


def _last_wins(ids: np.ndarray, labels: np.ndarray, words: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows with each id's last occurrence only, in their order: the store's ids
    are unique, and a source that repeats one gets what one add() at a time gives."""
    uniq, first_from_end = np.unique(ids[::-1], return_index=True)
    if len(uniq) == len(ids):
        return ids, labels, words
    keep = np.sort(len(ids) - 1 - first_from_end)
    return ids[keep], labels[keep], words[keep]


@dataclass(frozen=True)
class IndexStats:
    entries: int  # live entries
    rows: int  # rows held, withdrawn ones included until the next merge
    blocks: int
    nbytes: int  # arrays held (hashes, tables, ids, labels, tombstones)


@dataclass(frozen=True)
class _View:
    blocks: tuple[Block, ...]
    tail: Block
    tail_n: int


class HammingIndex:
    """Exact matcher for one signal type over fixed-length hashes.

    ``tables``: 0 scans every row (what 64-bit hashes get), or ``bits // 32``: large
    blocks get one cycle table per 32-bit chunk (8 for 256-bit PDQ). ``equality``:
    values match only when identical (cryptographic digests), through table 0.
    """

    def __init__(self, signal: str, bits: int, *, tables: int, default_threshold: int,
                 equality: bool = False, watermark: int = 0, tail_rows: int = TAIL_ROWS) -> None:
        if tables not in (0, bits // 32) or (tables and bits % 64):
            raise ValueError(f"{bits}-bit hashes take 0 or {bits // 32} chunk tables, "
                             f"not {tables}")
        self.signal = signal
        self.bits = bits
        self.tables = tables
        self.equality = equality
        self.default_threshold = default_threshold
        #: The store watermark this index reflects; callers set it with each change
        #: they apply, and snapshots record it.
        self.watermark = watermark
        #: The snapshot file the first block is mapped from (``load_snapshot``), until
        #: a merge or ``compact`` replaces that block with one in memory.
        self.mapped: MappedFile | None = None
        self._w = words_per_hash(bits)
        self._tail_rows = tail_rows
        self.labels: list[tuple[str, str]] = []
        self._codes: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self._labels_lock = threading.Lock()
        self._blocks: list[Block] = []
        self._tail = self._new_tail()
        self._view = _View((), self._tail, 0)

    # -- building --------------------------------------------------------------------
    def load(self, entries: Iterable[Sequence[object]]) -> int:
        """Add entries from a source in bulk (one block); returns how many."""
        ids, labels, words = self._ingest(entries)
        return self._load_block(*_last_wins(ids, labels, words))

    def load_packed(self, batches: Iterable[tuple[np.ndarray, np.ndarray]], bank: str,
                    category: str, *, on_table: Callable[[int], None] | None = None) -> int:
        """Add packed rows in bulk (one block), all of one bank: ``(ids, words)``
        batches as ``hash_table.read_packed`` gives them, with no Python object per
        hash. ``on_table(t)``: called as each chunk table is built. Returns how many."""
        code = self._code(bank, category)
        id_parts, word_parts = [], []
        for ids, words in batches:
            if words.ndim != 2 or words.shape[1] != self._w or words.dtype != np.uint64 \
                    or ids.shape != (len(words),):
                raise BadInput(f"packed rows must be (n, {self._w}) uint64 with n ids")
            id_parts.append(ids.astype(np.int64, copy=False))
            word_parts.append(words)
        if not id_parts:
            return 0
        ids = np.concatenate(id_parts)
        del id_parts
        words = np.concatenate(word_parts)
        del word_parts
        ids, labels, words = _last_wins(ids, np.full(len(ids), code, np.uint16), words)
        if self.tables and len(ids) >= CYCLE_MIN_ROWS:
            # sorted here, rebinding the only reference, so the build never holds two
            # copies of the hashes (3.2 GB each at 100M)
            order = sort_order(words)
            words, ids, labels = words[order], ids[order], labels[order]
            del order
        return self._load_block(ids, labels, words, ordered=True, on_table=on_table)

    def _load_block(self, ids: np.ndarray, labels: np.ndarray, words: np.ndarray, *,
                    ordered: bool = False,
                    on_table: Callable[[int], None] | None = None) -> int:
        with self._lock:
            self._kill(ids)
            if len(ids):
                self._blocks.append(self._build(words, ids, labels, ordered=ordered,
                                                on_table=on_table))
                self._merge_tail_blocks()
            self._publish()
        return len(ids)

    def _ingest(self, entries: Iterable[Sequence[object]]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        it = iter(entries)
        id_parts, label_parts, word_parts = [], [], []
        while chunk := list(islice(it, INGEST_CHUNK)):
            id_parts.append(np.fromiter((int(e[0]) for e in chunk), np.int64, len(chunk)))  # type: ignore[call-overload]
            label_parts.append(np.fromiter(
                (self._code(str(e[1]), str(e[2])) for e in chunk), np.uint16, len(chunk)))
            word_parts.append(pack_hex([e[3] for e in chunk], self.bits, self.signal))  # type: ignore[misc]
        if not id_parts:
            return (np.empty(0, np.int64), np.empty(0, np.uint16),
                    np.empty((0, self._w), np.uint64))
        return np.concatenate(id_parts), np.concatenate(label_parts), np.concatenate(word_parts)

    def _code(self, bank: str, category: str) -> int:
        key = (bank, category)
        code = self._codes.get(key)
        if code is None:
            # ingest runs outside the index lock; two adds meeting a new bank at once
            # must not hand out one code for two banks
            with self._labels_lock:
                code = self._codes.get(key)
                if code is None:
                    if len(self.labels) >= 1 << 16:
                        raise BadInput("more than 65536 (bank, category) pairs in one index")
                    self.labels.append(key)
                    code = self._codes[key] = len(self.labels) - 1
        return code

    def _build(self, words: np.ndarray, ids: np.ndarray, labels: np.ndarray, *,
               ordered: bool = False, on_table: Callable[[int], None] | None = None) -> Block:
        """A block over the rows; ``ordered``: already sorted by chunk 0."""
        n = len(ids)
        if not self.tables or n < CYCLE_MIN_ROWS:
            return Block(np.ascontiguousarray(words), ids, labels, np.zeros(n, np.uint8), n,
                         None)
        if not ordered:
            order = sort_order(words)
            words, ids, labels = words[order], ids[order], labels[order]
            del order
        cycle = build_cycle(words, on_table=on_table)
        del words
        return Block(None, ids, labels, np.zeros(n, np.uint8), n, cycle)

    def _new_tail(self) -> Block:
        c = self._tail_rows
        return Block(np.zeros((c, self._w), np.uint64), np.zeros(c, np.int64),
                     np.zeros(c, np.uint16), np.zeros(c, np.uint8), 0, None)

    # -- live updates ----------------------------------------------------------------
    def add(self, entry_id: int, bank: str, category: str, value: str, *,
            watermark: int | None = None) -> None:
        """Add (or replace) one entry; it matches as soon as this returns."""
        self.add_many([(entry_id, bank, category, value, None)], watermark=watermark)

    def add_many(self, entries: Iterable[Sequence[object]], *,
                 watermark: int | None = None) -> int:
        """Add entries; an entry id already present is replaced. Returns how many."""
        ids, labels, words = _last_wins(*self._ingest(entries))
        with self._lock:
            self._kill(ids)
            at = 0
            while at < len(ids):
                tail = self._tail
                take = min(len(ids) - at, self._tail_rows - tail.n)
                sl = slice(tail.n, tail.n + take)
                assert tail.words is not None  # the tail always keeps plain rows
                tail.words[sl] = words[at:at + take]
                tail.entry_ids[sl] = ids[at:at + take]
                tail.labels[sl] = labels[at:at + take]
                tail.dead[sl] = 0
                tail.n += take
                at += take
                if tail.n == self._tail_rows:
                    self._freeze_tail()
            if watermark is not None:
                self.watermark = watermark
            self._publish()
        return len(ids)

    def withdraw(self, entry_id: int, *, watermark: int | None = None) -> bool:
        """Stop matching one entry now; False if the index does not hold it."""
        return self.withdraw_many([entry_id], watermark=watermark) > 0

    def withdraw_many(self, entry_ids: Iterable[int], *, watermark: int | None = None) -> int:
        ids = np.fromiter((int(i) for i in entry_ids), np.int64)
        with self._lock:
            n = self._kill(ids)
            if watermark is not None:
                self.watermark = watermark
            # nothing to publish: tombstones are written in place, seen by all views
        return n

    def _kill(self, ids: np.ndarray) -> int:
        if not len(ids):
            return 0
        killed = 0
        for b in (*self._blocks, self._tail):
            held = b.entry_ids[: b.n]
            hit = (np.isin(held, ids) if len(ids) > 8
                   else np.logical_or.reduce([held == i for i in ids]))
            hit &= b.dead[: b.n] == 0
            rows = np.flatnonzero(hit)
            if len(rows):
                b.kill(rows)
                killed += len(rows)
        return killed

    def _freeze_tail(self) -> None:
        t = self._tail
        live = t.live_mask()
        assert t.words is not None  # the tail always keeps plain rows
        block = self._build(t.words[: t.n][live].copy(), t.entry_ids[: t.n][live].copy(),
                            t.labels[: t.n][live].copy())
        self._tail = self._new_tail()
        if block.n:
            self._blocks.append(block)
            self._merge_tail_blocks()

    def _merge_tail_blocks(self) -> None:
        while len(self._blocks) >= 2 and (
                self._blocks[-1].live >= MERGE_RATIO * self._blocks[-2].live):
            b = self._blocks.pop()
            a = self._blocks.pop()
            if not self._blocks:
                self.mapped = None  # ``a`` was the first block
            self._blocks.append(self._merged([a, b]))

    def _merged(self, blocks: Sequence[Block],
                masks: Sequence[np.ndarray] | None = None) -> Block:
        masks = masks if masks is not None else [b.live_mask() for b in blocks]
        return self._build(
            np.concatenate([b.live_words(m) for b, m in zip(blocks, masks, strict=True)]),
            np.concatenate([b.entry_ids[: b.n][m] for b, m in zip(blocks, masks, strict=True)]),
            np.concatenate([b.labels[: b.n][m] for b, m in zip(blocks, masks, strict=True)]))

    def compact(self) -> None:
        """Rebuild into one block without withdrawn rows (what a snapshot stores)."""
        with self._lock:
            parts = [*self._blocks]
            if self._tail.n:
                parts.append(self._tail)
            if len(parts) == 1 and parts[0] is not self._tail and parts[0].live == parts[0].n:
                return
            merged = self._merged(parts) if parts else None
            self.mapped = None
            self._blocks = [merged] if merged is not None and merged.n else []
            self._tail = self._new_tail()
            self._publish()

    def frozen_copy(self) -> HammingIndex:
        """A compacted copy of the entries live now, made while this index goes on
        changing: only the tombstones, the tail and the watermark are taken under the
        lock; decoding, sorting and building the tables (half a minute at 10M) run
        outside it. A row withdrawn meanwhile may be copied with its hash partly
        erased; the copy's watermark is from before that withdrawal, so whoever loads
        the copy applies it again (the change feed is idempotent)."""
        with self._lock:
            v = self._view
            blocks = [b for b in v.blocks if b.n]
            masks = [b.live_mask() for b in blocks]  # copies: later tombstones not seen
            t, n = v.tail, v.tail_n
            assert t.words is not None  # the tail always keeps plain rows
            tail = Block(t.words[:n].copy(), t.entry_ids[:n].copy(), t.labels[:n].copy(),
                         t.dead[:n].copy(), n, None)
            labels, watermark = list(self.labels), self.watermark
        if n:
            blocks.append(tail)
            masks.append(tail.live_mask())
        copy = HammingIndex(self.signal, self.bits, tables=self.tables,
                            default_threshold=self.default_threshold, equality=self.equality,
                            watermark=watermark, tail_rows=self._tail_rows)
        copy._install(copy._merged(blocks, masks) if blocks else None, labels)
        return copy

    def _publish(self) -> None:
        self._view = _View(tuple(self._blocks), self._tail, self._tail.n)

    # -- reading ---------------------------------------------------------------------
    def __len__(self) -> int:
        v = self._view
        return sum(b.live for b in v.blocks) + (
            v.tail_n - int(np.count_nonzero(v.tail.dead[: v.tail_n])))

    def rows_beside_mapped(self) -> int:
        """Rows held outside the mapped snapshot (each process's own memory)."""
        v = self._view
        rows = sum(b.n for b in v.blocks) + v.tail_n
        return rows - (self.mapped.rows if self.mapped is not None and v.blocks else 0)

    def stats(self) -> IndexStats:
        v = self._view
        blocks = [*v.blocks, v.tail]
        return IndexStats(len(self), sum(b.n for b in v.blocks) + v.tail_n, len(v.blocks),
                          sum(b.nbytes for b in blocks))

    def radius(self, threshold: int | None) -> int:
        """The search radius for ``threshold`` (default: the signal's); validated."""
        t = self.default_threshold if threshold is None else threshold
        if isinstance(t, bool) or not isinstance(t, int | np.integer) or not 0 <= t <= self.bits:
            raise BadInput(f"{self.signal} threshold must be an integer between 0 and "
                           f"{self.bits}, got {t!r}", code="input.bad_threshold")
        return 0 if self.equality else int(t)

    def search_packed(self, queries: np.ndarray, radius: int) -> list[tuple[Block, RowHits]]:
        """Row-level hits per block for packed queries (see ``packing``): the fast path
        for callers that batch thousands of queries and want arrays, not objects.

        Queries are searched ``SEARCH_BATCH`` at a time, so the kernels' buffers stay
        small however many are passed; hits come back per block, by query.
        """
        if queries.ndim != 2 or queries.shape[1] != self._w or queries.dtype != np.uint64:
            raise BadInput(f"packed queries must be (n, {self._w}) uint64")
        v = self._view
        found: list[tuple[Block, list[RowHits]]] = []
        for b in (*v.blocks, v.tail):
            n = v.tail_n if b is v.tail else b.n
            if n == 0:
                continue
            parts = []
            for start in range(0, len(queries), SEARCH_BATCH):
                hits = search_rows(None if b.words is None else b.words[:n], b.dead[:n],
                                   b.cycle,
                                   np.ascontiguousarray(queries[start:start + SEARCH_BATCH]),
                                   radius)
                if len(hits.row):
                    parts.append(RowHits(hits.query + start, hits.row, hits.distance))
            if parts:
                found.append((b, parts))
        return [(b, parts[0] if len(parts) == 1 else RowHits(
            np.concatenate([p.query for p in parts]), np.concatenate([p.row for p in parts]),
            np.concatenate([p.distance for p in parts]))) for b, parts in found]

    def search(self, queries: Sequence[str], threshold: int | None = None, *,
               values: bool = False) -> list[list[Hit]]:
        """For each query hash (normalised hex), every live entry within ``threshold``
        bits, closest first. Exact: never a sample. ``values``: also decode each
        hit's hash (a cycle walk per hit; only callers allowed to see hashes ask)."""
        r = self.radius(threshold)
        results: list[list[Hit]] = [[] for _ in queries]
        for start in range(0, len(queries), SEARCH_BATCH):
            batch = queries[start:start + SEARCH_BATCH]
            packed = pack_hex(list(batch), self.bits, self.signal)
            for block, hits in self.search_packed(packed, r):
                ids = block.entry_ids[hits.row].tolist()
                labels = block.labels[hits.row].tolist()
                dists = [0] * len(ids) if self.equality else hits.distance.tolist()
                decoded: list[str | None] = (
                    list(unpack_hex(block.row_words(hits.row), self.bits)) if values
                    else [None] * len(ids))
                for qi, eid, lab, d, val in zip(hits.query.tolist(), ids, labels, dists, decoded,
                                                strict=True):
                    bank, category = self.labels[lab]
                    results[start + qi].append(Hit(eid, bank, category, d, 0, val))
        for found in results:
            found.sort(key=lambda m: (m.distance, m.entry_id))
        return results

    def match(self, value: str, threshold: int | None = None, *,
              values: bool = False) -> list[Hit]:
        return self.search([value], threshold, values=values)[0]

    def match_dihedral(self, variants: Sequence[str], threshold: int | None = None, *,
                       values: bool = False) -> list[Hit]:
        """Entries within ``threshold`` of any of ``variants`` (e.g. the 8 orientations
        of ``compute_pdq(media).dihedral()``), each once at its closest variant."""
        return self.search_dihedral([variants], threshold, values=values)[0]

    def search_dihedral(self, groups: Sequence[Sequence[str]], threshold: int | None = None,
                        *, values: bool = False) -> list[list[Hit]]:
        """``match_dihedral`` for many queries in one batch."""
        flat: list[str] = []
        owner: list[tuple[int, int]] = []
        for gi, variants in enumerate(groups):
            if not variants:
                raise BadInput(f"query {gi} has no variants")
            flat.extend(variants)
            owner.extend((gi, vi) for vi in range(len(variants)))
        best: list[dict[int, Hit]] = [{} for _ in groups]
        for (gi, vi), found in zip(owner, self.search(flat, threshold, values=values),
                                   strict=True):
            seen = best[gi]
            for m in found:
                prev = seen.get(m.entry_id)
                if prev is None or m.distance < prev.distance:
                    seen[m.entry_id] = Hit(m.entry_id, m.bank, m.category, m.distance, vi,
                                           m.value)
        return [sorted(b.values(), key=lambda m: (m.distance, m.entry_id)) for b in best]

    # -- snapshot support (``snapshot`` module) --------------------------------------
    def _only_block(self) -> Block | None:
        self.compact()
        v = self._view
        return v.blocks[0] if v.blocks else None

    def _install(self, block: Block | None, labels: list[tuple[str, str]]) -> None:
        with self._lock:
            self.mapped = None
            self.labels = list(labels)
            self._codes = {lab: i for i, lab in enumerate(self.labels)}
            self._blocks = [block] if block is not None and block.n else []
            self._tail = self._new_tail()
            self._publish()
