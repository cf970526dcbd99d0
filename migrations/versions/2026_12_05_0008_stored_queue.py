"""the stored queue: each flagged account's card as the last recording sweep computed it
(queue_cards), and each daily DM's list of cards (delivery_cards, deliveries.list_as_of,
sensitivity, more)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql")
JSON = sa.JSON(none_as_null=True)


def upgrade() -> None:
    op.create_table(
        "queue_cards",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("owner_id", ID, nullable=True),
        sa.Column("lane", sa.String(length=24), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("action_score", sa.Float(), nullable=False),
        sa.Column("as_of", bot.db.types.UTCDateTime(), nullable=False),
        sa.Column("card", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_queue_cards_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_queue_cards")),
    )
    with op.batch_alter_table("queue_cards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_queue_cards_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "delivery_cards",
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("card", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_delivery_cards_delivery_id_deliveries"),
        ),
        sa.PrimaryKeyConstraint("delivery_id", "position", name=op.f("pk_delivery_cards")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("list_as_of", bot.db.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("sensitivity", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("more", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("more")
        batch_op.drop_column("sensitivity")
        batch_op.drop_column("list_as_of")
    op.drop_table("delivery_cards")
    with op.batch_alter_table("queue_cards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_queue_cards_owner_id"))
    op.drop_table("queue_cards")
