"""Review items: uploads kept (sealed) for a person to decide, until a deadline.

* ``review_items``: why an upload is under review, by when to act, what was decided;
  kept after its media is purged.
* ``review_media``: the AEAD-sealed bytes, one row per item, deleted by the purge.

Revision ID: 0007_review
Revises: 0006_policy
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0007_review"
down_revision: str | None = "0006_policy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies, as in 0001: later model edits must not change this revision.
Time = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "review_items",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("platform", sa.String(200), nullable=False),
        sa.Column("verdict", Json, nullable=False),
        sa.Column("signals", Json, nullable=False),
        sa.Column("subjects", Json, nullable=False),
        sa.Column("region", Json, nullable=True),
        sa.Column("report_reason", sa.String(200), nullable=True),
        sa.Column("report_notes", sa.Text(), nullable=True),
        sa.Column("media_type", sa.String(64), nullable=False),
        sa.Column("media_bytes", sa.BigInteger(), nullable=False),
        sa.Column("act_by", Time, nullable=False),
        sa.Column("retain_until", Time, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decisions", Json, nullable=False),
        sa.Column("purged_at", Time, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_items")),
        sa.CheckConstraint("source IN ('scan', 'review_request', 'report')",
                           name=op.f("ck_review_items_source")),
        sa.CheckConstraint("status IN ('open', 'second_review', 'decided', 'purged')",
                           name=op.f("ck_review_items_status")),
    )
    op.create_index(op.f("ix_review_items_status_act_by"), "review_items",
                    ["status", "act_by"])
    op.create_index(op.f("ix_review_items_retain_until"), "review_items", ["retain_until"])
    op.create_table(
        "review_media",
        sa.Column("item_id", sa.String(36), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["review_items.id"],
                                name=op.f("fk_review_media_item_id_review_items")),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_review_media")),
    )


def downgrade() -> None:
    op.drop_table("review_media")
    op.drop_index(op.f("ix_review_items_retain_until"), table_name="review_items")
    op.drop_index(op.f("ix_review_items_status_act_by"), table_name="review_items")
    op.drop_table("review_items")
