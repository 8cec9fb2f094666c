"""The banks as one matcher: an exact index per signal type, kept current, and verdicts.

``veil scan`` loads it once per run; the service keeps one for its lifetime and
``veil.feed`` applies to it every change the store commits, whoever made it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from veil.config import Settings
from veil.errors import BadInput
from veil.index.factory import ExactIndex, open_index, snapshot_path
from veil.signals.batch import FileSignals
from veil.signals.pdq import DIHEDRAL_NAMES
from veil.signals.registry import get, names
from veil.verdict import MatchedEntry, Verdict, decide


@dataclass
class BankPolicy:
    category: str
    policy: dict[str, object] = field(default_factory=dict)


class BankMatcher:
    def __init__(self, indexes: dict[str, ExactIndex], banks: dict[str, BankPolicy],
                 settings: Settings, *, banks_watermark: int = 0) -> None:
        self.indexes = indexes
        self.banks = banks
        self.settings = settings
        #: The store watermark ``banks`` reflects (each index records its own).
        self.banks_watermark = banks_watermark

    @classmethod
    def load(cls, settings: Settings, *, snapshots: bool = True) -> BankMatcher:
        """Every signal's index, from its snapshot when current, else from the store."""
        from veil.store import open_store

        with open_store(settings) as store:
            mark = store.watermark()  # before reading, as for the indexes
            banks = {b.name: BankPolicy(b.category, dict(b.policy)) for b in store.list_banks()}
            indexes = {
                n: open_index(n, store, snapshot=snapshot_path(settings.home, n)
                              if snapshots else None)
                for n in names()
            }
        return cls(indexes, banks, settings, banks_watermark=mark)

    # -- what is loaded ------------------------------------------------------------------
    def signal_names(self) -> tuple[str, ...]:
        """Signals worth computing: those some bank holds (PDQ always, for the report)."""
        return tuple(dict.fromkeys(["pdq", *(n for n, i in self.indexes.items() if len(i))]))

    def sizes(self) -> dict[str, int]:
        return {n: len(i) for n, i in self.indexes.items()}

    def __len__(self) -> int:
        return sum(self.sizes().values())

    def describe(self) -> str:
        loaded = [f"{size:,} {n}" for n, size in self.sizes().items() if size]
        return ", ".join(loaded) if loaded else "no active entries"

    # -- matching -----------------------------------------------------------------------
    def threshold(self, signal: str, override: int | None) -> int:
        st = get(signal)
        t = st.default_threshold() if override is None else override
        if not 0 <= t <= st.bits:
            raise BadInput(f"threshold must be between 0 and {st.bits}, got {t}",
                           code="input.bad_threshold")
        return t

    def match(self, signal: str, value: str, threshold: int,
              variants: Sequence[str] | None = None) -> list[MatchedEntry]:
        if not variants:
            return self.match_many(signal, [value], threshold)[0]
        idx = self.indexes.get(signal)
        if idx is None or not len(idx):
            return []
        return [MatchedEntry(signal, m.entry_id, m.bank, m.category, m.value, m.distance,
                             threshold, DIHEDRAL_NAMES[m.variant])
                for m in idx.match_dihedral(list(variants), threshold)]

    def match_many(self, signal: str, values: Sequence[str],
                   threshold: int) -> list[list[MatchedEntry]]:
        """Each value's matches, in one batched index search (closest first)."""
        idx = self.indexes.get(signal)
        if idx is None or not len(idx):
            return [[] for _ in values]
        return [[MatchedEntry(signal, m.entry_id, m.bank, m.category, m.value, m.distance,
                              threshold) for m in found]
                for found in idx.search(list(values), threshold)]

    def verdict(self, file: FileSignals, pdq_threshold: int | None = None) -> Verdict:
        found: list[MatchedEntry] = []
        notes: list[str] = []
        floor = self.settings.thresholds.pdq_min_quality
        for s in file.signals:
            if s.type == "pdq" and s.quality is not None and s.quality < floor:
                # near-flat images all look alike to PDQ: a match would mean nothing
                notes.append(f"pdq not matched: quality {s.quality} is below {floor} "
                             "(the image is too flat for a reliable hash)")
                continue
            override = pdq_threshold if s.type == "pdq" else None
            found += self.match(s.type, s.value, self.threshold(s.type, override),
                                file.variants.get(s.type))
        v = decide(found, {n: b.policy for n, b in self.banks.items()})
        return Verdict(v.decision, v.matches, v.reasons + tuple(notes)) if notes else v
