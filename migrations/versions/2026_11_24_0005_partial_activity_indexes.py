"""activities: the meeting and request indexes hold only the rows that name one

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (('ix_activities_meeting', 'meeting_id'), ('ix_activities_request', 'request_id'))


def upgrade() -> None:
    with op.batch_alter_table('activities', schema=None) as batch_op:
        for name, column in INDEXES:
            batch_op.drop_index(name)
            where = sa.text(f'{column} IS NOT NULL')
            batch_op.create_index(
                name, [column], unique=False, postgresql_where=where, sqlite_where=where
            )


def downgrade() -> None:
    with op.batch_alter_table('activities', schema=None) as batch_op:
        for name, column in INDEXES:
            batch_op.drop_index(name)
            batch_op.create_index(name, [column], unique=False)
