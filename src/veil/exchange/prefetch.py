"""Fetching the next pages while the last one merges: a peer's pages come through a
thread and a bounded queue, so the network wait and JSON parsing of the pages ahead
overlap the database work of page n (SQLite and psycopg release the GIL while they
write). At most ``depth`` + 2 pages are in memory; an error in the fetching thread
is raised where the page would have come out, in order."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

_END = object()


class _Raised:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def prefetched(source: Iterator[T], depth: int = 1) -> Iterator[T]:
    """``source``'s items, made on a thread of their own up to ``depth`` ahead."""
    q: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in source:
                if not put(item):
                    return
            put(_END)
        except BaseException as exc:  # handed to the consumer, raised there
            put(_Raised(exc))

    thread = threading.Thread(target=run, name="veil-exchange-fetch", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, _Raised):
                raise item.exc
            yield item  # type: ignore[misc]  # what the source yielded: a T
    finally:
        stop.set()
        thread.join(60)
