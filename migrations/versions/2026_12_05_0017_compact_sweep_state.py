"""account_sweep_state: smaller rows and indexes — an incremental sweep rewrites a row of every
account it evaluates, and the pages it writes cost more than anything else it does there

``swept_at`` and its index go (a sweep at an earlier time than the last one now finds every
account due, and a row never swept is due by its change counter); on SQLite ``next_check_at``
is stored as integer microseconds since the epoch instead of a 26-character text.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLAlchemy writes SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC here).
TEXT_TO_MICROS = (
    "CAST(strftime('%s', substr(next_check_at, 1, 19)) AS INTEGER) * 1000000"
    " + CAST(substr(next_check_at, 21, 6) AS INTEGER)"
)
MICROS_TO_TEXT = (
    "strftime('%Y-%m-%d %H:%M:%S', next_check_us / 1000000, 'unixepoch')"
    " || '.' || substr('000000' || (next_check_us % 1000000), -6)"
)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("account_sweep_state", schema=None) as batch_op:
        batch_op.drop_index("ix_account_sweep_state_swept_at")
        batch_op.drop_column("swept_at")
        if sqlite:
            batch_op.add_column(sa.Column("next_check_us", sa.BigInteger(), nullable=True))
    if not sqlite:
        return
    op.execute(f"UPDATE account_sweep_state SET next_check_us = {TEXT_TO_MICROS}")
    op.drop_index("ix_account_sweep_state_next_check_at", table_name="account_sweep_state")
    with op.batch_alter_table("account_sweep_state", schema=None) as batch_op:
        batch_op.drop_column("next_check_at")
        batch_op.alter_column("next_check_us", new_column_name="next_check_at")
    op.create_index(
        "ix_account_sweep_state_next_check_at", "account_sweep_state", ["next_check_at"]
    )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.drop_index("ix_account_sweep_state_next_check_at", table_name="account_sweep_state")
        with op.batch_alter_table("account_sweep_state", schema=None) as batch_op:
            batch_op.alter_column("next_check_at", new_column_name="next_check_us")
        with op.batch_alter_table("account_sweep_state", schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("next_check_at", bot.db.types.UTCDateTime(), nullable=True)
            )
        op.execute(f"UPDATE account_sweep_state SET next_check_at = {MICROS_TO_TEXT}")
        with op.batch_alter_table("account_sweep_state", schema=None) as batch_op:
            batch_op.drop_column("next_check_us")
        op.create_index(
            "ix_account_sweep_state_next_check_at", "account_sweep_state", ["next_check_at"]
        )
    # Rows without ``swept_at`` read as never swept: the next incremental sweep is a full one.
    with op.batch_alter_table("account_sweep_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("swept_at", bot.db.types.UTCDateTime(), nullable=True))
        batch_op.create_index("ix_account_sweep_state_swept_at", ["swept_at"], unique=False)
