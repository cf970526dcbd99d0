"""sweep_runs.whole: the sweeps that vouch for the whole stored queue (a full sweep, or an
incremental one, which shows every card it leaves alone to be unchanged) — the queue is "as of"
the latest of them, instead of every stored card being stamped by each incremental sweep; and
two indexes on account_sweep_state, so that finding the accounts due for an incremental sweep
reads only them (the changed ones, from a partial index; those swept at another time); and
an index on accounts.status, to count the accounts in scope without reading them all

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Earlier runs are not known to be whole: the stored cards' own as_of stand for them.
    with op.batch_alter_table("sweep_runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("whole", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index("ix_sweep_runs_whole_as_of", ["whole", "as_of"], unique=False)
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index("ix_accounts_status", ["status"], unique=False)
    with op.batch_alter_table("account_sweep_state", schema=None) as batch_op:
        batch_op.create_index(
            "ix_account_sweep_state_changed",
            ["account_id"],
            unique=False,
            postgresql_where=sa.text("changes <> swept_changes"),
            sqlite_where=sa.text("changes <> swept_changes"),
        )
        batch_op.create_index("ix_account_sweep_state_swept_at", ["swept_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("account_sweep_state", schema=None) as batch_op:
        batch_op.drop_index("ix_account_sweep_state_swept_at")
        batch_op.drop_index("ix_account_sweep_state_changed")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_accounts_status")
    with op.batch_alter_table("sweep_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_sweep_runs_whole_as_of")
        batch_op.drop_column("whole")
