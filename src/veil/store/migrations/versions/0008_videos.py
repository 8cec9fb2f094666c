"""Banked videos: ``videos`` and the frames that link each to its ``vpdq`` entries.

Revision ID: 0008_videos
Revises: 0007_review
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_videos"
down_revision: str | None = "0007_review"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies, as in 0001: later model edits must not change this revision.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "videos",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("bank_id", BigId, nullable=False),
        sa.Column("md5_entry_id", BigId, nullable=True),
        sa.Column("frames", sa.BigInteger(), nullable=False),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("label", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_videos"),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"], name="fk_videos_bank_id_banks"),
        sa.ForeignKeyConstraint(["md5_entry_id"], ["entries.id"],
                                name="fk_videos_md5_entry_id_entries"),
        sa.CheckConstraint("status IN ('active', 'withdrawn')", name="ck_videos_status"),
    )
    op.create_index("ix_videos_bank_id", "videos", ["bank_id"])
    op.create_table(
        "video_frames",
        sa.Column("video_id", BigId, nullable=False),
        sa.Column("frame", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", BigId, nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("video_id", "frame", name="pk_video_frames"),
        sa.ForeignKeyConstraint(["video_id"], ["videos.id"],
                                name="fk_video_frames_video_id_videos"),
        sa.ForeignKeyConstraint(["entry_id"], ["entries.id"],
                                name="fk_video_frames_entry_id_entries"),
    )
    op.create_index("ix_video_frames_entry_id", "video_frames", ["entry_id"])


def downgrade() -> None:
    op.drop_index("ix_video_frames_entry_id", table_name="video_frames")
    op.drop_table("video_frames")
    op.drop_index("ix_videos_bank_id", table_name="videos")
    op.drop_table("videos")
