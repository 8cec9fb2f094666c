"""The store's identity: a random id an index snapshot records beside its generation,
so a snapshot behind the store is caught up through the change feed only when it was
written from this very store (docs/architecture.md, "Index snapshots").

Revision ID: 0011_store_identity
Revises: 0010_regions
Create Date: 2026-12-07
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_store_identity"
down_revision: str | None = "0010_regions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("store_state") as batch:
        batch.add_column(sa.Column("identity", sa.String(32), nullable=True))
    op.execute(sa.text("UPDATE store_state SET identity = :identity").bindparams(
        identity=uuid.uuid4().hex))
    with op.batch_alter_table("store_state") as batch:
        batch.alter_column("identity", existing_type=sa.String(32), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("store_state") as batch:
        batch.drop_column("identity")
