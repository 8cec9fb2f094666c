"""The service's tables: API keys, victims' cases and their signals, match counters.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies, as in 0001: later model edits must not change this revision.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("scopes", Json, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("revoked_at", Time, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attestation", Json, nullable=False),
        sa.Column("submitted_by", sa.String(200), nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("updated_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        sa.UniqueConstraint("token_hash", name="uq_cases_token_hash"),
        sa.CheckConstraint("status IN ('open', 'withdrawn')", name="ck_cases_status"),
    )
    op.create_table(
        "case_signals",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("entry_id", BigId, nullable=False),
        sa.Column("signal", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("withdrawn_at", Time, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_case_signals"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_signals_case_id_cases"),
        sa.ForeignKeyConstraint(["entry_id"], ["entries.id"],
                                name="fk_case_signals_entry_id_entries"),
        sa.UniqueConstraint("case_id", "n", name="uq_case_signals_case_id_n"),
        sa.CheckConstraint("status IN ('active', 'withdrawn')", name="ck_case_signals_status"),
    )
    op.create_index("ix_case_signals_entry_id", "case_signals", ["entry_id"])
    op.create_table(
        "entry_matches",
        sa.Column("entry_id", BigId, nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("last_matched_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("entry_id", name="pk_entry_matches"),
        sa.ForeignKeyConstraint(["entry_id"], ["entries.id"],
                                name="fk_entry_matches_entry_id_entries"),
    )


def downgrade() -> None:
    op.drop_table("entry_matches")
    op.drop_index("ix_case_signals_entry_id", table_name="case_signals")
    op.drop_table("case_signals")
    op.drop_table("cases")
    op.drop_table("api_keys")
