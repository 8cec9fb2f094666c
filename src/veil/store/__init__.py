"""Banks, entries and the audit log in a SQL database (SQLAlchemy 2 + Alembic).

``open_store()`` gives a ``Store`` (``repository``), the API the rest of Veil calls;
it hands out records (``records``), never ORM objects (``models``). Hash-list files
are read and written by ``hashlist``. Schema changes are Alembic revisions in
``migrations/versions``, applied when a store is opened.

Imports ``veil.signals`` (to validate values), ``veil.config`` and ``veil.errors``."""

from __future__ import annotations

from veil.config import Settings, load_settings
from veil.store.database import make_engine, upgrade
from veil.store.records import (
    ActiveEntry,
    AuditRecord,
    BankInfo,
    EntryKey,
    EntryRecord,
    ImportReport,
)
from veil.store.repository import Store
from veil.store.rows import HashRow, RowError
from veil.store.vocabulary import Action, Category, EntryStatus


def open_store(settings: Settings | None = None) -> Store:
    """Open the store of ``settings`` (default: from the environment).

    Creates ``$VEIL_HOME`` (owner-only: it holds victims' hashes) and the database if
    missing, and migrates the schema to the newest revision.
    """
    settings = settings or load_settings()
    settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = make_engine(settings.database_url, busy_timeout_s=settings.db_busy_timeout_s)
    try:
        upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine, settings)


__all__ = [
    "Action",
    "ActiveEntry",
    "AuditRecord",
    "BankInfo",
    "Category",
    "EntryKey",
    "EntryRecord",
    "EntryStatus",
    "HashRow",
    "ImportReport",
    "RowError",
    "Store",
    "open_store",
]
