"""one outbox for every outgoing message (outbox), executed actions (action_runs) and what
they leave behind (sequence_memberships, discount_requests, health_score_updates); the org's
specialists channel

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql")
JSON = sa.JSON(none_as_null=True)
AT = bot.db.types.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("orgs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("specialists_channel", sa.String(length=32), nullable=True))

    op.create_table(
        "action_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("owner_id", ID, nullable=True),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.Column("decided_by", ID, nullable=True),
        sa.Column("created_at", AT(), nullable=False),
        sa.Column("executed_at", AT(), nullable=True),
        sa.Column("result", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_action_runs_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_runs")),
        sa.UniqueConstraint("key", name=op.f("uq_action_runs_key")),
    )
    with op.batch_alter_table("action_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_action_runs_account_action", ["account_id", "action"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_action_runs_status"), ["status"], unique=False)

    op.create_table(
        "sequence_memberships",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("sequence", sa.String(length=40), nullable=False),
        sa.Column("added_at", AT(), nullable=False),
        sa.Column("action_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_sequence_memberships_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["action_run_id"],
            ["action_runs.id"],
            name=op.f("fk_sequence_memberships_action_run_id_action_runs"),
        ),
        sa.PrimaryKeyConstraint("account_id", "sequence", name=op.f("pk_sequence_memberships")),
    )

    op.create_table(
        "discount_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("action_run_id", sa.Integer(), nullable=True),
        sa.Column("requested_for", ID, nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("task_id", ID, nullable=True),
        sa.Column("created_at", AT(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_discount_requests_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["action_run_id"],
            ["action_runs.id"],
            name=op.f("fk_discount_requests_action_run_id_action_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discount_requests")),
    )
    with op.batch_alter_table("discount_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_discount_requests_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "health_score_updates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("action_run_id", sa.Integer(), nullable=True),
        sa.Column("at", AT(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("previous", sa.Float(), nullable=True),
        sa.Column("factors", JSON, nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_health_score_updates_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["action_run_id"],
            ["action_runs.id"],
            name=op.f("fk_health_score_updates_action_run_id_action_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_score_updates")),
    )
    with op.batch_alter_table("health_score_updates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_health_score_updates_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=2000), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", AT(), nullable=False),
        sa.Column("lease_token", sa.String(length=36), nullable=True),
        sa.Column("lease_until", AT(), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", AT(), nullable=False),
        sa.Column("sent_at", AT(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("key", name=op.f("uq_outbox_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_status_next_attempt_at")
    op.drop_table("outbox")
    with op.batch_alter_table("health_score_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_health_score_updates_account_id"))
    op.drop_table("health_score_updates")
    with op.batch_alter_table("discount_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_discount_requests_account_id"))
    op.drop_table("discount_requests")
    op.drop_table("sequence_memberships")
    with op.batch_alter_table("action_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_runs_status"))
        batch_op.drop_index("ix_action_runs_account_action")
    op.drop_table("action_runs")
    with op.batch_alter_table("orgs", schema=None) as batch_op:
        batch_op.drop_column("specialists_channel")
