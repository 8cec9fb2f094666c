"""The ``Store`` API: banks, entries, withdrawal, streaming, watermark, audit."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from veil.errors import BadHash, BadInput, Conflict, NotFound, UnknownSignal
from veil.store import ActiveEntry, EntryKey, HashRow, RowError, Store
from veil.store.models import Entry

Snapshot = Callable[[str], list[tuple[object, ...]]]


def pdq(i: int) -> str:
    return f"{i:064x}"


@pytest.fixture
def bank(store: Store) -> str:
    store.create_bank("victims", "victim_submitted", actor="test")
    return "victims"


# -- banks -------------------------------------------------------------------------------
def test_create_and_get_bank(store: Store) -> None:
    made = store.create_bank("ncii", "confirmed_ncii", {"action": "review"}, actor="alice")
    got = store.get_bank("ncii")
    assert got == made
    assert (got.category, got.policy, got.action, got.created_by) == (
        "confirmed_ncii", {"action": "review"}, "review", "alice")
    assert got.counts == {"active": 0, "withdrawn": 0, "disputed": 0, "disabled": 0}
    assert got.created_at.tzinfo is not None


@pytest.mark.parametrize("name, category, policy, error", [
    ("", "imported", None, BadInput),
    ("has space", "imported", None, BadInput),
    ("x" * 65, "imported", None, BadInput),
    ("ok", "nonsense", None, BadInput),
    ("ok", "imported", {"action": "delete"}, BadInput),
])
def test_create_bank_refuses_bad_input(store: Store, name: str, category: str,
                                       policy: dict[str, str] | None,
                                       error: type[Exception]) -> None:
    with pytest.raises(error):
        store.create_bank(name, category, policy, actor="test")
    assert store.list_banks() == []


def test_bank_names_are_unique(store: Store, bank: str) -> None:
    with pytest.raises(Conflict, match="already exists"):
        store.create_bank(bank, "imported", actor="test")


def test_missing_bank_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound, match="no bank named 'nope'"):
        store.get_bank("nope")
    with pytest.raises(NotFound):
        store.add_entry("nope", "pdq", pdq(1), actor="test")
    with pytest.raises(NotFound):
        list(store.export_entries("nope"))


def test_list_banks_counts_entries_per_status(store: Store, bank: str) -> None:
    store.create_bank("empty", "allowlist", actor="test")
    ids = [store.add_entry(bank, "pdq", pdq(i), actor="test").id for i in range(5)]
    store.withdraw(ids[0], actor="test")
    store.set_status(ids[1], "disputed", actor="test")
    banks = {b.name: b for b in store.list_banks()}
    assert [b.name for b in store.list_banks()] == ["empty", "victims"]
    assert banks["victims"].counts == {"active": 3, "withdrawn": 1, "disputed": 1, "disabled": 0}
    assert banks["empty"].counts == {"active": 0, "withdrawn": 0, "disputed": 0, "disabled": 0}


# -- entries -----------------------------------------------------------------------------
def test_add_entry_normalises_and_records_provenance(store: Store, bank: str) -> None:
    e = store.add_entry(bank, "PDQ", "0x" + pdq(7).upper(), actor="intake", quality=90,
                        source="stopncii", note="n", case_ref="c-1")
    assert (e.signal, e.value, e.quality, e.status, e.source, e.note, e.case_ref,
            e.created_by, e.bank) == ("pdq", pdq(7), 90, "active", "stopncii", "n", "c-1",
                                      "intake", bank)
    assert e.created_at.tzinfo is not None and e.created_at == e.updated_at
    assert store.get_entry(e.id) == e


@pytest.mark.parametrize("signal, value, kwargs, error", [
    ("pdq", "ab" * 31 + "a", {}, BadHash),
    ("pdq", "zz" * 32, {}, BadHash),
    ("nohash", pdq(1), {}, UnknownSignal),
    ("pdq", pdq(1), {"quality": 101}, BadInput),
    ("pdq", pdq(1), {"note": "two\nlines"}, BadInput),
    ("pdq", pdq(1), {"source": "s" * 201}, BadInput),
    ("md5", "0" * 64, {}, BadHash),
])
def test_add_entry_refuses_bad_values(store: Store, bank: str, signal: str, value: str,
                                      kwargs: dict[str, object],
                                      error: type[Exception]) -> None:
    with pytest.raises(error):
        store.add_entry(bank, signal, value, actor="test", **kwargs)  # type: ignore[arg-type]
    assert store.get_bank(bank).counts["active"] == 0


def test_add_entry_duplicate_is_a_conflict(store: Store, bank: str) -> None:
    store.add_entry(bank, "pdq", pdq(1), actor="test")
    with pytest.raises(Conflict, match="already has"):
        store.add_entry(bank, "pdq", pdq(1).upper(), actor="test")
    store.create_bank("other", "confirmed_ncii", actor="test")
    store.add_entry("other", "pdq", pdq(1), actor="test")  # other banks may hold it too


def test_actor_is_required(store: Store) -> None:
    with pytest.raises(BadInput, match="actor"):
        store.create_bank("b", "imported", actor="")


# -- withdrawal --------------------------------------------------------------------------
def test_withdraw_by_id_erases_the_hash_and_audits(store: Store, bank: str) -> None:
    e = store.add_entry(bank, "pdq", pdq(42), actor="intake", quality=80)
    w = store.withdraw(e.id, actor="victim", reason="changed my mind")
    assert (w.id, w.status, w.value, w.quality) == (e.id, "withdrawn", None, None)
    assert w.updated_at > e.updated_at
    with store.engine.connect() as conn:
        values = [r[0] for r in conn.execute(Entry.__table__.select().with_only_columns(
            Entry.value))]
    assert values == [None]  # gone from the database, not only hidden
    event = store.audit(action="entry.withdraw")[0]
    assert (event.actor, event.bank, event.entry_id) == ("victim", bank, e.id)
    assert event.detail["reason"] == "changed my mind"
    everything = json.dumps([a.detail for a in store.audit()])
    assert pdq(42) not in everything  # the audit log never held the hash
    assert list(store.iter_active("pdq")) == []


def test_withdraw_by_value(store: Store, bank: str) -> None:
    e = store.add_entry(bank, "pdq", pdq(5), actor="t")
    w = store.withdraw(EntryKey(bank, "pdq", pdq(5).upper()), actor="t")
    assert w.id == e.id and w.value is None
    with pytest.raises(NotFound):  # the value is gone, so it cannot be found again
        store.withdraw((bank, "pdq", pdq(5)), actor="t")
    with pytest.raises(Conflict, match="already withdrawn"):
        store.withdraw(e.id, actor="t")
    with pytest.raises(NotFound):
        store.withdraw(99_999, actor="t")
    with pytest.raises(BadHash):
        store.withdraw((bank, "pdq", "123"), actor="t")


def test_withdrawn_hash_can_be_submitted_again(store: Store, bank: str) -> None:
    first = store.add_entry(bank, "pdq", pdq(3), actor="t")
    store.withdraw(first.id, actor="t")
    again = store.add_entry(bank, "pdq", pdq(3), actor="t")
    assert again.id != first.id


def test_disputed_entries_are_not_active(store: Store, bank: str) -> None:
    e = store.add_entry(bank, "pdq", pdq(1), actor="t")
    store.set_status(e.id, "disputed", actor="reviewer", reason="looks benign")
    assert list(store.iter_active("pdq")) == []
    store.set_status(e.id, "active", actor="reviewer")
    assert len(list(store.iter_active("pdq"))) == 1
    with pytest.raises(BadInput):
        store.set_status(e.id, "withdrawn", actor="t")
    store.withdraw(e.id, actor="t")
    with pytest.raises(Conflict):
        store.set_status(e.id, "active", actor="t")


# -- streaming, watermark -----------------------------------------------------------------
def test_iter_active_spans_banks_of_one_signal(store: Store, bank: str) -> None:
    store.create_bank("allow", "allowlist", actor="t")
    a = store.add_entry(bank, "pdq", pdq(1), actor="t", quality=60)
    b = store.add_entry("allow", "pdq", pdq(2), actor="t")
    store.add_entry(bank, "md5", "0" * 32, actor="t")
    got = sorted(store.iter_active("pdq"))
    assert got == [ActiveEntry(a.id, bank, "victim_submitted", pdq(1), 60),
                   ActiveEntry(b.id, "allow", "allowlist", pdq(2), None)]
    assert [e.value for e in store.iter_active("md5")] == ["0" * 32]
    assert list(store.iter_active("phash")) == []
    with pytest.raises(UnknownSignal):
        store.iter_active("nope")


def test_iter_active_streams_many(store: Store, bank: str) -> None:
    n = 25_000  # more than two fetch batches
    store.import_entries(bank, (HashRow("pdq", pdq(i)) for i in range(n)), actor="t")
    stream = store.iter_active("pdq")
    first = next(stream)
    assert isinstance(first, ActiveEntry)
    assert 1 + sum(1 for _ in stream) == n


def test_watermark_moves_with_every_change_only(store: Store, bank: str) -> None:
    marks = [store.watermark()]

    def moved() -> bool:
        marks.append(store.watermark())
        return marks[-1] > marks[-2]

    e = store.add_entry(bank, "pdq", pdq(1), actor="t")
    assert moved()
    store.list_banks()
    list(store.iter_active("pdq"))
    assert not moved()
    with pytest.raises(Conflict):
        store.add_entry(bank, "pdq", pdq(1), actor="t")
    assert not moved()
    store.import_entries(bank, [HashRow("pdq", pdq(2))], actor="t")
    assert moved()
    store.import_entries(bank, [HashRow("pdq", pdq(3)), RowError(2, "bad")], actor="t")
    assert not moved()
    store.withdraw(e.id, actor="t")
    assert moved()


# -- imports through the API ---------------------------------------------------------------
def test_import_rows_in_batches(store: Store, bank: str, snapshot: Snapshot) -> None:
    store.settings = store.settings.with_(import_batch_rows=7_000)
    store.add_entry(bank, "pdq", pdq(10), actor="t")
    rows = [HashRow("pdq", pdq(i), quality=i % 101) for i in range(50_000)]
    rows += [HashRow("pdq", pdq(3))]  # a repeat within the input
    report = store.import_entries(bank, rows, actor="importer", source_name="list.csv")
    assert report.ok
    assert (report.rows, report.imported, report.duplicates) == (50_001, 49_999, 2)
    assert store.get_bank(bank).counts["active"] == 50_000
    values = {r[2] for r in snapshot(bank)}
    assert values == {pdq(i) for i in range(50_000)}
    event = store.audit(action="bank.import")[0]
    assert (event.actor, event.detail["imported"], event.detail["source"]) == (
        "importer", 49_999, "list.csv")


def test_import_from_a_one_shot_iterator_is_all_or_nothing(store: Store, bank: str,
                                                          snapshot: Snapshot) -> None:
    store.settings = store.settings.with_(import_batch_rows=100)
    store.add_entry(bank, "pdq", pdq(0), actor="t")
    before = snapshot(bank)

    def rows() -> Iterator[HashRow | RowError]:
        yield from (HashRow("pdq", pdq(i)) for i in range(1, 1000))
        yield RowError(1000, "pdq hash must be 64 hex characters, got 63")
        yield from (HashRow("pdq", pdq(i)) for i in range(1001, 1100))
        yield RowError(1100, "unknown signal type 'x'")

    report = store.import_entries(bank, rows(), actor="t")
    assert not report.ok
    assert report.imported == 0 and report.error_count == 2
    assert [str(e) for e in report.errors] == [
        "line 1000: pdq hash must be 64 hex characters, got 63",
        "line 1100: unknown signal type 'x'"]
    assert snapshot(bank) == before


def test_import_keeps_only_the_first_errors_but_counts_all(store: Store, bank: str) -> None:
    rows = [RowError(i, "bad") for i in range(1, 51)]
    report = store.import_entries(bank, rows, actor="t", max_errors=20)
    assert (len(report.errors), report.error_count) == (20, 50)


def test_allowlist_rows_stay_in_allowlist_banks(store: Store, bank: str) -> None:
    store.create_bank("allow", "allowlist", actor="t")
    bad = store.import_entries(bank, [HashRow("pdq", pdq(1), category="allowlist", line=2)],
                               actor="t")
    assert [str(e) for e in bad.errors] == [
        "line 2: a row of category allowlist cannot go into a bank of category "
        "victim_submitted"]
    bad = store.import_entries("allow", [HashRow("pdq", pdq(1), category="confirmed_ncii")],
                               actor="t")
    assert not bad.ok
    ok = store.import_entries(bank, [HashRow("pdq", pdq(1), category="confirmed_ncii")],
                              actor="t")
    assert ok.imported == 1


# -- audit ---------------------------------------------------------------------------------
def test_audit_filters_and_pages(store: Store, bank: str) -> None:
    store.create_bank("other", "imported", actor="bob")
    e = store.add_entry(bank, "pdq", pdq(1), actor="alice")
    store.add_entry("other", "pdq", pdq(1), actor="bob")
    store.withdraw(e.id, actor="alice")
    everything = store.audit()
    assert [a.action for a in everything] == ["entry.withdraw", "entry.add", "entry.add",
                                              "bank.create", "bank.create"]
    assert all(a.at.tzinfo is not None for a in everything)
    assert [a.action for a in store.audit(bank=bank)] == ["entry.withdraw", "entry.add",
                                                          "bank.create"]
    assert [a.action for a in store.audit(actor="bob")] == ["entry.add", "bank.create"]
    assert [a.action for a in store.audit(entry_id=e.id)] == ["entry.withdraw", "entry.add"]
    page = store.audit(limit=2)
    assert [a.id for a in page + store.audit(limit=3, before_id=page[-1].id)] == [
        a.id for a in everything]
    future = datetime.now(UTC) + timedelta(hours=1)
    assert store.audit(since=future) == []
    assert len(store.audit(until=future)) == 5
