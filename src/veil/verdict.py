"""Matches (+ observations, later) and bank policy → a verdict a person can read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

Decision = Literal["block", "review", "allow"]
_SEVERITY: dict[str, int] = {"allow": 0, "review": 1, "block": 2}

#: What a match in a bank of each category does when the bank sets no action.
#: Protected photos are a person's own pictures: a near copy may be an innocent
#: re-share or a derived fake, so a person decides.
DEFAULT_ACTION: dict[str, Decision] = {
    "victim_submitted": "block",
    "confirmed_ncii": "block",
    "synthetic_ncii": "block",
    "protected_photo": "review",
    "imported": "review",
    "allowlist": "allow",
}


@dataclass(frozen=True, slots=True)
class MatchedEntry:
    signal: str
    entry_id: int
    bank: str
    category: str
    value: str
    distance: int
    threshold: int
    variant: str | None = None  # dihedral variant that matched, if any


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: Decision
    matches: tuple[MatchedEntry, ...]
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "decision": self.decision,
            "reasons": list(self.reasons),
            "matches": [
                {"signal": m.signal, "entry_id": m.entry_id, "bank": m.bank,
                 "category": m.category, "value": m.value, "distance": m.distance,
                 "threshold": m.threshold, **({"variant": m.variant} if m.variant else {})}
                for m in self.matches
            ],
        }


def action_for(category: str, policy: Mapping[str, object] | None) -> Decision:
    action = (policy or {}).get("action")
    if action in _SEVERITY:
        return action  # type: ignore[return-value]
    return DEFAULT_ACTION.get(category, "review")


def decide(matches: Iterable[MatchedEntry],
           policies: Mapping[str, Mapping[str, object] | None]) -> Verdict:
    """The most severe action among the matched banks; ``allow`` when nothing matched.

    Matches are ordered closest first so the first reason is the strongest evidence.
    """
    ordered = tuple(sorted(matches, key=lambda m: (m.distance, m.bank, m.entry_id)))
    if not ordered:
        return Verdict("allow", (), ("no bank entry within its threshold",))
    decision: Decision = "allow"
    reasons = []
    for m in ordered:
        act = action_for(m.category, policies.get(m.bank))
        if _SEVERITY[act] > _SEVERITY[decision]:
            decision = act
        how = "identical bytes" if m.distance == 0 and m.signal in ("md5", "sha256") else (
            f"{m.distance} bits apart (threshold {m.threshold})")
        turned = f", {m.variant}" if m.variant and m.variant != "original" else ""
        reasons.append(f"{m.signal} {how}{turned}: entry {m.entry_id} in bank "
                       f"'{m.bank}' ({m.category}) → {act}")
    return Verdict(decision, ordered, tuple(reasons))
