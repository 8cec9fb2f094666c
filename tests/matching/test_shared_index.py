"""Indexes mapped from snapshot files and shared by the workers of one home
(``veil.matching.shared``): same answers as a copy, one rewrite for many workers,
no withdrawn hash left in a mapped file, memory flat over many reloads."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from veil.config import Settings, snapshot_path
from veil.index import empty_index, load_snapshot
from veil.index.hamming import CYCLE_MIN_ROWS
from veil.matching import LiveMatcher
from veil.matching import shared as shared_module
from veil.store import HashRow, Store, open_store

ROWS = CYCLE_MIN_ROWS + 1000  # one block with cycle tables, as a large bank has


def pdq(rng: np.random.Generator) -> str:
    return rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex()


@pytest.fixture
def shared(settings: Settings) -> Settings:
    return settings.with_(index_shared=True, index_snapshot_min_entries=1000,
                          index_rewrite_gap_s=0, api={"index_sync_ms": 0})


@pytest.fixture
def banked(shared: Settings, store: Store) -> list[str]:
    rng = np.random.default_rng(11)
    values = [pdq(rng) for _ in range(ROWS)]
    store.create_bank("victims", "victim_submitted", actor="t")
    store.import_entries("victims", [HashRow("pdq", v) for v in values], actor="t")
    return values


@pytest.fixture
def workers(shared: Settings, banked: list[str]) -> Iterator[list[LiveMatcher]]:
    """Two workers of one home, each with its own store connection."""
    stores = [open_store(shared) for _ in range(2)]
    live = [LiveMatcher(shared, s) for s in stores]
    for w in live:
        w.load()
    yield live
    for s in stores:
        s.close()


def ids(w: LiveMatcher, value: str) -> list[int]:
    return [m.entry_id for m in w.matcher.search("pdq", [value], 31)[0]]


def snapshot_maps() -> list[str]:
    """This process's mappings of index snapshot files (deleted ones included)."""
    lines = Path("/proc/self/maps").read_text().splitlines()
    return sorted({line.split(None, 5)[-1] for line in lines
                   if re.search(r"/index/[^/]+\.snapshot( \(deleted\))?$", line)})


def rss_kib() -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]


def test_mapped_index_answers_as_the_copy_and_a_withdrawal_leaves_the_file(
        shared: Settings, store: Store, workers: list[LiveMatcher], banked: list[str]) -> None:
    path = snapshot_path(shared.home, "pdq")
    a, b = workers
    assert a.matcher.indexes["pdq"].mapped is not None
    copy = load_snapshot(path, empty_index("pdq"), watermark=None)
    probe = banked[::997]
    assert [[h.entry_id for h in hits] for hits in copy.search(probe, 31)] == [
        [m.entry_id for m in found] for found in a.matcher.search("pdq", probe, 31)]
    assert snapshot_maps() == [str(path)]  # both workers map one file

    before = hashlib.sha256(path.read_bytes()).hexdigest()
    gone = ids(a, banked[5])[0]
    index = a.matcher.indexes["pdq"]
    index.withdraw(gone)  # in this worker's pages only (copied on write)
    assert ids(a, banked[5]) == [] and ids(b, banked[5]) == [gone]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_a_withdrawal_is_rewritten_out_of_the_file_once_for_all_workers(
        shared: Settings, store: Store, workers: list[LiveMatcher], banked: list[str]) -> None:
    path = snapshot_path(shared.home, "pdq")
    a, b = workers
    victim = ids(a, banked[7])[0]
    store.withdraw(victim, actor="victim")
    assert not path.exists()  # the store that erased the hash removed the snapshot
    for w in workers:
        w.sync()
        assert ids(w, banked[7]) == []
    # the mapping still holds the old file, whose pages hold the hash
    assert snapshot_maps() == [f"{path} (deleted)"]

    assert a.refresh_shared() == ["pdq"]  # one worker writes it, compacted
    written = path.stat().st_ino
    assert b.refresh_shared() == ["pdq"]  # the other maps that file: no second write
    assert path.stat().st_ino == written
    assert snapshot_maps() == [str(path)]  # the old file is released by both
    on_disk = load_snapshot(path, empty_index("pdq"), watermark=None)
    assert victim not in set(on_disk._view.blocks[0].entry_ids.tolist())
    assert len(on_disk) == ROWS - 1
    for w in workers:
        assert ids(w, banked[7]) == [] and ids(w, banked[8]) != []
        assert w.refresh_shared() == []  # nothing left to do


def test_a_worker_catching_up_does_not_remove_a_file_written_after_the_withdrawal(
        shared: Settings, store: Store, workers: list[LiveMatcher], banked: list[str]) -> None:
    path = snapshot_path(shared.home, "pdq")
    a, b = workers
    store.withdraw(ids(a, banked[3])[0], actor="victim")
    a.sync()
    assert a.refresh_shared() == ["pdq"]
    b.sync()  # the same withdrawal, applied after a's rewrite
    assert path.exists()
    assert b.refresh_shared() == ["pdq"] and len(snapshot_maps()) == 1


def test_rows_added_beside_the_mapping_are_folded_in_once_they_are_many(
        shared: Settings, store: Store, workers: list[LiveMatcher]) -> None:
    rng = np.random.default_rng(12)
    a, _ = workers
    added = [pdq(rng) for _ in range(ROWS // 10 + 10)]
    store.import_entries("victims", [HashRow("pdq", v) for v in added[:100]], actor="t")
    a.sync()
    assert a.refresh_shared() == []  # a few: kept beside the mapping
    store.import_entries("victims", [HashRow("pdq", v) for v in added[100:]], actor="t")
    a.sync()
    assert a.refresh_shared() == ["pdq"]
    index = a.matcher.indexes["pdq"]
    assert index.rows_beside_mapped() == 0 and len(index) == ROWS + len(added)
    assert ids(a, added[-1]) != []


def test_memory_stays_flat_over_100_reloads(
        shared: Settings, store: Store, workers: list[LiveMatcher], banked: list[str]) -> None:
    a, b = workers
    rss: list[int] = []
    for i in range(100):
        store.withdraw(ids(a, banked[i])[0], actor="victim")
        a.sync()
        assert a.refresh_shared() == ["pdq"]
        assert ids(a, banked[i]) == []
        rss.append(rss_kib())
    b.sync()  # the other worker, idle meanwhile, maps the last file: the first goes
    assert b.refresh_shared() == ["pdq"]
    assert snapshot_maps() == [str(snapshot_path(shared.home, "pdq"))]
    # a leaked mapping or copy would hold about 2 MB a reload
    assert rss[-1] - rss[9] < 20 * 1024, rss[9::10]


def test_rewrites_are_at_least_the_gap_apart(
        shared: Settings, store: Store, workers: list[LiveMatcher], banked: list[str]) -> None:
    """Withdrawals cost a case-token holder nothing; rewrites cost a core seconds."""
    a, _ = workers
    a.settings = shared.with_(index_rewrite_gap_s=3600)
    for i in (1, 2):
        store.withdraw(ids(a, banked[i])[0], actor="victim")
        a.sync()
        assert ids(a, banked[i]) == []  # in memory at once, whatever the gap
        assert a.refresh_shared() == (["pdq"] if i == 1 else [])
    a.settings = shared  # the gap over: the second withdrawal's file goes too
    assert a.refresh_shared() == ["pdq"]
    on_disk = load_snapshot(snapshot_path(shared.home, "pdq"), empty_index("pdq"),
                            watermark=None)
    assert len(on_disk) == ROWS - 2


def test_a_rewrite_holds_up_no_change_and_misses_none(
        shared: Settings, store: Store, workers: list[LiveMatcher], banked: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The rewrite runs outside the sync lock (half a minute at 10M entries): a
    withdrawal committed meanwhile applies at once, and is applied again to the new
    index before it replaces the old; the file written before it is dropped."""
    a, _ = workers
    path = snapshot_path(shared.home, "pdq")
    store.withdraw(ids(a, banked[1])[0], actor="victim")
    a.sync()
    writing, go = threading.Event(), threading.Event()
    real = shared_module.save_snapshot

    def slow(*args: object, **kwargs: object) -> Path:
        writing.set()
        assert go.wait(30)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(shared_module, "save_snapshot", slow)
    done: list[list[str]] = []
    worker = threading.Thread(target=lambda: done.append(a.refresh_shared()))
    worker.start()
    assert writing.wait(30)
    gone = ids(a, banked[2])[0]
    store.withdraw(gone, actor="victim")
    started = time.monotonic()
    a.sync()
    assert time.monotonic() - started < 5, "the sync waited for the rewrite"
    assert ids(a, banked[2]) == []
    go.set()
    worker.join(30)
    assert done == [["pdq"]]
    assert ids(a, banked[2]) == [] and ids(a, banked[3]) != []
    assert not path.exists()  # written before the second withdrawal: it held the hash
    assert a.refresh_shared() == ["pdq"]
    on_disk = load_snapshot(path, empty_index("pdq"), watermark=None)
    assert len(on_disk) == ROWS - 2
