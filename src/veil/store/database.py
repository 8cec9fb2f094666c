"""Engines and schema: connect to any SQLAlchemy URL, bring the schema to head.

SQLite gets WAL (readers never wait for a writer, e.g. ``veil bank list`` during
an import), enforced foreign keys, ``secure_delete`` (freed space is zeroed, so an
erased hash does not linger in free pages), and explicit transactions: pysqlite's
own transaction handling starts them late and cannot take the write lock up front.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: The newest schema revision (``tests/store/test_migrations.py`` checks it against
#: the scripts). Opening a store compares the database's revision with it in plain
#: SQL, and imports Alembic only when there is something to migrate: a command that
#: opens a current store does not pay for Alembic (about a tenth of a second).
HEAD = "0012_review_sessions"

#: Execution option: begin with the SQLite write lock (``BEGIN IMMEDIATE``), so a
#: transaction that will write waits for other writers up front instead of failing
#: half-way when its read lock cannot be upgraded.
WRITE = "veil_write"


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see "begin")
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA journal_mode = WAL")
        # freed space (an erased hash's old cell, its index entry) is zeroed, not left
        # behind in free pages; the WAL is truncated after each erasure (StoreBase)
        cur.execute("PRAGMA secure_delete = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str, *, busy_timeout_s: float = 30.0) -> Engine:
    """An engine for ``url``; for a SQLite file, its folder is created if missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    options: dict[str, Any] = {"connect_args": {"timeout": busy_timeout_s}}
    if parsed.database in (None, "", ":memory:"):
        # every new connection would be a new, empty database: share one
        options.update(poolclass=StaticPool,
                       connect_args={**options["connect_args"], "check_same_thread": False})
    elif not parsed.database.startswith("file:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = create_engine(url, **options)
    _sqlite_setup(engine)
    return engine


def make_private(engine: Engine) -> None:
    """An SQLite database file and its WAL and shared-memory files: owner-only (SQLite
    gives files it creates later the database file's mode)."""
    import os

    if engine.dialect.name != "sqlite":
        return
    name = engine.url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    for suffix in ("", "-wal", "-shm"):
        path = Path(name + suffix).expanduser()
        if path.exists():
            os.chmod(path, 0o600)


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """Alembic configuration built in code: no ``alembic.ini`` is needed at runtime.

    Developers add a migration with::

        from alembic import command
        command.revision(alembic_config(url="sqlite:///scratch.db"), "what", autogenerate=True)
    """
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        cfg.attributes["url"] = url
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision (None for a new database), in plain SQL."""
    with engine.connect() as conn:
        try:
            found = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError:  # no alembic_version table: a new, empty database
            conn.rollback()
            return None
        return None if found is None else str(found)


def head_revision() -> str | None:
    """The newest revision of the migration scripts (Alembic reads them)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(engine: Engine) -> None:
    """Bring the schema to head; a no-op read when it is already there."""
    if current_revision(engine) == HEAD:
        return
    from alembic import command

    # One writer migrates; a second process opening a fresh database meanwhile waits
    # for the write lock, then finds the schema at head and does nothing.
    with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        command.upgrade(alembic_config(conn), "head")
