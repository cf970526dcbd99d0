"""ids compare byte by byte on PostgreSQL (collation "C"): cheaper key lookups, foreign key
checks and index builds than the database locale's collation

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 07:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# every id column (String(64) ids and references to them), by table
ID_COLUMNS = {
    "orgs": ("fallback_csm_id",),
    "teams": ("id", "manager_id"),
    "users": ("id", "team_id", "manager_id"),
    "accounts": ("id", "csm_id", "csm_pulse_set_by"),
    "contacts": ("id", "account_id"),
    "health_scores": ("account_id",),
    "activities": (
        "id",
        "account_id",
        "user_id",
        "contact_id",
        "meeting_id",
        "request_id",
        "success_plan_id",
        "objective_id",
        "kpi_id",
        "playbook_task_id",
    ),
    "meetings": ("id", "account_id"),
    "tasks": ("id", "account_id", "assignee_id", "request_id"),
    "requests": ("id",),
    "request_accounts": ("request_id", "account_id"),
    "product_events": ("account_id", "contact_id"),
    "success_plans": ("id", "account_id"),
    "objectives": ("id", "success_plan_id"),
    "kpis": ("id", "objective_id"),
    "business_challenges": ("id", "account_id", "success_plan_id"),
    "playbooks": ("id", "account_id"),
    "playbook_tasks": ("id", "playbook_id"),
    "cases": ("id", "account_id"),
    "opportunities": ("id", "account_id"),
    "projects": ("id", "account_id"),
    "account_rollups": (
        "account_id",
        "last_touch_activity_id",
        "last_meeting_activity_id",
        "last_outbound_call_id",
    ),
    "email_threads": ("account_id", "last_activity_id", "contact_id"),
    "exclusions": ("account_id", "created_by"),
    "alerts": ("account_id", "state_changed_by"),
    "deliveries": ("user_id",),
}


def _collate(collation: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite compares text byte by byte already
    for table, columns in ID_COLUMNS.items():
        changes = ", ".join(
            f'ALTER COLUMN "{column}" TYPE VARCHAR(64) COLLATE "{collation}"' for column in columns
        )
        op.execute(f'ALTER TABLE "{table}" {changes}')


def upgrade() -> None:
    _collate("C")


def downgrade() -> None:
    _collate("default")
