"""Banks, entries, audit events and the store generation counter.

Revision ID: 0001
Revises:
Create Date: 2025-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the types and vocabularies as of this revision: later edits to
# the models must not change what this migration creates.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Time = sa.DateTime(timezone=True)
CATEGORIES = ("victim_submitted", "confirmed_ncii", "synthetic_ncii", "protected_photo",
              "imported", "allowlist")
STATUSES = ("active", "withdrawn", "disputed")


def _one_of(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


_APPEND_ONLY_SQLITE = [
    f"""CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events
        BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"""
    for verb in ("UPDATE", "DELETE")
]
_APPEND_ONLY_POSTGRESQL = [
    """CREATE FUNCTION veil_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$""",
    """CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
       FOR EACH ROW EXECUTE FUNCTION veil_audit_append_only()""",
]


def upgrade() -> None:
    op.create_table(
        "banks",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("policy", Json, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_banks"),
        sa.UniqueConstraint("name", name="uq_banks_name"),
        sa.CheckConstraint(_one_of("category", CATEGORIES), name="ck_banks_category"),
    )
    op.create_table(
        "entries",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("bank_id", BigId, nullable=False),
        sa.Column("signal", sa.String(32), nullable=False),
        sa.Column("value", sa.String(128), nullable=True),
        sa.Column("quality", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("case_ref", sa.String(100), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("updated_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_entries"),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"], name="fk_entries_bank_id_banks"),
        sa.UniqueConstraint("bank_id", "signal", "value", name="uq_entries_bank_id_signal_value"),
        sa.CheckConstraint(_one_of("status", STATUSES), name="ck_entries_status"),
        sa.CheckConstraint("quality IS NULL OR (quality >= 0 AND quality <= 100)",
                           name="ck_entries_quality"),
        sa.CheckConstraint("value IS NOT NULL OR status = 'withdrawn'",
                           name="ck_entries_value_present"),
    )
    op.create_index("ix_entries_signal_status", "entries", ["signal", "status"])
    op.create_table(
        "audit_events",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("at", Time, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("bank", sa.String(64), nullable=True),
        sa.Column("entry_id", BigId, nullable=True),
        sa.Column("detail", Json, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_bank", "audit_events", ["bank"])
    op.create_index("ix_audit_events_entry_id", "audit_events", ["entry_id"])
    state = op.create_table(
        "store_state",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_store_state"),
    )
    op.bulk_insert(state, [{"id": 1, "generation": 0}])

    dialect = op.get_bind().dialect.name
    for sql in {"sqlite": _APPEND_ONLY_SQLITE,
                "postgresql": _APPEND_ONLY_POSTGRESQL}.get(dialect, []):
        op.execute(sql)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS veil_audit_append_only()")
    op.drop_table("store_state")
    op.drop_index("ix_audit_events_entry_id", table_name="audit_events")
    op.drop_index("ix_audit_events_bank", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_index("ix_entries_signal_status", table_name="entries")
    op.drop_table("entries")
    op.drop_table("banks")
