"""Webhooks: subscriptions (a receiver's URL and sealed secret, following one platform
key or one bank) and the outbox of deliveries (pending, delivered, dead letters).

Revision ID: 0005_webhooks
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_webhooks"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies, as in 0001: later model edits must not change this revision.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("target", sa.String(8), nullable=False),
        sa.Column("key_id", BigId, nullable=True),
        sa.Column("bank_id", BigId, nullable=True),
        sa.Column("secret_sealed", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_subscriptions"),
        sa.UniqueConstraint("name", name="uq_webhook_subscriptions_name"),
        sa.ForeignKeyConstraint(["key_id"], ["api_keys.id"],
                                name="fk_webhook_subscriptions_key_id_api_keys"),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"],
                                name="fk_webhook_subscriptions_bank_id_banks"),
        sa.CheckConstraint("target IN ('key', 'bank')", name="ck_webhook_subscriptions_target"),
        sa.CheckConstraint("(target = 'key' AND key_id IS NOT NULL AND bank_id IS NULL) OR "
                           "(target = 'bank' AND bank_id IS NOT NULL AND key_id IS NULL)",
                           name="ck_webhook_subscriptions_one_target"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("delivery_id", sa.String(36), nullable=False),
        sa.Column("subscription_id", BigId, nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", Time, nullable=False),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("finished_at", Time, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.UniqueConstraint("delivery_id", name="uq_webhook_deliveries_delivery_id"),
        sa.ForeignKeyConstraint(["subscription_id"], ["webhook_subscriptions.id"],
                                name="fk_webhook_deliveries_subscription_id_webhook_subscriptions"),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'dead')",
                           name="ck_webhook_deliveries_status"),
    )
    op.create_index("ix_webhook_deliveries_status_next_at", "webhook_deliveries",
                    ["status", "next_at"])
    op.create_index("ix_webhook_deliveries_subscription_id_subject_status",
                    "webhook_deliveries", ["subscription_id", "subject", "status"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_subscription_id_subject_status",
                  table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_status_next_at", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_subscriptions")
