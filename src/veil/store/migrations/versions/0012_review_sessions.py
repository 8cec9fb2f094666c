"""Reviewer page sessions in the store, so that every worker of a node and every node
on one database knows a reviewer's log-in (docs/review.md, docs/deploy.md). Only the
SHA-256 of each cookie's value is stored.

Revision ID: 0012_review_sessions
Revises: 0011_store_identity
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012_review_sessions"
down_revision: str | None = "0011_store_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies, as in 0001: later model edits must not change this revision.
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "review_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("seen_at", Time, nullable=False),
        sa.Column("current_item", sa.String(36), nullable=True),
        sa.Column("last_subjects", Json, nullable=False),
        sa.Column("skipped", Json, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_sessions"),
    )
    op.create_index("ix_review_sessions_key_hash", "review_sessions", ["key_hash"])
    op.create_index("ix_review_sessions_seen_at", "review_sessions", ["seen_at"])


def downgrade() -> None:
    op.drop_index("ix_review_sessions_seen_at", table_name="review_sessions")
    op.drop_index("ix_review_sessions_key_hash", table_name="review_sessions")
    op.drop_table("review_sessions")
