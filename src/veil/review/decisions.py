"""A reviewer's decision on an item, and what it changes in the banks.

Reason codes:

* ``confirmed_ncii``, ``synthetic_ncii``: the item's signals join the confirmed bank
  (``VEIL_REVIEW_CONFIRMED_BANK``, category ``confirmed_ncii``, made on first use),
  each entry's source naming the item (``review:<item id>``): the same picture is
  blocked from the next scan on;
* ``not_ncii``: the signals join the allowlist bank (``VEIL_REVIEW_ALLOWLIST_BANK``,
  category ``allowlist``), the record of a known false match;
* ``unclear``: the item goes to second review, which another reviewer must decide.

The bank entries are added before the decision is recorded, each in its own
transaction (``Store.add_entry``, which the index follows), and a hash the bank
already holds is left as it is: a decision retried after a failure adds nothing twice.
Signals below their type's quality floor are not added (they would never match).
"""

from __future__ import annotations

import contextlib
from typing import Literal, get_args

from veil.config import Settings
from veil.errors import BadInput, Conflict, NotFound, VeilError
from veil.review.rotation import decided_by
from veil.signals import get as get_signal
from veil.store.interface import BankStore
from veil.store.reviews import UNDECIDED, ReviewItemRecord

Code = Literal["confirmed_ncii", "synthetic_ncii", "not_ncii", "unclear"]
CODES: tuple[str, ...] = get_args(Code)
#: Longest note a reviewer may add to a decision.
NOTE_MAX = 1000


def target_bank(code: str, settings: Settings) -> tuple[str, str] | None:
    """The bank (name, category) a decision adds the item's signals to, if any."""
    if code in ("confirmed_ncii", "synthetic_ncii"):
        return settings.review.confirmed_bank, "confirmed_ncii"
    if code == "not_ncii":
        return settings.review.allowlist_bank, "allowlist"
    return None


def _ensure_bank(store: BankStore, name: str, category: str, actor: str) -> None:
    try:
        bank = store.get_bank(name)
    except NotFound:
        with contextlib.suppress(Conflict):  # or made meanwhile by another decision
            store.create_bank(name, category, actor=actor)
        return
    if bank.category != category:
        raise VeilError(f"bank {name!r} is {bank.category}, not {category}: set another "
                        "bank for review decisions", code="review.bank_category")


def decide(store: BankStore, settings: Settings, item_id: str, code: str, *,
           actor: str, note: str | None = None) -> ReviewItemRecord:
    """Record ``actor``'s decision ``code`` on an undecided item; ``Conflict`` if it
    is decided or purged, or if a second review is asked of a reviewer who already
    decided it."""
    if code not in CODES:
        raise BadInput(f"unknown reason code {code!r}; known: {', '.join(CODES)}")
    if note is not None and len(note) > NOTE_MAX:
        raise BadInput(f"a note is at most {NOTE_MAX} characters")
    item = store.review_item(item_id)
    if item.status not in UNDECIDED:
        raise Conflict(f"review item {item_id} is {item.status}, not open")
    earlier = decided_by(item)
    if actor in earlier:
        raise Conflict("a second review must be made by another reviewer")
    added: list[int] = []
    target = target_bank(code, settings)
    if target is not None:
        bank, category = target
        _ensure_bank(store, bank, category, actor)
        for s in item.signals:
            st = get_signal(str(s["signal"]))
            floor = settings.quality_floor(st)
            quality = s.get("quality")
            if floor is not None and quality is not None and quality < floor:
                continue
            try:
                entry = store.add_entry(bank, st.name, str(s["value"]), actor=actor,
                                        quality=quality, source=f"review:{item.id}",
                                        note=f"review decision {code} on item {item.id}")
            except Conflict:
                continue  # the bank holds it already
            added.append(entry.id)
    status = "second_review" if code == "unclear" else "decided"
    return store.record_review_decision(
        item_id, code=code, note=note, status=status, actor=actor, not_by=sorted(earlier),
        bank=None if target is None else target[0], entry_ids=added)
