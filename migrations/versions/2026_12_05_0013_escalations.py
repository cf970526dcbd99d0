"""escalations (one per escalated alert: where it went, its acknowledgement, its reminder, a
reassignment), alerts.wake_told_at (snooze wake-up DMs) and the index of the escalation scan

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql")
JSON = sa.JSON(none_as_null=True)
AT = bot.db.types.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wake_told_at", AT(), nullable=True))
        batch_op.create_index(
            "ix_alerts_state_severity_escalated",
            ["state", "severity", "escalated_at"],
            unique=False,
        )
    # Snoozes that ended before this version are not news: nobody is told about them now.
    op.execute(
        "UPDATE alerts SET wake_told_at = snooze_until "
        "WHERE state = 'open' AND snooze_until IS NOT NULL"
    )

    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("csm_id", ID, nullable=True),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("recipients", JSON, nullable=False),
        sa.Column("messages", JSON, nullable=False),
        sa.Column("card", JSON, nullable=False),
        sa.Column("created_at", AT(), nullable=False),
        sa.Column("acknowledged_by", ID, nullable=True),
        sa.Column("acknowledged_at", AT(), nullable=True),
        sa.Column("reminded_at", AT(), nullable=True),
        sa.Column("reassigned_to", ID, nullable=True),
        sa.Column("reassigned_by", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_escalations_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_escalations_alert_id_alerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
        sa.UniqueConstraint("alert_id", name=op.f("uq_escalations_alert_id")),
    )
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_escalations_account_id"), ["account_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalations_account_id"))
    op.drop_table("escalations")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_state_severity_escalated")
        batch_op.drop_column("wake_told_at")
