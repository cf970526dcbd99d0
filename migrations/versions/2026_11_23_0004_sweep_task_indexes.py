"""tasks: indexes for the sweep's task queries (open tasks by account and due date; done
auto-created tasks)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index(
            'ix_tasks_status_account_due', ['status', 'account_id', 'due_at'], unique=False
        )
        batch_op.create_index(
            'ix_tasks_auto_done',
            ['account_id'],
            unique=False,
            postgresql_where=sa.text("status = 'done' AND auto_created IS true"),
            sqlite_where=sa.text("status = 'done' AND auto_created IS 1"),
        )


def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_auto_done')
        batch_op.drop_index('ix_tasks_status_account_due')
