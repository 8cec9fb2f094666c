"""The region index's lock: searches share it, a change has it alone, and a waiting
change holds back new searches."""

from __future__ import annotations

import threading
import time

from veil.matching.readwrite import ReadWriteLock


def test_readers_share_and_a_writer_waits_for_them_then_goes_first() -> None:
    lock = ReadWriteLock()
    inside = threading.Barrier(2, timeout=5)
    order: list[str] = []
    release = threading.Event()

    def reader(name: str) -> None:
        with lock.reading():
            inside.wait()  # both readers are in at once, or this times out
            order.append(name)
            release.wait(5)

    readers = [threading.Thread(target=reader, args=(n,)) for n in ("r1", "r2")]
    for t in readers:
        t.start()
    time.sleep(0.05)

    def writer() -> None:
        with lock.writing():
            order.append("w")

    def late_reader() -> None:
        with lock.reading():
            order.append("r3")

    w = threading.Thread(target=writer)
    w.start()
    time.sleep(0.05)
    late = threading.Thread(target=late_reader)
    late.start()
    time.sleep(0.05)
    assert "w" not in order and "r3" not in order  # the writer waits; r3 waits behind it
    release.set()
    for t in (*readers, w, late):
        t.join(5)
    assert sorted(order[:2]) == ["r1", "r2"] and order[2:] == ["w", "r3"]
