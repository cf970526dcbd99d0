"""one outbox: the daily DM's messages become outbox rows (kind daily_dm, with their delivery
and position); delivery_messages goes

Each delivery_messages row becomes an outbox row keyed ``daily:USER:LOCAL_DATE:POSITION``:
``sent`` with its channel/ts, or ``unknown`` when its post was in flight (ts NULL) — the next
run of that delivery looks it up in the DM by the metadata it was posted with (kept in the
row's payload), as before.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql")
JSON = sa.JSON(none_as_null=True)
AT = bot.db.types.UTCDateTime
LEGACY_MARK = "followup_daily_dm"  # the metadata event type daily DMs were posted with

outbox = sa.table(
    "outbox",
    sa.column("id", sa.Integer),
    sa.column("key", sa.String),
    sa.column("kind", sa.String),
    sa.column("target", sa.String),
    sa.column("payload", JSON),
    sa.column("subject", sa.String),
    sa.column("status", sa.String),
    sa.column("attempts", sa.Integer),
    sa.column("next_attempt_at", AT()),
    sa.column("channel", sa.String),
    sa.column("ts", sa.String),
    sa.column("created_at", AT()),
    sa.column("sent_at", AT()),
    sa.column("delivery_id", sa.Integer),
    sa.column("position", sa.Integer),
)
deliveries = sa.table(
    "deliveries",
    sa.column("id", sa.Integer),
    sa.column("user_id", ID),
    sa.column("local_date", sa.Date),
)
delivery_messages = sa.table(
    "delivery_messages",
    sa.column("delivery_id", sa.Integer),
    sa.column("position", sa.Integer),
    sa.column("channel", sa.String),
    sa.column("ts", sa.String),
    sa.column("posted_at", AT()),
    sa.column("updated_at", AT()),
)


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("position", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_delivery_id_deliveries"), "deliveries", ["delivery_id"], ["id"]
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_outbox_delivery_id"), ["delivery_id", "position"]
        )
        batch_op.create_index("ix_outbox_channel_ts", ["channel", "ts"], unique=False)

    conn = op.get_bind()
    rows = conn.execute(
        sa.select(
            delivery_messages.c.delivery_id,
            delivery_messages.c.position,
            delivery_messages.c.channel,
            delivery_messages.c.ts,
            delivery_messages.c.posted_at,
            deliveries.c.user_id,
            deliveries.c.local_date,
        )
        .join(deliveries, deliveries.c.id == delivery_messages.c.delivery_id)
        .order_by(delivery_messages.c.delivery_id, delivery_messages.c.position)
    ).all()
    values = [
        {
            "key": f"daily:{r.user_id}:{r.local_date.isoformat()}:{r.position}",
            "kind": "daily_dm",
            "target": r.user_id,
            "payload": {
                "metadata": {
                    "event_type": LEGACY_MARK,
                    "event_payload": {"delivery": r.delivery_id, "position": r.position},
                }
            },
            "subject": f"delivery:{r.delivery_id}",
            "status": "sent" if r.ts else "unknown",
            "attempts": 1,
            "next_attempt_at": r.posted_at,
            "channel": r.channel if r.ts else None,
            "ts": r.ts,
            "created_at": r.posted_at,
            "sent_at": r.posted_at if r.ts else None,
            "delivery_id": r.delivery_id,
            "position": r.position,
        }
        for r in rows
    ]
    if values:
        conn.execute(sa.insert(outbox), values)

    with op.batch_alter_table("delivery_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_messages_channel_ts")
    op.drop_table("delivery_messages")


def downgrade() -> None:
    op.create_table(
        "delivery_messages",
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("posted_at", AT(), nullable=False),
        sa.Column("updated_at", AT(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_delivery_messages_delivery_id_deliveries"),
        ),
        sa.PrimaryKeyConstraint("delivery_id", "position", name=op.f("pk_delivery_messages")),
    )
    with op.batch_alter_table("delivery_messages", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_messages_channel_ts", ["channel", "ts"], unique=False)

    conn = op.get_bind()
    rows = conn.execute(
        sa.select(
            outbox.c.delivery_id,
            outbox.c.position,
            outbox.c.status,
            outbox.c.channel,
            outbox.c.ts,
            outbox.c.created_at,
        ).where(
            outbox.c.delivery_id.is_not(None),
            outbox.c.position.is_not(None),
            outbox.c.status.in_(("sent", "claimed", "unknown")),
        )
    ).all()
    values = [
        {
            "delivery_id": r.delivery_id,
            "position": r.position,
            "channel": r.channel if r.status == "sent" else None,
            "ts": r.ts if r.status == "sent" else None,
            "posted_at": r.created_at,
            "updated_at": None,
        }
        for r in rows
    ]
    if values:
        conn.execute(sa.insert(delivery_messages), values)
    conn.execute(sa.delete(outbox).where(outbox.c.kind == "daily_dm"))

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_channel_ts")
        batch_op.drop_constraint(batch_op.f("uq_outbox_delivery_id"), type_="unique")
        batch_op.drop_constraint(
            batch_op.f("fk_outbox_delivery_id_deliveries"), type_="foreignkey"
        )
        batch_op.drop_column("position")
        batch_op.drop_column("delivery_id")
