"""delivery_messages: an index on (channel, ts), to find the delivery of a clicked message

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('delivery_messages', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_messages_channel_ts', ['channel', 'ts'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('delivery_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_messages_channel_ts')
