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
          "api_keys", "cases", "case_signals", "entry_matches"}


def test_migrations_ship_inside_the_package() -> None:
    import veil.store

    assert Path(veil.store.__file__).parent / "migrations" == MIGRATIONS
    assert (MIGRATIONS / "env.py").is_file()
    assert (MIGRATIONS / "script.py.mako").is_file()
    assert (MIGRATIONS / "versions" / "0001_initial.py").is_file()
    assert (MIGRATIONS / "versions" / "0002_service.py").is_file()
    assert (MIGRATIONS / "versions" / "0003_change_feed.py").is_file()
    assert head_revision() == "0003"


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
