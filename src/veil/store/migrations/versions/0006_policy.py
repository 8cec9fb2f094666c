"""Policies: entry status ``disabled``, flood quarantines, feedback to source lists.

* ``entries.status`` may be ``disabled`` (a false positive an admin turned off: it
  does not match, its hash stays). The check constraint is widened in place:
  PostgreSQL drops and re-adds it; SQLite cannot alter a constraint, and copying the
  entries table (Alembic's batch mode) would trip the foreign keys that point at it,
  so the table's stored definition is edited as SQLite documents for loosening a
  CHECK constraint (``writable_schema``, then a new ``schema_version``). Every
  existing row satisfies the wider check, so nothing on disk changes.
* ``quarantines``: banks and entries flood protection took out of automatic
  decisions, and what an admin decided.
* ``source_feedback``: notes for the list an entry came from (disabled as a false
  positive), pending until an exchange sends them.

Revision ID: 0006_policy
Revises: 0005_webhooks
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_policy"
down_revision: str | None = "0005_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies, as in 0001: later model edits must not change this revision.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Time = sa.DateTime(timezone=True)
OLD_STATUSES = ("active", "withdrawn", "disputed")
NEW_STATUSES = ("active", "withdrawn", "disputed", "disabled")


def _one_of(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _entry_statuses(old: Sequence[str], new: Sequence[str]) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        sql = bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'entries'").scalar()
        before, after = _one_of("status", old), _one_of("status", new)
        if not isinstance(sql, str) or before not in sql:
            raise RuntimeError("entries: the status check is not the one 0001 created")
        version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
        bind.exec_driver_sql("PRAGMA writable_schema = ON")
        try:
            bind.exec_driver_sql(
                "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'entries'",
                (sql.replace(before, after),))
            bind.exec_driver_sql(f"PRAGMA schema_version = {int(version or 0) + 1}")
        finally:
            bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    else:
        op.drop_constraint("ck_entries_status", "entries", type_="check")
        op.create_check_constraint("ck_entries_status", "entries", _one_of("status", new))


def upgrade() -> None:
    _entry_statuses(OLD_STATUSES, NEW_STATUSES)
    op.create_table(
        "quarantines",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("bank", sa.String(64), nullable=False),
        sa.Column("entry_id", BigId, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("detail", Json, nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("decided_at", Time, nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_quarantines"),
        sa.CheckConstraint(_one_of("kind", ("bank", "entry")), name="ck_quarantines_kind"),
        sa.CheckConstraint(_one_of("status", ("active", "released", "confirmed")),
                           name="ck_quarantines_status"),
    )
    op.create_index("ix_quarantines_status", "quarantines", ["status"])
    op.create_table(
        "source_feedback",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("entry_id", BigId, nullable=False),
        sa.Column("bank", sa.String(64), nullable=False),
        sa.Column("source", sa.String(200), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("updated_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_source_feedback"),
        sa.ForeignKeyConstraint(["entry_id"], ["entries.id"],
                                name="fk_source_feedback_entry_id_entries"),
        sa.CheckConstraint(_one_of("status", ("pending", "retracted", "sent")),
                           name="ck_source_feedback_status"),
    )
    op.create_index("ix_source_feedback_status", "source_feedback", ["status"])
    op.create_index("ix_source_feedback_entry_id", "source_feedback", ["entry_id"])


def downgrade() -> None:
    op.drop_index("ix_source_feedback_entry_id", table_name="source_feedback")
    op.drop_index("ix_source_feedback_status", table_name="source_feedback")
    op.drop_table("source_feedback")
    op.drop_index("ix_quarantines_status", table_name="quarantines")
    op.drop_table("quarantines")
    # a disabled entry is active again under the old vocabulary (it was a live hash)
    op.execute("UPDATE entries SET status = 'active' WHERE status = 'disabled'")
    _entry_statuses(NEW_STATUSES, OLD_STATUSES)
