"""The Alembic migrations: schema from empty, in step with the models, shipped in the package."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from veil.config import Settings
from veil.store import Store, open_store
from veil.store.database import (
    HEAD,
    MIGRATIONS,
    alembic_config,
    current_revision,
    head_revision,
    make_engine,
    upgrade,
)
from veil.store.models import Base

TABLES = {"banks", "entries", "audit_events", "store_state", "alembic_version",
          # 0002: the service (veil serve)
          "api_keys", "cases", "case_signals", "entry_matches",
          # 0004: who holds each entry
          "entry_holders",
          # 0005: flood quarantines, feedback to source lists
          "quarantines", "source_feedback",
          # 0007_review: uploads under review and their sealed media
          "review_items", "review_media",
          # 0008_videos: banked videos
          "videos", "video_frames"}


def test_migrations_ship_inside_the_package() -> None:
    import veil.store

    assert Path(veil.store.__file__).parent / "migrations" == MIGRATIONS
    assert (MIGRATIONS / "env.py").is_file()
    assert (MIGRATIONS / "script.py.mako").is_file()
    assert (MIGRATIONS / "versions" / "0001_initial.py").is_file()
    assert (MIGRATIONS / "versions" / "0002_service.py").is_file()
    assert (MIGRATIONS / "versions" / "0003_change_feed.py").is_file()
    assert (MIGRATIONS / "versions" / "0004_entry_holders.py").is_file()
    assert (MIGRATIONS / "versions" / "0006_policy.py").is_file()
    assert (MIGRATIONS / "versions" / "0007_review.py").is_file()
    assert (MIGRATIONS / "versions" / "0008_videos.py").is_file()
    assert head_revision() == "0012_review_sessions" == HEAD  # the constant opening a store checks


def test_open_creates_home_and_schema_from_empty(settings: Settings, veil_home: Path) -> None:
    assert not veil_home.exists()
    with open_store(settings) as store:
        assert veil_home.is_dir()
        if settings.database_url.startswith("sqlite"):
            assert (veil_home / "veil.db").is_file()
            assert veil_home.stat().st_mode & 0o077 == 0  # victims' hashes: owner only
        assert set(inspect(store.engine).get_table_names()) >= TABLES
        assert current_revision(store.engine) == head_revision()
        assert store.watermark() == 0


def test_models_match_the_migrations(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_reopening_keeps_data_and_does_not_migrate_again(settings: Settings) -> None:
    with open_store(settings) as store:
        store.create_bank("kept", "confirmed_ncii", actor="test")
    with open_store(settings) as store:
        assert [b.name for b in store.list_banks()] == ["kept"]
        upgrade(store.engine)  # idempotent
        assert current_revision(store.engine) == head_revision()


def test_downgrade_to_base_and_up_again(store: Store) -> None:
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert not (TABLES - {"alembic_version"}) & set(inspect(store.engine).get_table_names())
    upgrade(store.engine)
    assert current_revision(store.engine) == head_revision()


def test_0003_stamps_existing_entries_with_generation_zero(store: Store) -> None:
    store.create_bank("kept", "confirmed_ncii", actor="test")
    e = store.add_entry("kept", "pdq", "ab" * 32, actor="test")
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0002")
    assert "generation" not in {c["name"] for c in inspect(store.engine).get_columns("entries")}
    upgrade(store.engine)
    assert [(c.entry_id, c.value) for c in store.changes("pdq", after=-1, upto=0)] == [
        (e.id, "ab" * 32)]
    assert store.get_entry(e.id).value == "ab" * 32


def test_sqlite_uses_wal_and_foreign_keys(tmp_path: Path) -> None:
    # always on a SQLite file, whatever database the rest of the suite runs on
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize("sql", ["UPDATE audit_events SET actor = 'someone else'",
                                 "DELETE FROM audit_events"])
def test_audit_events_are_append_only(store: Store, sql: str) -> None:
    store.create_bank("b", "imported", actor="test")
    with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
        conn.execute(text(sql))
    assert len(store.audit()) == 1


def test_0004_gives_existing_entries_their_holders_and_cases_their_own_counts(
        store: Store) -> None:
    """Rows written before 0004 (as that code wrote them): an imported entry a stranger's
    case linked to, an intake entry two cases share, a CLI-added entry (no source, no
    case_ref: SQL NULLs) a case linked to, an erased one."""
    from datetime import UTC, datetime

    from sqlalchemy import MetaData, select

    from veil.store.cases import CaseSignalIn
    from veil.store.models import CaseSignal, EntryHolder

    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0003")
    t0 = datetime(2025, 6, 1, tzinfo=UTC)
    meta = MetaData()
    meta.reflect(store.engine)
    tables = meta.tables
    with store.engine.begin() as conn:
        def add(table: str, **row: object) -> int:
            # no explicit ids: PostgreSQL's sequences must hand out the next ones
            key = conn.execute(tables[table].insert().values(**row)).inserted_primary_key
            return int(key[0]) if key and isinstance(key[0], int) else 0

        bank = add("banks", name="victims", category="victim_submitted", policy={},
                   created_by="t", created_at=t0)
        ids = {}
        for name, value, source, case_ref in [("imported", "aa", "list.csv", None),
                                              ("shared", "bb", "intake", "case-a"),
                                              ("added", "cc", None, None),
                                              ("erased", None, "intake", "case-a")]:
            ids[name] = add("entries", bank_id=bank, signal="md5",
                            value=value and value * 16,
                            status="active" if value else "withdrawn", source=source,
                            case_ref=case_ref, created_by="t", created_at=t0, updated_at=t0,
                            generation=0)
        add("audit_events", at=t0, actor="cli:t", action="entry.add", entry_id=ids["added"],
            detail={})
        for case in ("case-a", "case-b"):
            add("cases", id=case, token_hash=case * 8, status="open", attestation={},
                submitted_by="t", created_at=t0, updated_at=t0)
        for case, n, entry, status in [("case-a", 1, "shared", "active"),
                                       ("case-a", 2, "erased", "withdrawn"),
                                       ("case-b", 1, "imported", "active"),
                                       ("case-b", 2, "shared", "active"),
                                       ("case-b", 3, "added", "active")]:
            add("case_signals", case_id=case, n=n, entry_id=ids[entry], signal="md5",
                status=status, created_at=t0)
        other = add("banks", name="partner", category="confirmed_ncii", policy={},
                    created_by="t", created_at=t0)
        ids["elsewhere"] = add("entries", bank_id=other, signal="md5", value="dd" * 16,
                               status="active", source="feed", created_by="t",
                               created_at=t0, updated_at=t0, generation=0)
        add("entry_matches", entry_id=ids["imported"], count=1000, last_matched_at=t0)
        add("entry_matches", entry_id=ids["shared"], count=5, last_matched_at=t0)
    upgrade(store.engine)

    with store.engine.connect() as conn:
        held = {(e, h) for e, h in conn.execute(select(EntryHolder.entry_id,
                                                       EntryHolder.holder))}
        counts = {(c, n): m for c, n, m in conn.execute(
            select(CaseSignal.case_id, CaseSignal.n, CaseSignal.matched))}
    assert held == {(ids["imported"], "import"), (ids["imported"], "case:case-b"),
                    (ids["shared"], "case:case-a"), (ids["shared"], "case:case-b"),
                    (ids["added"], "add"), (ids["added"], "case:case-b")}
    # (none for the partner bank's entry)
    # the creator's signal takes the entry's count; a linked one starts at 0
    assert counts == {("case-a", 1): 5, ("case-a", 2): 0, ("case-b", 1): 0,
                      ("case-b", 2): 0, ("case-b", 3): 0}
    assert [s.matched for s in store.case_view("case-b").signals] == [0, 0, 0]

    # the stranger's case withdraws: the imported and added entries stay, the shared
    # one too
    assert store.withdraw_case("case-b", actor="b") == []
    assert store.get_entry(ids["imported"]).value == "aa" * 16
    assert store.get_entry(ids["added"]).value == "cc" * 16
    assert store.get_entry(ids["shared"]).value == "bb" * 16
    assert store.withdraw_case("case-a", actor="a") == [("md5", ids["shared"])]
    assert store.get_entry(ids["shared"]).value is None
    # and everything works as usual on the migrated rows
    made = store.create_case([CaseSignalIn("md5", "cc" * 16)], {}, bank="victims", actor="t")
    assert made.added == ()
    store.withdraw_case(made.case_id, actor="t")
    assert store.get_entry(ids["added"]).value == "cc" * 16
