"""Entry holders (who may erase an entry) and each case signal's own match count.

Before this revision a case that submitted a hash the victims bank already held
(from an import, ``veil bank add``, or another case) was linked to that entry and
could erase it by withdrawing, and saw the entry's whole match count. Now:

* ``entry_holders``: one row per holder of an entry, a case (``case:<id>``) or a
  non-case source (``import``, ``add``); a case's withdrawal releases its own row
  and erases the hash only when no row is left.
* ``case_signals.matched`` / ``last_matched_at``: matches counted for that signal
  since it was submitted, while active.

Holders are kept only in victim_submitted banks, the only ones a case reaches
(elsewhere only an admin withdraws, and an import of millions of rows would pay for
rows nothing reads).

Existing rows: an entry intake created is held by the cases whose signals still hold
it (actively); every other live entry of a victims bank by its source (``add`` if
the audit log has its ``entry.add``, else ``import``), and also by the cases that
linked to it. A live intake entry no case holds any more keeps a source hold, so it
stays as it was.
A signal whose case created the entry takes the entry's count (every match of the
entry came after that submission); a signal linked to an older entry starts at 0.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies, as in 0001: later model edits must not change this revision.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.DateTime(timezone=True)

_CASE_HOLDS = """
INSERT INTO entry_holders (entry_id, holder, case_id, created_at)
SELECT cs.entry_id, 'case:' || cs.case_id, cs.case_id, MIN(cs.created_at)
FROM case_signals cs JOIN entries e ON e.id = cs.entry_id
WHERE cs.status = 'active' AND e.value IS NOT NULL
GROUP BY cs.entry_id, cs.case_id
"""

# Every live entry of a victims bank (the only banks cases reach, and so the only ones
# that keep holders) that is not an intake entry some case still holds: held by the
# source that put it there. (No comparison here may be NULL: NOT NULL would drop the
# row, and an entry added by hand has neither source nor case_ref.)
_SOURCE_HOLDS = """
INSERT INTO entry_holders (entry_id, holder, case_id, created_at)
SELECT e.id,
       CASE WHEN EXISTS (SELECT 1 FROM audit_events a
                         WHERE a.entry_id = e.id AND a.action = 'entry.add')
            THEN 'add' ELSE 'import' END,
       NULL, e.created_at
FROM entries e
WHERE e.value IS NOT NULL
  AND e.bank_id IN (SELECT id FROM banks WHERE category = 'victim_submitted')
  AND NOT (COALESCE(e.source, '') = 'intake'
           AND EXISTS (SELECT 1 FROM cases c WHERE c.id = e.case_ref)
           AND EXISTS (SELECT 1 FROM entry_holders h WHERE h.entry_id = e.id))
"""

# The creating case's signals: the entry's count is theirs (it matched only after).
_CREATOR_COUNTS = """
UPDATE case_signals
SET matched = (SELECT m.count FROM entry_matches m WHERE m.entry_id = case_signals.entry_id),
    last_matched_at = (SELECT m.last_matched_at FROM entry_matches m
                       WHERE m.entry_id = case_signals.entry_id)
WHERE EXISTS (SELECT 1 FROM entries e JOIN entry_matches m ON m.entry_id = e.id
              WHERE e.id = case_signals.entry_id AND e.source = 'intake'
                AND e.case_ref = case_signals.case_id)
"""


def upgrade() -> None:
    op.create_table(
        "entry_holders",
        sa.Column("entry_id", BigId, nullable=False),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(36), nullable=True),
        sa.Column("created_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("entry_id", "holder", name="pk_entry_holders"),
        sa.ForeignKeyConstraint(["entry_id"], ["entries.id"],
                                name="fk_entry_holders_entry_id_entries"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name="fk_entry_holders_case_id_cases"),
        sa.CheckConstraint("(case_id IS NULL AND holder NOT LIKE 'case:%') OR "
                           "(case_id IS NOT NULL AND holder = 'case:' || case_id)",
                           name="ck_entry_holders_holder_kind"),
    )
    op.create_index("ix_entry_holders_case_id", "entry_holders", ["case_id"])
    op.add_column("case_signals", sa.Column("matched", sa.BigInteger(), nullable=False,
                                            server_default="0"))
    op.add_column("case_signals", sa.Column("last_matched_at", Time, nullable=True))
    op.execute(_CASE_HOLDS)
    op.execute(_SOURCE_HOLDS)
    op.execute(_CREATOR_COUNTS)


def downgrade() -> None:
    op.drop_column("case_signals", "last_matched_at")
    op.drop_column("case_signals", "matched")
    op.drop_index("ix_entry_holders_case_id", table_name="entry_holders")
    op.drop_table("entry_holders")
