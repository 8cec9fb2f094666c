"""Victims' cases in the store: a case owns only its own hold on an entry, counts only
its own matches, and sees admins' decisions made after it submitted, nothing older.

Issue 12 point 5: a stranger's case could erase an imported or CLI-added entry by
submitting its value and withdrawing, and saw the entry's whole match count at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from veil.store import HashRow, Store
from veil.store.cases import (
    MATCH_COUNT_CHUNK,
    CaseSignalIn,
    CaseView,
    CreatedCase,
    MatchTally,
)
from veil.store.models import CaseSignal, Entry, EntryHolder, EntryMatchCount

VICTIMS = "victims"
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def pdq(i: int) -> str:
    return f"{i:064x}"


def submit(store: Store, *values: str) -> CreatedCase:
    return store.create_case([CaseSignalIn("pdq", v, 90) for v in values],
                             {"self_or_guardian": True, "intimate": True},
                             bank=VICTIMS, actor="intake")


def entry_of(store: Store, value: str) -> int:
    with store.engine.connect() as conn:
        found = conn.execute(select(Entry.id).where(Entry.value == value)).scalar_one()
    return int(found)


def active_values(store: Store) -> set[str]:
    return {e.value for e in store.iter_active("pdq")}


def holders(store: Store, entry_id: int) -> set[str]:
    with store.engine.connect() as conn:
        return set(conn.execute(select(EntryHolder.holder)
                                .where(EntryHolder.entry_id == entry_id)).scalars())


def shown(view: CaseView) -> list[tuple[int, str, int]]:
    """What the case holder is shown, per signal: number, status, count."""
    return [(s.n, s.status, s.matched) for s in view.signals]


def tally(n: int, first: datetime, last: datetime | None = None) -> MatchTally:
    return MatchTally(n, first, last or first)


@pytest.fixture
def victims(store: Store) -> str:
    store.create_bank(VICTIMS, "victim_submitted", actor="admin")
    return VICTIMS


# -- erasing ---------------------------------------------------------------------------------
def test_a_case_cannot_erase_an_imported_entry(store: Store, victims: str) -> None:
    store.import_entries(victims, [HashRow("pdq", pdq(1)), HashRow("pdq", pdq(2))],
                         actor="admin")
    stranger = submit(store, pdq(1))
    assert stranger.added == ()  # nothing new: the bank had it
    assert store.withdraw_case(stranger.case_id, actor="stranger") == []
    assert active_values(store) == {pdq(1), pdq(2)}
    assert store.get_entry(entry_of(store, pdq(1))).status == "active"
    # the case sees its own withdrawal, as for any value
    view = store.case_view(stranger.case_id)
    assert view.status == "withdrawn" and shown(view) == [(1, "withdrawn", 0)]
    audit = store.audit(action="case.withdraw")[0].detail
    assert audit["holds_released"] == 1 and audit["entries_withdrawn"] == 0


def test_a_case_cannot_erase_a_cli_added_entry(store: Store, victims: str) -> None:
    added = store.add_entry(victims, "pdq", pdq(1), actor="cli:someone")
    assert holders(store, added.id) == {"add"}
    stranger = submit(store, pdq(1))
    assert holders(store, added.id) == {"add", f"case:{stranger.case_id}"}
    store.withdraw_case(stranger.case_id, actor="stranger")
    assert store.get_entry(added.id).value == pdq(1)
    assert holders(store, added.id) == {"add"}


def test_an_import_of_a_value_a_case_submitted_holds_it_too(store: Store,
                                                            victims: str) -> None:
    case = submit(store, pdq(1))
    (_sig, entry), = case.added
    report = store.import_entries(victims, [HashRow("pdq", pdq(1)), HashRow("pdq", pdq(1)),
                                            HashRow("pdq", pdq(2))], actor="admin")
    assert (report.imported, report.duplicates) == (1, 2)
    assert holders(store, entry.entry_id) == {f"case:{case.case_id}", "import"}
    assert store.withdraw_case(case.case_id, actor="victim") == []
    assert active_values(store) == {pdq(1), pdq(2)}


def test_a_value_only_cases_hold_goes_with_the_last_of_them(store: Store,
                                                            victims: str) -> None:
    a = submit(store, pdq(1))
    b = submit(store, pdq(1))
    (_sig, entry), = a.added
    assert b.added == ()
    assert store.withdraw_case(a.case_id, actor="a") == []
    assert active_values(store) == {pdq(1)}
    assert store.withdraw_case(b.case_id, actor="b") == [("pdq", entry.entry_id)]
    assert active_values(store) == set()
    assert store.get_entry(entry.entry_id).value is None
    assert holders(store, entry.entry_id) == set()


def test_a_value_twice_in_one_case_is_one_hold(store: Store, victims: str) -> None:
    case = submit(store, pdq(1), pdq(2), pdq(1))
    e1 = entry_of(store, pdq(1))
    assert holders(store, e1) == {f"case:{case.case_id}"}
    assert store.withdraw_case(case.case_id, 1, actor="victim") == []
    assert pdq(1) in active_values(store)  # signal 3 still carries it
    assert store.withdraw_case(case.case_id, 3, actor="victim") == [("pdq", e1)]
    assert active_values(store) == {pdq(2)}
    assert store.case_view(case.case_id).status == "open"
    assert store.withdraw_case(case.case_id, actor="victim") == [("pdq", entry_of_gone(
        store, case, 2))]
    assert store.case_view(case.case_id).status == "withdrawn"


def entry_of_gone(store: Store, case: CreatedCase, n: int) -> int:
    return next(s.entry_id for s in store.case_view(case.case_id).signals if s.n == n)


def test_withdrawing_twice_changes_nothing(store: Store, victims: str) -> None:
    store.import_entries(victims, [HashRow("pdq", pdq(1))], actor="admin")
    case = submit(store, pdq(1))
    store.withdraw_case(case.case_id, actor="victim")
    store.withdraw_case(case.case_id, actor="victim")
    assert holders(store, entry_of(store, pdq(1))) == {"import"}
    assert active_values(store) == {pdq(1)}


def test_every_live_entry_has_a_holder(store: Store, victims: str) -> None:
    store.import_entries(victims, [HashRow("pdq", pdq(i)) for i in range(1, 5)], actor="a")
    store.add_entry(victims, "pdq", pdq(9), actor="a")
    for v in (pdq(1), pdq(9), pdq(10), pdq(11)):
        submit(store, v)
    c = submit(store, pdq(12))
    store.withdraw_case(c.case_id, actor="v")
    with store.engine.connect() as conn:
        unheld = conn.execute(select(Entry.id).where(
            Entry.value.is_not(None),
            ~select(EntryHolder.entry_id).where(EntryHolder.entry_id == Entry.id).exists()
        )).scalars().all()
        erased_but_held = conn.execute(select(func.count()).select_from(EntryHolder).join(
            Entry, Entry.id == EntryHolder.entry_id).where(Entry.value.is_(None))).scalar()
    assert unheld == [] and erased_but_held == 0


def test_an_admin_withdrawal_still_erases_what_cases_hold(store: Store, victims: str) -> None:
    case = submit(store, pdq(1))
    (_sig, entry), = case.added
    store.withdraw(entry.entry_id, actor="admin", reason="court order")
    assert store.get_entry(entry.entry_id).value is None
    assert shown(store.case_view(case.case_id)) == [(1, "removed", 0)]
    assert store.withdraw_case(case.case_id, actor="victim") == []  # nothing left to erase
    assert shown(store.case_view(case.case_id)) == [(1, "withdrawn", 0)]


# -- counting ---------------------------------------------------------------------------------
def test_a_case_counts_only_its_own_matches_since_it_submitted(store: Store,
                                                               victims: str) -> None:
    store.import_entries(victims, [HashRow("pdq", pdq(1))], actor="admin")
    e1 = entry_of(store, pdq(1))
    store.add_match_counts({e1: tally(1000, EPOCH, EPOCH + timedelta(days=1))})
    case = submit(store, pdq(1))
    assert shown(store.case_view(case.case_id)) == [(1, "active", 0)]
    submitted = store.case_view(case.case_id).signals[0].created_at
    # a tally that began before the submission is the entry's, not the case's
    store.add_match_counts({e1: tally(7, submitted - timedelta(seconds=1),
                                      submitted + timedelta(seconds=1))})
    assert shown(store.case_view(case.case_id)) == [(1, "active", 0)]
    later = submitted + timedelta(seconds=5)
    store.add_match_counts({e1: tally(3, later, later + timedelta(seconds=1))})
    view = store.case_view(case.case_id).signals[0]
    assert (view.matched, view.last_matched_at) == (3, later + timedelta(seconds=1))
    # admins still see the entry's whole count
    with store.engine.connect() as conn:
        total = conn.execute(select(EntryMatchCount.count)
                             .where(EntryMatchCount.entry_id == e1)).scalar_one()
    assert total == 1010
    # after withdrawal the case's count stays where it was, whatever else matches
    store.withdraw_case(case.case_id, actor="victim")
    store.add_match_counts({e1: tally(4, later + timedelta(seconds=9))})
    assert shown(store.case_view(case.case_id)) == [(1, "withdrawn", 3)]


def test_two_cases_on_one_entry_count_separately(store: Store, victims: str) -> None:
    a = submit(store, pdq(1))
    (_sig, entry), = a.added
    t_a = store.case_view(a.case_id).signals[0].created_at
    store.add_match_counts({entry.entry_id: tally(5, t_a + timedelta(seconds=1))})
    b = submit(store, pdq(1))
    t_b = store.case_view(b.case_id).signals[0].created_at
    store.add_match_counts({entry.entry_id: tally(2, t_b + timedelta(seconds=1))})
    assert shown(store.case_view(a.case_id)) == [(1, "active", 7)]
    assert shown(store.case_view(b.case_id)) == [(1, "active", 2)]


def test_match_counts_of_any_size_are_written(store: Store, victims: str) -> None:
    """Issue 12 point 6: one ``IN (…)`` of every id failed above the database's limit
    on bound parameters (SQLite 250 000, PostgreSQL 65 535), and the counter retried it
    forever. Unknown ids are skipped; known ones all count."""
    store.import_entries(victims, [HashRow("pdq", pdq(i)) for i in range(1, 4)], actor="a")
    known = [entry_of(store, pdq(i)) for i in range(1, 4)]
    case = submit(store, pdq(2))
    after = store.case_view(case.case_id).signals[0].created_at + timedelta(seconds=1)
    counts = {10_000_000 + i: tally(1, after) for i in range(260_000)}
    counts.update({e: tally(2, after) for e in known})
    assert len(counts) > 250_000 > MATCH_COUNT_CHUNK
    store.add_match_counts(counts)
    with store.engine.connect() as conn:
        written = {e: n for e, n in conn.execute(select(EntryMatchCount.entry_id,
                                                         EntryMatchCount.count))}
        signals = conn.execute(select(CaseSignal.matched)).scalars().all()
    assert written == {e: 2 for e in known}
    assert signals == [2]


def test_match_counts_read_each_chunk_once(store: Store, victims: str) -> None:
    """Which ids name an entry and which an active case signal carries: one SELECT
    per chunk, then the writes."""
    from sqlalchemy import event

    store.import_entries(victims, [HashRow("pdq", pdq(i)) for i in range(1, 4)], actor="a")
    case = submit(store, pdq(2))
    after = store.case_view(case.case_id).signals[0].created_at + timedelta(seconds=1)
    counts = {entry_of(store, pdq(i)): tally(1, after) for i in range(1, 4)}
    counts[10_000_000] = tally(1, after)  # no such entry
    selects: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        # (on PostgreSQL the writers' lock is taken first: not a read of the chunk)
        if (statement.lstrip().upper().startswith("SELECT")
                and "FOR UPDATE" not in statement.upper()):
            selects.append(statement)

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        store.add_match_counts(counts)
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    assert len(selects) == 1, selects
    with store.engine.connect() as conn:
        written = dict(conn.execute(select(EntryMatchCount.entry_id,
                                           EntryMatchCount.count)).all())
        signals = conn.execute(select(CaseSignal.matched)).scalars().all()
    assert written == {entry_of(store, pdq(i)): 1 for i in range(1, 4)}
    assert signals == [1]


# -- what a case is shown ---------------------------------------------------------------------
def test_a_dispute_is_shown_to_the_case_and_a_restore_clears_it(store: Store,
                                                                victims: str) -> None:
    case = submit(store, pdq(1), pdq(2))
    e1 = entry_of(store, pdq(1))
    store.set_status(e1, "disputed", actor="admin", reason="looks like a stock photo")
    assert shown(store.case_view(case.case_id)) == [(1, "under_review", 0), (2, "active", 0)]
    store.set_status(e1, "active", actor="reviewer", reason="checked")
    assert shown(store.case_view(case.case_id)) == [(1, "active", 0), (2, "active", 0)]
    store.set_status(e1, "disputed", actor="admin")
    store.withdraw(e1, actor="reviewer", reason="not this person's image")
    assert shown(store.case_view(case.case_id)) == [(1, "removed", 0), (2, "active", 0)]
    # the victim can still withdraw what was under review
    e2 = entry_of(store, pdq(2))
    store.set_status(e2, "disputed", actor="admin")
    assert store.withdraw_case(case.case_id, 2, actor="victim") == [("pdq", e2)]
    assert shown(store.case_view(case.case_id)) == [(1, "removed", 0), (2, "withdrawn", 0)]


@pytest.mark.parametrize("state", ["active", "disputed", "counted"])
def test_submitting_a_banked_value_looks_like_submitting_a_new_one(
        store: Store, victims: str, state: str) -> None:
    """No probe: whatever the bank held, and however often it matched, a new case
    sees the same as for a value nobody had."""
    store.import_entries(victims, [HashRow("pdq", pdq(1))], actor="admin")
    e1 = entry_of(store, pdq(1))
    if state == "disputed":
        store.set_status(e1, "disputed", actor="admin")
    if state == "counted":
        store.add_match_counts({e1: tally(1000, EPOCH)})
    banked = store.case_view(submit(store, pdq(1)).case_id)
    fresh = store.case_view(submit(store, pdq(2)).case_id)
    assert shown(banked) == shown(fresh) == [(1, "active", 0)]
    assert banked.status == fresh.status == "open"
    assert [s.last_matched_at for s in banked.signals] == [None]


def test_banks_cases_cannot_reach_keep_no_holders(store: Store, victims: str) -> None:
    """Holders cost a row per entry; only victim_submitted banks (what intake writes)
    keep them. Elsewhere only an admin withdraws."""
    store.create_bank("list", "confirmed_ncii", actor="admin")
    store.import_entries("list", [HashRow("pdq", pdq(i)) for i in range(1, 4)], actor="a")
    store.add_entry("list", "pdq", pdq(9), actor="a")
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(EntryHolder)).scalar() == 0
    # the same value in the victims bank is a separate entry, held there
    case = submit(store, pdq(1))
    assert store.withdraw_case(case.case_id, actor="victim") != []
    assert active_values(store) == {pdq(1), pdq(2), pdq(3), pdq(9)}


def test_holds_stay_consistent_under_concurrent_cases_imports_and_counts(
        store: Store, victims: str) -> None:
    """Cases submitting and withdrawing the same few values, an import of some of
    them and match counts, all at once: nothing an import holds is erased, every live
    entry keeps a holder, no erased entry keeps one, and no writer fails."""
    import threading

    shared = [pdq(i) for i in range(1, 7)]  # the import carries the odd ones
    errors: list[BaseException] = []

    def victim(k: int) -> None:
        try:
            for i in range(12):
                made = submit(store, shared[(k + i) % 6], shared[(k + 2 * i) % 6])
                store.withdraw_case(made.case_id, actor=f"v{k}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    def importer() -> None:
        try:
            store.import_entries(victims, [HashRow("pdq", v) for v in shared[::2]],
                                 actor="admin")
        except BaseException as exc:
            errors.append(exc)

    def counter() -> None:
        try:
            for _ in range(20):
                now = datetime.now(UTC)
                store.add_match_counts({e: tally(1, now) for e in range(1, 60)})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=victim, args=(k,)) for k in range(3)]
    threads += [threading.Thread(target=importer), threading.Thread(target=counter)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert active_values(store) == set(shared[::2])
    with store.engine.connect() as conn:
        live_unheld = conn.execute(select(func.count()).select_from(Entry).where(
            Entry.value.is_not(None),
            ~select(EntryHolder.entry_id).where(EntryHolder.entry_id == Entry.id).exists()
        )).scalar()
        erased_held = conn.execute(select(func.count()).select_from(EntryHolder).join(
            Entry, Entry.id == EntryHolder.entry_id).where(Entry.value.is_(None))).scalar()
        case_holds = conn.execute(select(func.count()).select_from(EntryHolder).where(
            EntryHolder.case_id.is_not(None))).scalar()
    assert (live_unheld, erased_held, case_holds) == (0, 0, 0)
