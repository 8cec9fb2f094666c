"""The backfill engine without Ray: worker processes on this machine.

The same work as the Ray engine, through the same functions: each worker process
holds one ``Scanner`` (its matcher loaded once, at start) and turns a batch of
paths into rows (``read_batch``, then ``Scanner.scan_batch``). Batches are handed
out a few per worker at a time, so memory stays bounded whatever the input count,
and results come back in input order. Workers are spawned, not forked: the
parent has threads running (pyarrow's pools, the progress bar's refresh), and a
forked child keeps a copy of any lock such a thread held, held forever.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from veil.errors import StoreError
from veil.pipelines.rows import Scanner, paths_table, read_batch

if TYPE_CHECKING:
    import pyarrow as pa

    from veil.config import Settings

#: Batches in flight per worker: one being scanned, the next ones ready.
IN_FLIGHT_PER_WORKER = 3

_scanner: Scanner | None = None


def _start(settings: Settings, share: int, thresholds: dict[str, int], dihedral: bool) -> None:
    global _scanner
    _scanner = Scanner(settings, share=share, thresholds=thresholds, dihedral=dihedral)


def _scan(paths: list[str], filesystem: Any, max_bytes: int) -> pa.Table:
    assert _scanner is not None, "the worker's initializer loads the scanner"
    return _scanner.scan_batch(read_batch(paths_table(paths), filesystem=filesystem,
                                          max_bytes=max_bytes))


def scan_local(filesystem: Any, paths: Sequence[str], settings: Settings, *, workers: int,
               batch: int, thresholds: dict[str, int],
               dihedral: bool) -> Iterator[pa.Table]:
    """Rows for ``paths``, a batch at a time, in order."""
    pending: deque[Future[pa.Table]] = deque()
    batches = (list(paths[i:i + batch]) for i in range(0, len(paths), batch))
    with ProcessPoolExecutor(max_workers=workers,
                             mp_context=multiprocessing.get_context("spawn"),
                             initializer=_start,
                             initargs=(settings, workers, thresholds, dihedral)) as pool:
        try:
            for chunk in batches:
                pending.append(pool.submit(_scan, chunk, filesystem,
                                           settings.media.max_bytes))
                if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except BrokenProcessPool as exc:
            # a worker died (a decoder crashed the process, or it was killed): the
            # rows in hand are written by the caller; a rerun resumes after them
            raise StoreError("a worker process died while scanning; rerun to resume",
                             code="backfill.worker_failed") from exc
