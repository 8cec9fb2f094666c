"""Matches, observations and bank policy → a verdict a person can read.

``Match`` is the one serialisation of a match: the API's responses, the CLI's JSON
lines and tables, and the verdict's reasons are all built from it. A verdict keeps
its matches and ``notes`` as data and words them only for what is shown: a cluster
of near-identical entries can match thousands of times, and a reply lists a few.

``decide`` combines every match with the banks' policies (``veil.store.policy``) and
the flood quarantines (docs/policies.md):

1. a match in a disabled bank does not count (a note says how many were dropped);
2. a match of an allowlist bank (not quarantined) suppresses the other matches of
   the same signal type whose bank's priority is not above the allowlist's: the
   query is a known false match of theirs. Another signal type (an identical-bytes
   MD5, say) is other evidence and is not suppressed;
3. a match of a quarantined bank or entry is ``review`` whatever its policy says;
   so is a region match of kind ``derived`` (a large part of a banked photo
   replaced, the rest kept: ``derived_from_protected``), while an edited copy
   (kind ``copy``) gets its bank's action;
4. the decision is the most severe action left; ``allow`` when none is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from veil.inspect.observation import Observation
from veil.signals import get as get_signal
from veil.store.policy import BankPolicy

Decision = Literal["block", "review", "allow"]
#: What became of a match: it counted; an allowlist match suppressed it; its bank or
#: entry is quarantined (so it counts as review); it is a derived copy of a banked
#: photo (so it counts as review: ``DERIVED_FROM_PROTECTED``).
Outcome = Literal["counted", "suppressed", "quarantined", "derived"]
_SEVERITY: dict[str, int] = {"allow": 0, "review": 1, "block": 2}
#: A bank's policy as ``decide`` takes it: typed, as stored (a dict), or none.
PolicyLike = BankPolicy | Mapping[str, object] | None

__all__ = ["DEFAULT_ACTION", "DERIVED_FROM_PROTECTED", "NO_QUARANTINES", "BankPolicy", "Decision",
           "DisabledNote", "Match", "Note", "Outcome", "PolicyLike", "Quarantines",
           "RegionBox", "RegionEvidence", "Verdict", "action_for", "decide", "policy_of"]

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


class VideoMatch(BaseModel):
    """How a video matched a banked one under the vPDQ rule (docs/video.md)."""

    model_config = ConfigDict(frozen=True)

    video_id: int | None = Field(None, description=(
        "The banked video (None: a vpdq hash banked on its own, a one-frame video)"))
    query_percent: float = Field(description=(
        "Share of the upload's unique frames within the threshold of the banked video's"))
    candidate_percent: float = Field(description=(
        "Share of the banked video's distinct frames within the threshold of the upload's"))
    query_frames: int = Field(description="The upload's unique frames of matchable quality")
    frames_matched: int = Field(description="How many of them matched")
    query_ranges: list[tuple[float, float]] = Field(description=(
        "Where in the upload the matching frames are: [start, end] seconds"))
    banked_ranges: list[tuple[float, float]] = Field(description=(
        "Where in the banked video they are: [start, end] seconds"))


class RegionBox(BaseModel):
    """A rectangle in the upload's pixels."""

    model_config = ConfigDict(frozen=True)

    x: int
    y: int
    w: int
    h: int


#: Why a derived copy of a protected photo is reviewed, whatever the bank's action.
DERIVED_FROM_PROTECTED = "derived_from_protected"


class RegionEvidence(BaseModel):
    """How a banked photo sits in the upload, by its region signal (docs/derived.md)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["copy", "derived"] = Field(description=(
        "copy: the banked photo, edited (cropped, framed, captioned, tilted, "
        "screenshotted); derived: a large part of it was replaced, the rest kept"))
    score: float = Field(description="0-1: how sure the pairing is (not how much differs)")
    points: int = Field(description="Keypoints of the banked photo that agree")
    agreeing: RegionBox = Field(description="Where the banked photo's content is")
    differing: RegionBox | None = Field(None, description=(
        "Where its content was replaced or removed (keep it blurred when reviewing)"))
    agree_share: float = Field(description="Share of the banked photo's visible cells "
                                           "that agree")
    differ_share: float = Field(description="Share of them that differ")
    width: int = Field(description="The upload's width in pixels (the boxes' frame)")
    height: int = Field(description="The upload's height in pixels")

    def differing_fraction(self) -> dict[str, float] | None:
        """The differing box as fractions of the picture (what a review item keeps)."""
        d = self.differing
        if d is None or self.width <= 0 or self.height <= 0:
            return None
        return {"x": d.x / self.width, "y": d.y / self.height,
                "w": d.w / self.width, "h": d.h / self.height}


class Match(BaseModel):
    """One bank entry within the threshold of one query signal."""

    model_config = ConfigDict(frozen=True)

    signal: str = Field(description="Signal type that matched (pdq, md5 …)")
    entry_id: int = Field(description="The bank entry (see the admin API)")
    bank: str
    category: str
    distance: int = Field(description="Hamming distance in bits (0: identical)")
    threshold: int = Field(description="The largest distance that counted as a match")
    variant: str | None = Field(None, description=(
        "For a rotated or mirrored match: how the query relates to the banked picture "
        "(e.g. rotated_90_cw, mirrored_left_right)"))
    value: str | None = Field(None, description=(
        "The entry's hash, only where the caller may see banked hashes (the analyst's "
        "veil match); never sent to platforms"))
    video: VideoMatch | None = Field(None, description=(
        "For a video matched under the vPDQ rule: the shares of frames and where they "
        "are (entry_id and distance are then its closest frame's)"))
    region: RegionEvidence | None = Field(None, description=(
        "For a region match (signal region): its kind, where the banked photo agrees "
        "and where it differs (distance: the banked keypoints that did not agree)"))

    def evidence(self) -> str:
        """How close, in words: what a reason line starts with."""
        r = self.region
        if r is not None:
            what = ("a derived copy: part of the banked photo replaced"
                    if r.kind == "derived" else "an edited copy of the banked photo")
            mirrored = ", mirrored left to right" if self.variant else ""
            return (f"region: {r.points} keypoints agree, {r.differ_share:.0%} of the "
                    f"banked photo differs ({what}{mirrored})")
        st = get_signal(self.signal)
        v = self.video
        if v is not None and self.signal != "vpdq":
            spans = ", ".join(f"{a:g}-{b:g} s" for a, b in v.query_ranges[:3])
            return (f"{self.signal} {self.distance} bits apart (threshold "
                    f"{self.threshold}): a banked picture shown in the video at {spans}")
        if v is not None:
            what = "banked frame" if v.video_id is None else f"video {v.video_id}"
            return (f"{self.signal}: {v.query_percent:g}% of the upload's frames and "
                    f"{v.candidate_percent:g}% of {what}'s within {self.threshold} bits "
                    f"(closest {self.distance})")
        if st.exact_digest:
            how = "identical bytes"
        else:
            how = f"{self.distance} bits apart (threshold {self.threshold})"
        if self.variant and self.variant != "original":
            label = next((v.label for v in st.variants if v.key == self.variant), self.variant)
            how += f", {label}"
        return f"{self.signal} {how}"

    def as_json(self) -> dict[str, object]:
        return self.model_dump(mode="json", exclude_none=True)


#: What a verdict with no match says.
NO_MATCH = "no bank entry within its threshold"
#: Longest reason line: bank names and signal labels are operators' and plug-ins' text.
MAX_REASON_CHARS = 300


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_REASON_CHARS else text[:MAX_REASON_CHARS - 1] + "…"


class Note(BaseModel):
    """A query signal that was not matched, and why (worded on demand)."""

    model_config = ConfigDict(frozen=True)

    signal: str
    quality: int
    floor: int = Field(description="The signal type's quality floor")

    def text(self) -> str:
        return _bounded(f"{self.signal} not matched: quality {self.quality} is below "
                        f"{self.floor} (the image is too flat for a reliable hash)")


class DisabledNote(BaseModel):
    """Matches dropped because their bank is disabled (its policy's ``enabled``)."""

    model_config = ConfigDict(frozen=True)

    bank: str
    matches: int

    def text(self) -> str:
        what = "1 match" if self.matches == 1 else f"{self.matches} matches"
        return _bounded(f"{what} in bank '{self.bank}' not counted: the bank is disabled")


@dataclass(frozen=True)
class Quarantines:
    """What flood protection has quarantined (``veil.matching.flood``): their matches
    are ``review`` until an admin decides."""

    banks: frozenset[str] = frozenset()
    entries: frozenset[int] = frozenset()

    def covers(self, m: Match) -> bool:
        return m.bank in self.banks or m.entry_id in self.entries

    def __bool__(self) -> bool:
        return bool(self.banks or self.entries)


NO_QUARANTINES = Quarantines()


class Verdict(BaseModel):
    model_config = ConfigDict(frozen=True)

    decision: Decision
    matches: tuple[Match, ...] = ()
    notes: tuple[Note | DisabledNote, ...] = ()
    #: What the file declares about its origin (scans only; None where no file was read)
    observations: tuple[Observation, ...] | None = None
    # Per match, none of them part of any reply (the reasons word them): the action
    # it counts with, the one its bank's policy gives, what became of it, and for a
    # suppressed one the index of the allowlist match that suppressed it.
    actions: tuple[Decision, ...] = Field((), exclude=True)
    policy_actions: tuple[Decision, ...] = Field((), exclude=True)
    outcomes: tuple[Outcome, ...] = Field((), exclude=True)
    suppressors: tuple[int | None, ...] = Field((), exclude=True)

    def _outcome(self, i: int) -> Outcome:
        return self.outcomes[i] if self.outcomes else "counted"

    def reason(self, i: int) -> str:
        """Why match ``i`` counted (or did not), in words."""
        m = self.matches[i]
        head = f"{m.evidence()}: entry {m.entry_id} in bank '{m.bank}' ({m.category})"
        outcome = self._outcome(i)
        if outcome == "suppressed":
            j = self.suppressors[i]
            a = self.matches[j] if j is not None else None
            by = (f"allowlist entry {a.entry_id} in bank '{a.bank}'" if a is not None
                  else "an allowlist")
            return _bounded(f"{head} → not counted: {by} matched this {m.signal} too "
                            f"(a known false match; {self.policy_actions[i]} otherwise)")
        if outcome == "quarantined":
            return _bounded(f"{head} → review: quarantined by flood protection until an "
                            f"admin decides ({self.policy_actions[i]} otherwise)")
        if outcome == "derived":
            return _bounded(f"{head} → review ({DERIVED_FROM_PROTECTED}): a person must "
                            f"look, the differing region kept blurred "
                            f"({self.policy_actions[i]} for a copy)")
        return _bounded(f"{head} → {self.actions[i]}")

    def iter_reasons(self) -> Iterator[str]:
        """Every reason, worded as it is reached: each match's, closest first (or that
        none matched), then the notes."""
        if not self.matches:
            yield NO_MATCH
        for i in range(len(self.matches)):
            yield self.reason(i)
        for note in self.notes:
            yield note.text()
        for obs in self.observations or ():
            yield _bounded(obs.text())

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(self.iter_reasons())

    def as_json(self, listed: int | None = None, *,
                with_reasons: bool = True) -> dict[str, object]:
        """The verdict for a reply; with ``listed``, at most that many matches (and
        their reasons) closest first, plus the one that set the decision if it is not
        among them, and ``matches_total``: a cluster of near-identical bank entries
        must not make one answer huge. Only the listed matches' reasons are worded."""
        shown: Sequence[int] = range(len(self.matches))
        if listed is not None and len(self.matches) > listed:
            decisive = self._decisive()
            shown = range(listed) if decisive < listed else [*range(listed - 1), decisive]
        reply: dict[str, object] = {"decision": self.decision}
        if with_reasons:
            reply["reasons"] = ([NO_MATCH] if not self.matches else []) + [
                self.reason(i) for i in shown] + [n.text() for n in self.notes] + [
                _bounded(o.text()) for o in self.observations or ()]
        reply["matches"] = [self.matches[i].as_json() for i in shown]
        if self.observations is not None:
            reply["observations"] = [o.as_json() for o in self.observations]
        if listed is not None:
            reply["matches_total"] = len(self.matches)
        return reply

    def _decisive(self) -> int:
        """Index of the closest counted match whose action is the decision."""
        return next((i for i, a in enumerate(self.actions)
                     if a == self.decision and self._outcome(i) != "suppressed"), 0)

    def counted(self) -> Iterator[tuple[Match, Decision]]:
        """The matches that count towards the decision (not suppressed), with the
        action each counts with: what flood protection watches."""
        for i, m in enumerate(self.matches):
            if self._outcome(i) != "suppressed":
                yield m, self.actions[i]

    def noting(self, notes: Iterable[Note | DisabledNote]) -> Verdict:
        """This verdict with ``notes`` (signals not matched, and why) among its reasons."""
        extra = tuple(notes)
        return self.model_copy(update={"notes": self.notes + extra}) if extra else self


    def observing(self, observations: Iterable[Observation],
                  declared_ai_action: Literal["none", "review"] = "none") -> Verdict:
        """This verdict with what the file declares about its origin. With
        ``declared_ai_action="review"``, an ``allow`` for a file that declares AI
        generation becomes ``review``; a declaration never blocks (it is trivially added
        or removed) and never lowers a bank's decision."""
        seen = tuple(observations)
        decision = self.decision
        if (declared_ai_action == "review" and decision == "allow"
                and any(o.declares_ai for o in seen)):
            decision = "review"
        return self.model_copy(update={"observations": seen, "decision": decision})


def policy_of(policy: PolicyLike) -> BankPolicy:
    """A bank's policy, typed (what is stored is read leniently: ``BankPolicy.stored``)."""
    if isinstance(policy, BankPolicy):
        return policy
    return BankPolicy.stored(dict(policy or {}))


def action_for(category: str, policy: PolicyLike) -> Decision:
    """What a match in a bank of ``category`` with ``policy`` does."""
    action = policy_of(policy).action
    return action if action is not None else DEFAULT_ACTION.get(category, "review")


def decide(matches: Iterable[Match], policies: Mapping[str, PolicyLike],
           quarantines: Quarantines = NO_QUARANTINES) -> Verdict:
    """All matches, the banks' policies and the quarantines → one verdict (the rules
    are in this module's docstring). Matches are ordered closest first so the first
    reason is the strongest evidence. Costs O(matches)."""
    typed: dict[str, BankPolicy] = {}

    def pol(bank: str) -> BankPolicy:
        p = typed.get(bank)
        if p is None:
            p = typed[bank] = policy_of(policies.get(bank))
        return p

    kept: list[Match] = []
    dropped: dict[str, int] = {}
    for m in matches:
        if pol(m.bank).enabled:
            kept.append(m)
        else:
            dropped[m.bank] = dropped.get(m.bank, 0) + 1
    ordered = tuple(sorted(kept, key=lambda m: (m.distance, m.bank, m.entry_id)))
    # per signal type: the highest priority of an allowlist that matched, and the
    # closest match of that priority (named in the reasons)
    allow: dict[str, tuple[int, int]] = {}
    for i, m in enumerate(ordered):
        if m.category == "allowlist" and not quarantines.covers(m):
            prio = pol(m.bank).priority
            if m.signal not in allow or prio > allow[m.signal][0]:
                allow[m.signal] = (prio, i)
    decision: Decision = "allow"
    actions: list[Decision] = []
    policy_actions: list[Decision] = []
    outcomes: list[Outcome] = []
    suppressors: list[int | None] = []
    for m in ordered:
        p = pol(m.bank)
        act = action_for(m.category, p)
        policy_actions.append(act)
        cover = allow.get(m.signal)
        by: int | None = None
        outcome: Outcome
        if m.category != "allowlist" and cover is not None and p.priority <= cover[0]:
            outcome, by, counted = "suppressed", cover[1], act
        elif quarantines.covers(m):
            outcome, counted = "quarantined", "review"
        elif m.region is not None and m.region.kind == "derived":
            # a new picture made from a banked one: neither an innocent re-share nor
            # the banked picture itself, so a person decides (docs/derived.md)
            outcome, counted = "derived", "review"
        else:
            outcome, counted = "counted", act
        if outcome != "suppressed" and _SEVERITY[counted] > _SEVERITY[decision]:
            decision = counted
        actions.append(counted)
        outcomes.append(outcome)
        suppressors.append(by)
    notes = tuple(DisabledNote(bank=b, matches=n) for b, n in sorted(dropped.items()))
    return Verdict(decision=decision, matches=ordered, notes=notes, actions=tuple(actions),
                   policy_actions=tuple(policy_actions), outcomes=tuple(outcomes),
                   suppressors=tuple(suppressors))
