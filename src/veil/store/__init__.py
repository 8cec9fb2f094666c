"""Banks, entries and the audit log in a SQL database (SQLAlchemy 2 + Alembic).

Imports ``veil.signals`` (to validate values), ``veil.config`` and ``veil.errors``."""
