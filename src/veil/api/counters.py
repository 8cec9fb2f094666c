"""How often each entry matched, counted in memory and written to the store in the
background, so matching never waits for (or fails on) a database write.

Victims see their own signals' counts on their case (how often, never where): the
store adds a tally to a case signal only if the signal was submitted before the
tally's first match (``Store.add_match_counts``), and ``pending_since`` applies the
same rule to what is still in memory.

Writes go in batches of at most ``batch`` entries, one transaction each, so a
backlog of any size (the database was away; millions of entries matched) is
written without one huge statement and without holding the write lock long. A
batch that fails goes back to memory, merged with newer matches, and is retried
on the next round; ``stop`` retries a few times before giving up, and logs what
it could not write.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from itertools import islice

from veil.store.cases import MatchTally
from veil.store.coltypes import utcnow
from veil.store.interface import BankStore
from veil.verdict import Match

log = logging.getLogger("veil.api")

#: Entries per write (one transaction).
FLUSH_BATCH = 5000
#: Tries of the last write at shutdown, and the pause between them.
STOP_TRIES = 3
STOP_PAUSE_S = 0.5


class MatchCounter:
    def __init__(self, store: BankStore, every_s: float, *, batch: int = FLUSH_BATCH) -> None:
        self.store = store
        self.every_s = every_s
        self.batch = max(1, batch)
        self._pending: dict[int, MatchTally] = {}
        #: The batch being written: still counted by ``pending_since`` meanwhile.
        self._inflight: dict[int, MatchTally] = {}
        self._lock = threading.Lock()
        self._flushing = threading.Lock()  # one writer: the loop, or stop()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(self, matches: Iterable[Match]) -> None:
        now = utcnow()
        with self._lock:
            for m in matches:
                t = self._pending.get(m.entry_id)
                self._pending[m.entry_id] = (MatchTally(1, now, now) if t is None
                                             else MatchTally(t.matches + 1, t.first_at, now))

    def pending_since(self, entry_id: int, since: datetime) -> int:
        """Matches of ``entry_id`` not yet in the store that a case signal submitted
        at ``since`` may be shown: all of a tally that began after it, else none (as
        the store decides when the tally is written)."""
        with self._lock:
            return sum(t.matches for t in (self._pending.get(entry_id),
                                           self._inflight.get(entry_id))
                       if t is not None and t.first_at >= since)

    def pending_entries(self) -> int:
        with self._lock:
            return len(self._pending) + len(self._inflight)

    def flush(self) -> bool:
        """Write what is pending, a batch at a time; True when all of it was written.

        Bounded: matches recorded meanwhile wait for the next round rather than
        keeping this one going."""
        with self._flushing:
            with self._lock:
                rounds = -(-len(self._pending) // self.batch)
            for _ in range(rounds):
                with self._lock:
                    ids = list(islice(self._pending, self.batch))
                if not ids:
                    return True
                if not self._write(ids):
                    return False
            return True

    def flush_entries(self, entry_ids: Iterable[int]) -> bool:
        """Write the pending tallies of ``entry_ids`` only (a case being withdrawn:
        its request must not wait for every other entry's); True when written."""
        with self._flushing:
            with self._lock:
                ids = sorted({e for e in entry_ids if e in self._pending})
            return all(self._write(ids[i:i + self.batch])
                       for i in range(0, len(ids), self.batch))

    def _write(self, ids: list[int]) -> bool:
        """One batch, one transaction; on failure it goes back to memory. The caller
        holds ``_flushing``."""
        with self._lock:
            self._inflight = {e: self._pending.pop(e) for e in ids if e in self._pending}
        try:
            self.store.add_match_counts(self._inflight)
        except Exception as exc:  # back to memory, for the next try
            with self._lock:
                entries = len(self._inflight)
                self._put_back(self._inflight)
                self._inflight = {}
            log.warning("match counters not written; will retry", extra={
                "error_type": type(exc).__name__, "entries": entries})
            return False
        with self._lock:
            self._inflight = {}
        return True

    def _put_back(self, tallies: dict[int, MatchTally]) -> None:
        for entry_id, t in tallies.items():
            newer = self._pending.get(entry_id)
            self._pending[entry_id] = t if newer is None else t.merged(newer)

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.wait(self.every_s):
                self.flush()

        self._thread = threading.Thread(target=loop, name="veil-match-counter", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the loop and write everything still pending (retried a few times)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for attempt in range(STOP_TRIES):
            if self.flush() and not self.pending_entries():
                return
            if attempt + 1 < STOP_TRIES:
                time.sleep(STOP_PAUSE_S)
        with self._lock:
            lost = sum(t.matches for t in self._pending.values())
            entries = len(self._pending)
        log.error("match counters lost at shutdown: the store did not take them",
                  extra={"entries": entries, "matches": lost})
