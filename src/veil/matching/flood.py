"""Flood protection: notice a bank or entry that suddenly matches far too much.

Shared hash lists can carry hashes of ordinary pictures, or hashes so generic (a flat
image, a common template) that they match many unrelated uploads. ``FloodWatch``
reads the stream of decided uploads and says which bank or entry to quarantine
(its matches then go to review until an admin decides; the service writes the
quarantine, ``veil.api.services``). Two statistics:

* **An entry that matches too many distinct pictures**: per entry, the uploads it
  matched within the last ``entry_window`` uploads, where an upload counts only if
  its hash is more than ``distinct_bits`` from every upload already counted for
  that entry. Copies of one picture (re-encodes, resizes, the same file scanned a
  thousand times) are within a few bits of each other and count once: a genuine
  entry matches copies of one picture, a false one matches pictures that merely
  share its blandness, and those are far apart from each other. At
  ``entry_max_uploads`` distinct ones the entry is quarantined.
* **A bank whose share of matched uploads jumps**: uploads are counted in tumbling
  windows of ``window``; in each, the uploads with a new (distinct, as above) match
  in the bank. Its baseline is an exponentially weighted mean of its past windows'
  shares (starting at 0, so a newly imported bank that floods at once is caught). A
  bank is quarantined as soon as, within a window, its count reaches
  ``bank_min_matches`` and exceeds ``max(bank_factor × baseline, bank_min_share)``
  of the window.

Cost per upload: O(matches × entry_max_uploads) popcounts (the lists are bounded);
memory: at most ``max_tracked_entries`` entries (least recently matched forgotten
first) × ``entry_max_uploads`` hashes, and one counter and baseline per bank.
Counters live in memory: a restart starts them again (the quarantines themselves
are in the database). docs/policies.md has the reasoning and the residual risks.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from veil.config import FloodSettings
from veil.verdict import Match, Quarantines


@dataclass(frozen=True)
class Trip:
    """A bank or entry to quarantine, and the numbers that tripped it."""

    kind: Literal["bank", "entry"]
    bank: str
    entry_id: int | None
    detail: dict[str, Any] = field(default_factory=dict)


class FloodWatch:
    def __init__(self, limits: FloodSettings) -> None:
        self.limits = limits
        self._lock = threading.Lock()
        self.uploads = 0
        self._window_start = 0
        self._bank_counts: dict[str, int] = {}
        self.baselines: dict[str, float] = {}
        # entry id → [(upload number, hash as int, caller)], least recently matched first
        self._entries: OrderedDict[int, list[tuple[int, int, str]]] = OrderedDict()

    def observe(self, upload: Mapping[str, str], matches: Iterable[Match],
                quarantines: Quarantines, caller: str = "") -> list[Trip]:
        """Count one decided upload: ``upload`` its hashes by signal type (hex),
        ``matches`` those that counted towards its verdict, ``caller`` who sent it (named
        in a trip's detail: who fed an entry its pictures). Returns what to quarantine
        (usually nothing). Thread-safe."""
        if not self.limits.enabled:
            return []
        lim = self.limits
        trips: list[Trip] = []
        with self._lock:
            self.uploads += 1
            seq = self.uploads
            banks: set[str] = set()
            for m in matches:
                if quarantines.covers(m):
                    continue  # already out of automatic decisions
                value = upload.get(m.signal)
                if value is None:
                    continue
                if self._novel(m, int(value, 16), seq, caller):
                    banks.add(m.bank)
                    seen = self._entries.get(m.entry_id, [])
                    if len(seen) >= lim.entry_max_uploads:
                        trips.append(Trip("entry", m.bank, m.entry_id, {
                            "reason": "entry_uploads", "distinct_uploads": len(seen),
                            "window_uploads": lim.entry_window,
                            "distinct_bits": lim.distinct_bits,
                            "callers": sorted({c for _, _, c in seen})[:20]}))
                        del self._entries[m.entry_id]  # a release starts it afresh
            for bank in banks:
                n = self._bank_counts.get(bank, 0) + 1
                self._bank_counts[bank] = n
                baseline = self.baselines.get(bank, 0.0)
                limit = max(lim.bank_factor * baseline, lim.bank_min_share) * lim.window
                if n >= lim.bank_min_matches and n > limit:
                    share = n / lim.window
                    trips.append(Trip("bank", bank, None, {
                        "reason": "bank_share", "matched_uploads": n,
                        "window_uploads": lim.window, "share": round(share, 6),
                        "baseline": round(baseline, 6)}))
                    # a release must not trip again at once: the new share is the baseline
                    self.baselines[bank] = max(baseline, share)
                    self._bank_counts[bank] = 0
            if seq - self._window_start >= lim.window:
                self._roll()
        return trips

    def _novel(self, m: Match, value: int, seq: int, caller: str) -> bool:
        """Whether this upload is a picture ``m``'s entry has not matched yet in the
        window (recording it if so)."""
        lim = self.limits
        seen = self._entries.get(m.entry_id)
        if seen is None:
            seen = self._entries[m.entry_id] = []
            while len(self._entries) > lim.max_tracked_entries:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(m.entry_id)
            old = 0
            while old < len(seen) and seq - seen[old][0] >= lim.entry_window:
                old += 1
            if old:
                del seen[:old]
        if any((value ^ other).bit_count() <= lim.distinct_bits for _, other, _ in seen):
            return False
        seen.append((seq, value, caller))
        return True

    def _roll(self) -> None:
        """End a bank window: each bank's share moves its baseline."""
        w = self.limits.baseline_weight
        for bank in set(self.baselines) | set(self._bank_counts):
            share = self._bank_counts.get(bank, 0) / self.limits.window
            self.baselines[bank] = w * share + (1 - w) * self.baselines.get(bank, 0.0)
        self._bank_counts.clear()
        self._window_start = self.uploads

    def tracked_entries(self) -> int:
        return len(self._entries)
