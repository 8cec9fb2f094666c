"""Which item a reviewer sees next.

The most urgent first (earliest deadline to act), with two rules:

* an item in second review is never shown to a reviewer who already decided it;
* a reviewer never sees the same person's case twice in a row: an item whose
  subjects (the cases holding its matched entries, else the entries themselves;
  ``Store.add_review_item``) overlap those of the item just seen is passed over.
  When only such items are left, the answer is a break prompt; after the reviewer
  takes the break, the rule starts afresh.

Items the reviewer skipped in this session come after every other item.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from veil.store.reviews import ReviewItemRecord


@dataclass(frozen=True, slots=True)
class Next:
    item: ReviewItemRecord | None
    #: Items are waiting, but each is of the case just seen: take a break first.
    break_needed: bool = False


def decided_by(item: ReviewItemRecord) -> set[str]:
    return {str(d.get("actor")) for d in item.decisions}


def next_item(candidates: Sequence[ReviewItemRecord], *, reviewer: str,
              last_subjects: Collection[str] = (),
              skipped: Collection[str] = ()) -> Next:
    """The next item for ``reviewer`` among ``candidates`` (most urgent first)."""
    eligible = [c for c in candidates if reviewer not in decided_by(c)]
    if not eligible:
        return Next(None)
    ordered = ([c for c in eligible if c.id not in skipped]
               + [c for c in eligible if c.id in skipped])
    last = set(last_subjects)
    for c in ordered:
        if not last.intersection(c.subjects):
            return Next(c)
    return Next(None, break_needed=True)
