"""free-text labels hold up to 100 characters: a case's priority ("P1 - Critical (SLA)"), the
status of success plans, objectives, playbooks and playbook tasks, a KPI's unit and an
opportunity's stage were cut at 16 to 64

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 10:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, length before)
LABELS = (
    ("success_plans", "status", 32),
    ("objectives", "status", 32),
    ("kpis", "unit", 32),
    ("playbooks", "status", 32),
    ("playbook_tasks", "status", 32),
    ("cases", "priority", 16),
    ("opportunities", "stage", 64),
)


def _resize(longer: bool) -> None:
    # SQLite keeps any length of text in a VARCHAR column: only PostgreSQL has a limit to change
    # (a longer varchar is a catalog change there, no table rewrite).
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, before in LABELS:
        length = 100 if longer else before
        op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE VARCHAR({length})')


def upgrade() -> None:
    _resize(longer=True)


def downgrade() -> None:
    _resize(longer=False)
