"""alerts: a partial index of the alerts that may still escalate (open, critical, still firing,
not escalated), by when they became critical, for the escalation scan

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHERE = "state = 'open' AND severity = 'critical' AND escalated_at IS NULL AND cleared_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        where = sa.text(WHERE)
        batch_op.create_index(
            "ix_alerts_escalation_due",
            ["first_critical_at", "signal"],
            unique=False,
            postgresql_where=where,
            sqlite_where=where,
        )


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_escalation_due")
