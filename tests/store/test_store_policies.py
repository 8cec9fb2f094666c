"""Bank policies, disabled entries (with notes to their source lists), and flood
quarantines in the store: validated on the way in, fed to matchers through the change
feed, every change in the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from veil.config import Settings
from veil.errors import BadInput, Conflict, NotFound
from veil.matching import BankMatcher
from veil.store import HashRow, Store
from veil.store.cases import CaseSignalIn


def pdq(i: int) -> str:
    return f"{i:064x}"


def actions(store: Store, **filters: object) -> list[str]:
    return [a.action for a in reversed(store.audit(**filters))]  # type: ignore[arg-type]


def test_policies_are_checked_merged_and_audited(store: Store) -> None:
    b = store.create_bank("imp", "imported", {"action": "review", "thresholds": {"pdq": 20}},
                          actor="t")
    assert b.policy == {"action": "review", "thresholds": {"pdq": 20}}
    for bad, code in [({"action": "delete"}, "input.bad_policy"),
                      ({"thresholds": {"pdq": 40}}, "input.bad_threshold"),  # above the cap
                      ({"thresholds": {"pdq": 999}}, "input.bad_policy"),
                      ({"priority": 1.5}, "input.bad_policy")]:
        with pytest.raises(BadInput) as err:
            store.update_bank_policy("imp", bad, actor="t", merge=True)
        assert err.value.code == code
        with pytest.raises(BadInput):
            store.create_bank("other", "imported", bad, actor="t")
    assert store.get_bank("imp").policy == {"action": "review", "thresholds": {"pdq": 20}}
    merged = store.update_bank_policy("imp", {"priority": 4, "enabled": False}, actor="t",
                                      merge=True)
    assert merged.policy == {"action": "review", "thresholds": {"pdq": 20}, "priority": 4,
                             "enabled": False}
    reset = store.update_bank_policy("imp", {"action": None}, actor="t", merge=True)
    assert "action" not in reset.policy
    replaced = store.update_bank_policy("imp", {"action": "block"}, actor="t")
    assert replaced.policy == {"action": "block"}
    events = store.audit(action="bank.policy")
    assert len(events) == 3 and events[0].detail["policy"] == {"action": "block"}
    assert events[0].detail["previous"]["priority"] == 4


def test_a_wider_cap_allows_a_wider_bank_threshold(settings: Settings) -> None:
    from veil.store import open_store

    with open_store(settings.with_(max_thresholds={"pdq": 48})) as store:
        b = store.create_bank("wide", "protected_photo", {"thresholds": {"pdq": 40}},
                              actor="t")
        assert b.policy["thresholds"] == {"pdq": 40}


def test_disabling_keeps_the_hash_leaves_the_feed_and_notes_the_source(store: Store) -> None:
    store.create_bank("imp", "imported", actor="t")
    store.import_entries("imp", [HashRow("pdq", pdq(1), source="partner-list"),
                                 HashRow("pdq", pdq(2))], actor="t", source_name="list.csv")
    m = BankMatcher.load(store.settings, store, snapshots=False)
    one, two = (e.id for e in store.list_entries(bank="imp"))
    assert [x.entry_id for x in m.search("pdq", [pdq(1)], 0)[0]] == [one]
    e = store.disable_entry(one, actor="admin", reason="a stock photo")
    assert (e.status, e.value) == ("disabled", pdq(1))  # the hash stays, for the audit
    m.catch_up(store)
    assert m.search("pdq", [pdq(1)], 0)[0] == []
    assert store.get_bank("imp").counts["disabled"] == 1
    fb = store.source_feedback()
    assert [(f.entry_id, f.source, f.status, f.reason, f.kind) for f in fb] == [
        (one, "partner-list", "pending", "a stock photo", "false_positive")]
    assert actions(store, entry_id=one)[-2:] == ["entry.disable", "entry.feedback"]
    with pytest.raises(Conflict, match="already disabled"):
        store.disable_entry(one, actor="admin")
    with pytest.raises(Conflict, match="disabled; enable it first"):
        store.set_status(one, "disputed", actor="admin")
    with pytest.raises(Conflict, match="not disabled"):
        store.enable_entry(two, actor="admin")
    store.enable_entry(("imp", "pdq", pdq(1)), actor="admin", reason="it was not")
    m.catch_up(store)
    assert [x.entry_id for x in m.search("pdq", [pdq(1)], 0)[0]] == [one]
    assert [f.status for f in store.source_feedback()] == ["retracted"]
    assert store.source_feedback(status="pending") == []
    # a disabled entry can still be withdrawn: the hash then goes
    store.disable_entry(two, actor="admin")
    assert store.withdraw(two, actor="admin").value is None
    with pytest.raises(BadInput):
        store.source_feedback(status="lost")
    with pytest.raises(NotFound):
        store.disable_entry(99999, actor="admin")


def test_a_victims_own_hash_is_disabled_without_a_note_and_shows_under_review(
        store: Store) -> None:
    store.create_bank("victims", "victim_submitted", actor="t")
    case = store.create_case([CaseSignalIn("pdq", pdq(7), 90)], {"self_or_guardian": True},
                             bank="victims", actor="intake:public")
    entry = store.list_entries(bank="victims")[0]
    store.disable_entry(entry.id, actor="admin")
    assert store.source_feedback() == []  # intake is nobody's list
    assert store.case_view(case.case_id).signals[0].status == "under_review"


def test_quarantines_are_kept_decided_once_and_audited(store: Store) -> None:
    store.create_bank("imp", "imported", actor="t")
    store.import_entries("imp", [HashRow("pdq", pdq(1)), HashRow("pdq", pdq(2))], actor="t")
    one, _ = (e.id for e in store.list_entries(bank="imp"))
    w = store.watermark()
    q, new = store.quarantine("entry", "imp", one, detail={"reason": "entry_uploads"},
                              actor="veil:flood-protection")
    assert new and q.status == "active" and store.watermark() > w  # matchers reload
    again, new = store.quarantine("entry", "imp", one, detail={}, actor="x")
    assert (again.id, new) == (q.id, False)
    bank_q, _ = store.quarantine("bank", "imp", detail={"reason": "bank_share"}, actor="x")
    assert {(r.kind, r.entry_id) for r in store.active_quarantines()} == {
        ("entry", one), ("bank", None)}
    m = BankMatcher.load(store.settings, store, snapshots=False)
    assert m.quarantines.entries == {one} and m.quarantines.banks == {"imp"}
    for bad in [("entry", "imp", None), ("bank", "imp", one), ("lake", "imp", None)]:
        with pytest.raises(BadInput):
            store.quarantine(*bad, detail={}, actor="x")  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        store.quarantine("bank", "nope", detail={}, actor="x")
    # confirming an entry quarantine disables the entry (and notes its source)
    done = store.decide_quarantine(q.id, "confirm", actor="admin", reason="generic")
    assert (done.status, done.decided_by) == ("confirmed", "admin")
    assert store.get_entry(one).status == "disabled"
    assert [f.entry_id for f in store.source_feedback()] == [one]
    with pytest.raises(Conflict, match="already confirmed"):
        store.decide_quarantine(q.id, "release", actor="admin")
    with pytest.raises(BadInput):
        store.decide_quarantine(bank_q.id, "ignore", actor="admin")
    with pytest.raises(NotFound):
        store.decide_quarantine(999, "release", actor="admin")
    # releasing a bank quarantine changes nothing else; confirming one disables the bank
    store.decide_quarantine(bank_q.id, "release", actor="admin")
    assert store.active_quarantines() == []
    assert store.get_bank("imp").policy == {}
    third, _ = store.quarantine("bank", "imp", detail={}, actor="x")
    store.decide_quarantine(third.id, "confirm", actor="admin")
    assert store.get_bank("imp").policy == {"enabled": False}
    m.catch_up(store)
    assert not m.quarantines and not m.banks["imp"].policy.enabled
    assert [s.status for s in store.quarantines()] == ["confirmed", "released", "confirmed"]
    assert store.quarantines(status="active") == []
    names = actions(store)
    for action in ("quarantine.create", "quarantine.confirm", "quarantine.release",
                   "entry.disable", "bank.policy"):
        assert action in names


def test_the_audit_log_stays_append_only_for_the_new_actions(store: Store) -> None:
    store.create_bank("imp", "imported", actor="t")
    store.quarantine("bank", "imp", detail={}, actor="x")
    with store.engine.begin() as conn, pytest.raises(Exception, match="append-only"):
        conn.execute(text("DELETE FROM audit_events WHERE action = 'quarantine.create'"))


def test_the_status_check_takes_disabled_and_the_database_is_sound(store: Store) -> None:
    store.create_bank("imp", "imported", actor="t")
    e = store.add_entry("imp", "pdq", pdq(3), actor="t")
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE entries SET status = 'disabled' WHERE id = :i"), {"i": e.id})
        with pytest.raises(Exception, match=r"(?i)check"):
            conn.execute(text("UPDATE entries SET status = 'lost' WHERE id = :i"),
                         {"i": e.id})
    if store.engine.dialect.name == "sqlite":
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
