"""the incremental sweep: per account, when it was last swept, the earliest time its card can
next change with time alone, and a counter of data changes since (account_sweep_state)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "account_sweep_state",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("swept_at", bot.db.types.UTCDateTime(), nullable=True),
        sa.Column("next_check_at", bot.db.types.UTCDateTime(), nullable=True),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("swept_changes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_sweep_state_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_sweep_state")),
    )
    with op.batch_alter_table("account_sweep_state", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_account_sweep_state_next_check_at"), ["next_check_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("account_sweep_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_sweep_state_next_check_at"))
    op.drop_table("account_sweep_state")
