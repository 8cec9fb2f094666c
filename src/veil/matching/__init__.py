"""The banks as one matcher: loading, catching up, the live matcher, scanning.

* ``matcher``: ``BankMatcher``, an exact index per signal type plus the banks'
  policies; searches, verdicts, and ``catch_up`` with the store's change feed.
* ``loading``: the one loader of indexes (snapshots where current, else the store).
* ``live``: ``LiveMatcher``, the matcher a service holds, kept current after every
  commit and by polling.
* ``scanning``: media → signals → verdict, for ``POST /v1/scan`` and ``veil scan``.

* ``flood``: ``FloodWatch``, flood protection's statistics over the stream of
  decided uploads (which bank or entry to quarantine).

May import ``verdict``, ``index``, ``signals``, ``media``, ``config`` and ``errors``;
reads the store only through the ``MatchSource`` protocol (``veil.store.Store``
satisfies it), so it never imports ``veil.store`` (the policy model comes through
``veil.verdict``).
"""

from veil.matching.live import LiveMatcher, load_matcher
from veil.matching.loading import LoadedBank, MatchSource, load_indexes
from veil.matching.matcher import BankMatcher, CatchUp
from veil.matching.scanning import (
    ScanResult,
    scan_bytes,
    scan_paths,
    scan_results,
    scan_video,
    start_scan,
)

__all__ = [
    "BankMatcher",
    "CatchUp",
    "LiveMatcher",
    "LoadedBank",
    "MatchSource",
    "ScanResult",
    "load_indexes",
    "load_matcher",
    "scan_bytes",
    "scan_paths",
    "scan_results",
    "scan_video",
    "start_scan",
]
