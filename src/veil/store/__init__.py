"""Banks, entries, cases, keys and the audit log in a SQL database (SQLAlchemy 2 +
Alembic).

``open_store(settings)`` gives a ``Store`` (``repository``); the API and CLI use it
through the narrow ``BankStore`` interface (``interface``). It hands out records
(``records``), never ORM objects (``models``). Hash-list files are read and written
by ``hashlist``. Schema changes are Alembic revisions in ``migrations/versions``,
applied when a store is opened.

Imports ``veil.signals`` (to validate values), ``veil.config`` and ``veil.errors``.
The names below load on first use, so importing a light module of this package
(``vocabulary``) does not pull in SQLAlchemy: the CLI's help starts fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from veil.config import Settings
    from veil.store.interface import BankStore
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

_LAZY = {
    "BankStore": "veil.store.interface",
    "ActiveEntry": "veil.store.records",
    "AuditRecord": "veil.store.records",
    "BankInfo": "veil.store.records",
    "EntryKey": "veil.store.records",
    "EntryRecord": "veil.store.records",
    "ImportReport": "veil.store.records",
    "Store": "veil.store.repository",
    "HashRow": "veil.store.rows",
    "RowError": "veil.store.rows",
    "Action": "veil.store.vocabulary",
    "Category": "veil.store.vocabulary",
    "EntryStatus": "veil.store.vocabulary",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'veil.store' has no attribute {name!r}")
    return getattr(import_module(module), name)


def open_store(settings: Settings) -> Store:
    """Open the store of ``settings``.

    Creates ``$VEIL_HOME`` and the database if missing, and migrates the schema to the
    newest revision. Both are made owner-only (0700, 0600) even when they already
    existed with looser modes: they hold victims' hashes.
    """
    import os

    from veil.errors import StoreError
    from veil.store.database import make_engine, make_private, upgrade
    from veil.store.repository import Store

    try:
        settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(settings.home, 0o700)
    except OSError as exc:  # a file in the way, a read-only disk: say which and why
        raise StoreError(f"cannot use {settings.home} as VEIL_HOME: {exc.strerror or exc}",
                         code="store.home_unusable") from None
    engine = make_engine(settings.database_url, busy_timeout_s=settings.db_busy_timeout_s)
    try:
        upgrade(engine)
        make_private(engine)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine, settings)


__all__ = [
    "Action",
    "ActiveEntry",
    "AuditRecord",
    "BankInfo",
    "BankStore",
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
