"""The change feed: each entry records the store generation that last changed it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # existing rows get 0: an index built from the store already holds them
    op.add_column("entries", sa.Column("generation", sa.BigInteger(), nullable=False,
                                       server_default="0"))
    op.create_index("ix_entries_signal_generation", "entries", ["signal", "generation"])


def downgrade() -> None:
    op.drop_index("ix_entries_signal_generation", table_name="entries")
    op.drop_column("entries", "generation")
