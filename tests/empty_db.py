"""Test databases: emptying the one ``VEIL_TEST_DATABASE_URL`` names (a module of its
own: ``conftest`` is not for importing)."""

from __future__ import annotations


def empty_database(url: str) -> None:
    """Drop everything in the database at ``url`` (PostgreSQL: its public schema)."""
    from sqlalchemy import MetaData, create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            else:
                meta = MetaData()
                meta.reflect(conn)
                meta.drop_all(conn)
    finally:
        engine.dispose()
