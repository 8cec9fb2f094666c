"""Alembic environment. Veil runs it from code (``veil.store.database.upgrade``) with an
open connection; given only a URL (``alembic_config(url=...)``) it connects itself."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from veil.store.database import make_engine
from veil.store.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if url:
        return str(url)
    from veil.config import load_settings

    return load_settings().database_url


def run_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


def _run(connection: Connection) -> None:
    # batch mode: SQLite can only ALTER tables by copying them, and Alembic's batch
    # operations do that; on PostgreSQL they are plain ALTERs.
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
