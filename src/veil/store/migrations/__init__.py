"""Alembic migrations (run by ``veil.store.database.upgrade``; never imported).

A package so that ``env.py`` ships in wheels with the revisions in ``versions/``."""
