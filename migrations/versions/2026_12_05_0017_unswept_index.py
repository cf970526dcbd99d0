"""account_sweep_state: a partial index of the rows never swept, instead of an index of every
row's ``swept_at`` (which each incremental sweep rewrote for every account it re-evaluated,
about a fifth of the pages it wrote)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("account_sweep_state", schema=None) as batch_op:
        batch_op.drop_index("ix_account_sweep_state_swept_at")
        batch_op.create_index(
            "ix_account_sweep_state_unswept",
            ["account_id"],
            unique=False,
            postgresql_where=sa.text("swept_at IS NULL"),
            sqlite_where=sa.text("swept_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("account_sweep_state", schema=None) as batch_op:
        batch_op.drop_index("ix_account_sweep_state_unswept")
        batch_op.create_index("ix_account_sweep_state_swept_at", ["swept_at"], unique=False)
