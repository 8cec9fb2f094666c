"""Hash exchange: partners of the hub, their feedback, withdrawal tombstones, the
exchanges this node pulls from, records they sent that were refused, and a case's
consent to sharing.

Revision ID: 0009_exchange
Revises: 0008_videos
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009_exchange"
down_revision: str | None = "0008_videos"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies, as in 0001: later model edits must not change this revision.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    # a plain ADD COLUMN: a batch copy would drop ``cases`` under its foreign keys
    op.add_column("cases", sa.Column("shared", sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    # the hub's feed: "entries of these banks changed since T", in (time, id) order
    op.create_index("ix_entries_bank_id_updated_at_id", "entries",
                    ["bank_id", "updated_at", "id"])
    op.create_table(
        "exchange_partners",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("key_id", BigId, nullable=False),
        sa.Column("fetch_banks", Json, nullable=False),
        sa.Column("submit_bank_id", BigId, nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_exchange_partners"),
        sa.ForeignKeyConstraint(["key_id"], ["api_keys.id"],
                                name="fk_exchange_partners_key_id_api_keys"),
        sa.ForeignKeyConstraint(["submit_bank_id"], ["banks.id"],
                                name="fk_exchange_partners_submit_bank_id_banks"),
        sa.UniqueConstraint("key_id", name="uq_exchange_partners_key_id"),
    )
    op.create_table(
        "partner_feedback",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("entry_id", BigId, nullable=False),
        sa.Column("partner", sa.String(100), nullable=False),
        sa.Column("value", sa.String(32), nullable=False),
        sa.Column("tags", Json, nullable=False),
        sa.Column("at", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_partner_feedback"),
        sa.ForeignKeyConstraint(["entry_id"], ["entries.id"],
                                name="fk_partner_feedback_entry_id_entries"),
        sa.UniqueConstraint("entry_id", "partner", name="uq_partner_feedback_entry_id_partner"),
    )
    op.create_table(
        "exchange_tombstones",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("bank_id", BigId, nullable=False),
        sa.Column("signal", sa.String(32), nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("at", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_exchange_tombstones"),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"],
                                name="fk_exchange_tombstones_bank_id_banks"),
    )
    op.create_index("ix_exchange_tombstones_bank_id_at_id", "exchange_tombstones",
                    ["bank_id", "at", "id"])
    op.create_table(
        "exchanges",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("bank_id", BigId, nullable=False),
        sa.Column("credentials", sa.String(300), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("checkpoint", Json, nullable=True),
        sa.Column("last_fetch_at", Time, nullable=True),
        sa.Column("last_success_at", Time, nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("counts", Json, nullable=False),
        sa.Column("lease_holder", sa.String(100), nullable=True),
        sa.Column("lease_until", Time, nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_exchanges"),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"], name="fk_exchanges_bank_id_banks"),
        sa.UniqueConstraint("name", name="uq_exchanges_name"),
        sa.CheckConstraint("kind IN ('stopncii', 'veil', 'hma')", name="ck_exchanges_kind"),
    )
    op.create_table(
        "exchange_rejects",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("exchange_id", BigId, nullable=False),
        sa.Column("at", Time, nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_exchange_rejects"),
        sa.ForeignKeyConstraint(["exchange_id"], ["exchanges.id"],
                                name="fk_exchange_rejects_exchange_id_exchanges"),
    )
    op.create_index("ix_exchange_rejects_exchange_id", "exchange_rejects", ["exchange_id"])


def downgrade() -> None:
    op.drop_index("ix_exchange_rejects_exchange_id", table_name="exchange_rejects")
    op.drop_table("exchange_rejects")
    op.drop_table("exchanges")
    op.drop_index("ix_exchange_tombstones_bank_id_at_id", table_name="exchange_tombstones")
    op.drop_table("exchange_tombstones")
    op.drop_table("partner_feedback")
    op.drop_table("exchange_partners")
    op.drop_index("ix_entries_bank_id_updated_at_id", table_name="entries")
    op.drop_column("cases", "shared")
