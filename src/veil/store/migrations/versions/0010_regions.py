"""Region signals of banked photos (docs/derived.md): one sealed blob per ``pdq``
entry, deleted by a trigger when that entry's hash is erased.

Revision ID: 0010_regions
Revises: 0009_exchange
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_regions"
down_revision: str | None = "0009_exchange"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies, as in 0001: later model edits must not change this revision.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.DateTime(timezone=True)

# A withdrawal erases the entry's value, through the ORM or a bulk UPDATE (an
# exchange's withdrawals): the photo's region signal must go with it, whichever.
_ERASE_SQLITE = [
    """CREATE TRIGGER region_signals_erased AFTER UPDATE OF value ON entries
       WHEN NEW.value IS NULL
       BEGIN DELETE FROM region_signals WHERE entry_id = NEW.id; END""",
]
_ERASE_POSTGRESQL = [
    """CREATE FUNCTION veil_region_signals_erased() RETURNS trigger AS $$
       BEGIN DELETE FROM region_signals WHERE entry_id = NEW.id; RETURN NULL; END;
       $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER region_signals_erased AFTER UPDATE OF value ON entries
       FOR EACH ROW WHEN (NEW.value IS NULL)
       EXECUTE FUNCTION veil_region_signals_erased()""",
]


def upgrade() -> None:
    op.create_table(
        "region_signals",
        sa.Column("entry_id", BigId, nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("entry_id", name="pk_region_signals"),
        sa.ForeignKeyConstraint(["entry_id"], ["entries.id"], ondelete="CASCADE",
                                name="fk_region_signals_entry_id_entries"),
    )
    dialect = op.get_bind().dialect.name
    for sql in {"sqlite": _ERASE_SQLITE, "postgresql": _ERASE_POSTGRESQL}.get(dialect, []):
        op.execute(sql)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS region_signals_erased ON entries")
        op.execute("DROP FUNCTION IF EXISTS veil_region_signals_erased()")
    else:
        op.execute("DROP TRIGGER IF EXISTS region_signals_erased")
    op.drop_table("region_signals")
