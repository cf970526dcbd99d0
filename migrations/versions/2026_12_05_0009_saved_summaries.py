"""account summaries: saved summaries (every version kept), the AI text cache, and the
summary sections an admin hid (summary_settings)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "summary_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hidden", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("updated_at", bot.db.types.UTCDateTime(), nullable=True),
        sa.Column("updated_by", ID, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_summary_settings")),
    )

    op.create_table(
        "saved_summaries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("saved_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.Column("saved_by", ID, nullable=True),
        sa.Column("period_since", bot.db.types.UTCDateTime(), nullable=True),
        sa.Column("period_until", bot.db.types.UTCDateTime(), nullable=True),
        sa.Column("generator", sa.String(length=8), nullable=False),
        sa.Column("content", sa.JSON(none_as_null=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_saved_summaries_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_summaries")),
        sa.UniqueConstraint("account_id", "version", name=op.f("uq_saved_summaries_account_id")),
    )
    with op.batch_alter_table("saved_summaries", schema=None) as batch_op:
        batch_op.create_index("ix_saved_summaries_saved_at", ["saved_at"], unique=False)

    op.create_table(
        "summary_cache",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("created_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("sections", sa.JSON(none_as_null=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_summary_cache")),
    )
    with op.batch_alter_table("summary_cache", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_summary_cache_account_id"), ["account_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("summary_cache", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_summary_cache_account_id"))
    op.drop_table("summary_cache")
    with op.batch_alter_table("saved_summaries", schema=None) as batch_op:
        batch_op.drop_index("ix_saved_summaries_saved_at")
    op.drop_table("saved_summaries")
    op.drop_table("summary_settings")
