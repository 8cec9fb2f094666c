"""ORM models on a real database: round trips, UTC-aware times, constraints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from veil.store import Store
from veil.store.models import AuditEvent, Bank, Entry

H = "ab" * 32


def _bank(s: Session, name: str = "b", category: str = "confirmed_ncii") -> Bank:
    bank = Bank(name=name, category=category, policy={"action": "review", "n": [1, 2]},
                created_by="test")
    s.add(bank)
    s.flush()
    return bank


def _entry(bank: Bank, value: str | None = H, status: str = "active") -> Entry:
    return Entry(bank_id=bank.id, signal="pdq", value=value, quality=77, status=status,
                 source="src", note="nöte", case_ref="case-1", created_by="test")


def test_round_trip(store: Store) -> None:
    with Session(store.engine) as s, s.begin():
        bank = _bank(s)
        s.add(_entry(bank))
        s.add(AuditEvent(actor="test", action="x", bank="b", entry_id=1, detail={"k": "v"}))
    with Session(store.engine) as s:
        bank = s.scalars(select(Bank)).one()
        entry = s.scalars(select(Entry)).one()
        event = s.scalars(select(AuditEvent)).one()
    assert (bank.name, bank.category, bank.policy) == ("b", "confirmed_ncii",
                                                       {"action": "review", "n": [1, 2]})
    assert (entry.bank_id, entry.signal, entry.value, entry.quality, entry.status,
            entry.source, entry.note, entry.case_ref, entry.created_by) == (
        bank.id, "pdq", H, 77, "active", "src", "nöte", "case-1", "test")
    assert event.detail == {"k": "v"}


def test_times_read_back_timezone_aware_utc(store: Store) -> None:
    local = datetime(2024, 3, 1, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    with Session(store.engine) as s, s.begin():
        bank = _bank(s)
        e = _entry(bank)
        e.created_at = local
        s.add(e)
    with Session(store.engine) as s:
        entry = s.scalars(select(Entry)).one()
        bank = s.scalars(select(Bank)).one()
    assert entry.created_at == local
    assert entry.created_at.utcoffset() == timedelta(0)
    assert entry.created_at.hour == 10
    assert entry.updated_at.tzinfo is not None
    assert bank.created_at.tzinfo is not None
    assert abs(datetime.now(UTC) - bank.created_at) < timedelta(minutes=1)


def test_naive_times_are_refused(store: Store) -> None:
    with pytest.raises(StatementError, match="naive"), Session(store.engine) as s, s.begin():
        bank = _bank(s)
        e = _entry(bank)
        e.created_at = datetime(2024, 1, 1)
        s.add(e)


def test_same_value_twice_in_a_bank_is_refused(store: Store) -> None:
    with pytest.raises(IntegrityError), Session(store.engine) as s, s.begin():
        bank = _bank(s)
        s.add_all([_entry(bank), _entry(bank)])


def test_withdrawn_rows_without_value_may_repeat(store: Store) -> None:
    with Session(store.engine) as s, s.begin():
        bank = _bank(s)
        other = _bank(s, "other")
        s.add_all([_entry(bank, None, "withdrawn"), _entry(bank, None, "withdrawn"),
                   _entry(bank), _entry(other)])
    with Session(store.engine) as s:
        assert len(s.scalars(select(Entry)).all()) == 4


@pytest.mark.parametrize("change", [
    {"status": "gone"},
    {"quality": 101},
    {"value": None},  # only a withdrawn entry may lose its value
])
def test_check_constraints(store: Store, change: dict[str, object]) -> None:
    with pytest.raises(IntegrityError), Session(store.engine) as s, s.begin():
        e = _entry(_bank(s))
        for k, v in change.items():
            setattr(e, k, v)
        s.add(e)


def test_unknown_category_and_missing_bank_are_refused(store: Store) -> None:
    with pytest.raises(IntegrityError), Session(store.engine) as s, s.begin():
        _bank(s, category="whatever")
    with pytest.raises(IntegrityError), Session(store.engine) as s, s.begin():
        s.add(Entry(bank_id=999, signal="pdq", value=H, status="active", created_by="t"))
