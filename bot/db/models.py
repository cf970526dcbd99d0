"""SQLAlchemy 2 typed models.

Three families of tables:

* the portfolio as imported (data-format.md): org, teams, users, accounts, contacts, health
  scores, activities, meetings, tasks, requests, product events and the account-summary
  hierarchy;
* rollups kept current by the importer so the sweep never scans the activity table:
  ``account_rollups`` (latest touch, call, email, note and health per account),
  ``email_threads`` (latest message per thread) and ``requests.last_activity_at``;
* what the bot remembers: alerts and their lifecycle, exclusions, sweep runs and an audit log.

Instants are stored as naive UTC (``UTCDateTime``) and come back timezone-aware.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.db.types import CompactUTCDateTime, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Ids are opaque keys: on PostgreSQL they compare byte by byte (collation "C", as on SQLite
# and in Python) rather than by the database's locale, which makes every key lookup, foreign
# key check and index build cheaper (sorting them can use abbreviated keys).
Id = String(64).with_variant(String(64, collation="C"), "postgresql")
# A free-text label the format gives no list of values for (a case's priority, a plan's
# status, a KPI's unit, an opportunity's stage).
LABEL = 100
# JSON columns store Python None as SQL NULL (not the JSON literal null).
Json = JSON(none_as_null=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: Json,
        list[Any]: Json,
    }


# --------------------------------------------------------------------------- portfolio


class Org(Base):
    """The one org of this database (data-format.md `org`)."""

    __tablename__ = "orgs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    business_hours: Mapped[dict[str, Any] | None] = mapped_column(Json)
    automation_level: Mapped[str] = mapped_column(String(16), default="assisted")
    approvals_channel: Mapped[str | None] = mapped_column(String(32))
    escalation_channel: Mapped[str | None] = mapped_column(String(32))
    specialists_channel: Mapped[str | None] = mapped_column(String(32))
    fallback_csm_id: Mapped[str | None] = mapped_column(Id)
    digest: Mapped[dict[str, Any] | None] = mapped_column(Json)
    rules: Mapped[dict[str, Any] | None] = mapped_column(Json)
    reference_time: Mapped[datetime | None]


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    manager_id: Mapped[str | None] = mapped_column(Id)
    rules: Mapped[dict[str, Any] | None] = mapped_column(Json)


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    slack_user_id: Mapped[str | None] = mapped_column(String(32), index=True)
    role: Mapped[str] = mapped_column(String(16), default="csm")
    team_id: Mapped[str | None] = mapped_column(Id, ForeignKey("teams.id"))
    manager_id: Mapped[str | None] = mapped_column(Id)
    timezone: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    digest: Mapped[dict[str, Any] | None] = mapped_column(Json)
    # Filled from Slack (users.lookupByEmail / users.info) when the import gives none.
    slack_timezone: Mapped[str | None] = mapped_column(String(64))


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    mrr: Mapped[float | None] = mapped_column(Float)
    segment: Mapped[str | None] = mapped_column(String(16))
    touch_policy: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str | None] = mapped_column(String(16), index=True)
    csm_id: Mapped[str | None] = mapped_column(Id, ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime | None]
    renewal_date: Mapped[date | None] = mapped_column(Date)
    csm_pulse_score: Mapped[int | None] = mapped_column(Integer)
    csm_pulse_note: Mapped[str | None] = mapped_column(Text)
    csm_pulse_set_at: Mapped[datetime | None]
    csm_pulse_set_by: Mapped[str | None] = mapped_column(Id)
    ai_pulse_score: Mapped[int | None] = mapped_column(Integer)
    ai_pulse_at: Mapped[datetime | None]
    ai_pulse_rationale: Mapped[str | None] = mapped_column(Text)
    usage_trend: Mapped[float | None] = mapped_column(Float)
    adoption: Mapped[float | None] = mapped_column(Float)
    csat: Mapped[float | None] = mapped_column(Float)
    open_issues: Mapped[int | None] = mapped_column(Integer)
    blocker: Mapped[str | None] = mapped_column(String(8))
    crm_url: Mapped[str | None] = mapped_column(String(2000))
    traits: Mapped[dict[str, Any] | None] = mapped_column(Json)


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    account_id: Mapped[str] = mapped_column(Id, ForeignKey("accounts.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(320))
    title: Mapped[str | None] = mapped_column(String(300))
    role: Mapped[str | None] = mapped_column(String(32))
    last_active_at: Mapped[datetime | None]


class HealthScore(Base):
    __tablename__ = "health_scores"
    __table_args__ = (UniqueConstraint("account_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(Id, ForeignKey("accounts.id"))
    at: Mapped[datetime]
    score: Mapped[float] = mapped_column(Float)
    factors: Mapped[dict[str, Any] | None] = mapped_column(Json)


class Activity(Base):
    __tablename__ = "activities"
    __table_args__ = (
        Index("ix_activities_account_at", "account_id", "at"),
        # Few activities name a meeting or a request: their indexes leave the others out (an
        # import of many activities maintains two index entries per row fewer).
        Index(
            "ix_activities_meeting",
            "meeting_id",
            postgresql_where=text("meeting_id IS NOT NULL"),
            sqlite_where=text("meeting_id IS NOT NULL"),
        ),
        Index(
            "ix_activities_request",
            "request_id",
            postgresql_where=text("request_id IS NOT NULL"),
            sqlite_where=text("request_id IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    account_id: Mapped[str] = mapped_column(Id, ForeignKey("accounts.id"))
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(24))
    direction: Mapped[str] = mapped_column(String(12))
    thread: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[str | None] = mapped_column(Id)
    contact_id: Mapped[str | None] = mapped_column(Id)
    outcome: Mapped[str | None] = mapped_column(String(16))
    meeting_id: Mapped[str | None] = mapped_column(Id)
    request_id: Mapped[str | None] = mapped_column(Id)
    success_plan_id: Mapped[str | None] = mapped_column(Id)
    objective_id: Mapped[str | None] = mapped_column(Id)
    kpi_id: Mapped[str | None] = mapped_column(Id)
    playbook_task_id: Mapped[str | None] = mapped_column(Id)
    # Written by the bot itself (e.g. the touch recorded when a CSM marks a card done).
    source: Mapped[str | None] = mapped_column(String(16))


class Meeting(Base):
    __tablename__ = "meetings"
    # Covers the sweep's "latest meeting held per account" walk.
    __table_args__ = (
        Index("ix_meetings_account_starts", "account_id", "starts_at", "canceled", "id"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    account_id: Mapped[str] = mapped_column(Id, ForeignKey("accounts.id"))
    title: Mapped[str | None] = mapped_column(String(500))
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime | None]
    canceled: Mapped[bool] = mapped_column(Boolean, default=False)
    attendees: Mapped[list[Any] | None] = mapped_column(Json)
    next_step: Mapped[str | None] = mapped_column(Text)
    action_items: Mapped[list[Any] | None] = mapped_column(Json)
    # Rollup (kept by the importer): action items with no owner that are not done.
    unowned_open_items: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_status_due", "status", "due_at"),
        Index("ix_tasks_account", "account_id"),
        Index("ix_tasks_request", "request_id"),
        # The sweep's task queries, per range of accounts: open tasks by due date (read from
        # the index alone for "is a task due ahead") and done auto-created ones.
        Index("ix_tasks_status_account_due", "status", "account_id", "due_at"),
        Index(
            "ix_tasks_auto_done",
            "account_id",
            postgresql_where=text("status = 'done' AND auto_created IS true"),
            sqlite_where=text("status = 'done' AND auto_created IS 1"),
        ),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    account_id: Mapped[str] = mapped_column(Id, ForeignKey("accounts.id"))
    title: Mapped[str | None] = mapped_column(String(500))
    due_at: Mapped[datetime | None]
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    status: Mapped[str] = mapped_column(String(12), default="open")
    assignee_id: Mapped[str | None] = mapped_column(Id)
    created_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    request_id: Mapped[str | None] = mapped_column(Id)
    auto_created: Mapped[bool] = mapped_column(Boolean, default=False)


class Request(Base):
    __tablename__ = "requests"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    title: Mapped[str | None] = mapped_column(String(500))
    impact: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
    shipped_at: Mapped[datetime | None]
    discussed_at: Mapped[datetime | None]
    # Rollup: the latest activity linked to the request (kept by the importer).
    last_activity_at: Mapped[datetime | None]


class RequestAccount(Base):
    __tablename__ = "request_accounts"
    __table_args__ = (Index("ix_request_accounts_account", "account_id"),)

    request_id: Mapped[str] = mapped_column(Id, ForeignKey("requests.id"), primary_key=True)
    account_id: Mapped[str] = mapped_column(Id, ForeignKey("accounts.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class ProductEvent(Base):
    __tablename__ = "product_events"
    __table_args__ = (UniqueConstraint("account_id", "at", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(Id, ForeignKey("accounts.id"))
    contact_id: Mapped[str | None] = mapped_column(Id)
    name: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]
    properties: Mapped[dict[str, Any] | None] = mapped_column(Json)


# ------------------------------------------------------------ account-summary hierarchy


class SuccessPlan(Base):
    __tablename__ = "success_plans"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    account_id: Mapped[str] = mapped_column(Id, ForeignKey("accounts.id"), index=True)
    title: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str | None] = mapped_column(String(LABEL))
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)


class Objective(Base):
    __tablename__ = "objectives"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    success_plan_id: Mapped[str] = mapped_column(Id, ForeignKey("success_plans.id"), index=True)
    title: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str | None] = mapped_column(String(LABEL))


class Kpi(Base):
    __tablename__ = "kpis"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    objective_id: Mapped[str] = mapped_column(Id, ForeignKey("objectives.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str | None] = mapped_column(String(16))
    baseline: Mapped[float | None] = mapped_column(Float)
    target: Mapped[float | None] = mapped_column(Float)
    current: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(LABEL))
    updated_at: Mapped[datetime | None]


class BusinessChallenge(Base):
    __tablename__ = "business_challenges"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    account_id: Mapped[str] = mapped_column(Id, ForeignKey("accounts.id"), index=True)
    success_plan_id: Mapped[str | None] = mapped_column(Id, ForeignKey("success_plans.id"))
    title: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)


class Playbook(Base):
    __tablename__ = "playbooks"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    account_id: Mapped[str] = mapped_column(Id, ForeignKey("accounts.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str | None] = mapped_column(String(LABEL))


class PlaybookTask(Base):
    __tablename__ = "playbook_tasks"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    playbook_id: Mapped[str] = mapped_column(Id, ForeignKey("playbooks.id"), index=True)
    title: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str | None] = mapped_column(String(LABEL))
    due_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    account_id: Mapped[str] = mapped_column(Id, ForeignKey("accounts.id"), index=True)
    title: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str | None] = mapped_column(String(16))
    priority: Mapped[str | None] = mapped_column(String(LABEL))
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class Opportunity(Base):
    __tablename__ = "opportunities"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    account_id: Mapped[str] = mapped_column(Id, ForeignKey("accounts.id"), index=True)
    title: Mapped[str | None] = mapped_column(String(500))
    kind: Mapped[str | None] = mapped_column(String(16))
    stage: Mapped[str | None] = mapped_column(String(LABEL))
    status: Mapped[str | None] = mapped_column(String(8))
    amount: Mapped[float | None] = mapped_column(Float)
    close_date: Mapped[date | None] = mapped_column(Date)


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    account_id: Mapped[str] = mapped_column(Id, ForeignKey("accounts.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str | None] = mapped_column(String(8))


# ------------------------------------------------------------------------------ rollups


class AccountRollup(Base):
    """Per-account facts the sweep needs, recomputed by the importer for touched accounts.

    ``data_until`` is the newest activity or health-score time of the account: a sweep whose
    ``now`` is earlier than it recomputes that account from the raw rows instead.
    """

    __tablename__ = "account_rollups"

    account_id: Mapped[str] = mapped_column(Id, ForeignKey("accounts.id"), primary_key=True)
    data_until: Mapped[datetime | None]
    last_touch_at: Mapped[datetime | None]
    last_touch_activity_id: Mapped[str | None] = mapped_column(Id)
    last_meeting_activity_at: Mapped[datetime | None]
    last_meeting_activity_id: Mapped[str | None] = mapped_column(Id)
    last_outbound_call_at: Mapped[datetime | None]
    last_outbound_call_id: Mapped[str | None] = mapped_column(Id)
    last_outbound_call_outcome: Mapped[str | None] = mapped_column(String(16))
    last_outbound_email_at: Mapped[datetime | None]
    last_note_at: Mapped[datetime | None]
    last_post_meeting_note_at: Mapped[datetime | None]
    health_at: Mapped[datetime | None]
    health_score: Mapped[float | None] = mapped_column(Float)
    health_prev_at: Mapped[datetime | None]
    health_prev_score: Mapped[float | None] = mapped_column(Float)


class EmailThread(Base):
    """The latest inbound/outbound email of each thread (an inbound email with no thread is a
    thread of its own, keyed ``activity:ID``)."""

    __tablename__ = "email_threads"
    __table_args__ = (Index("ix_email_threads_direction_at", "last_direction", "last_at"),)

    account_id: Mapped[str] = mapped_column(Id, ForeignKey("accounts.id"), primary_key=True)
    thread_key: Mapped[str] = mapped_column(String(220), primary_key=True)
    last_at: Mapped[datetime]
    last_direction: Mapped[str] = mapped_column(String(12))
    last_activity_id: Mapped[str] = mapped_column(Id)
    subject: Mapped[str | None] = mapped_column(Text)
    contact_id: Mapped[str | None] = mapped_column(Id)
    first_unreplied_at: Mapped[datetime | None]
    messages: Mapped[int] = mapped_column(Integer, default=0)


# ------------------------------------------------------------------ what the bot keeps


class Exclusion(Base):
    __tablename__ = "exclusions"

    account_id: Mapped[str] = mapped_column(Id, ForeignKey("accounts.id"), primary_key=True)
    reason: Mapped[str | None] = mapped_column(Text)
    until: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(Id)


ESCALATION_DUE_WHERE = (
    "state = 'open' AND severity = 'critical' AND escalated_at IS NULL AND cleared_at IS NULL"
)


class Alert(Base):
    """One (account, signal, evidence) with its lifecycle (followup-rules.md "Alert lifecycle")."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_account_state", "account_id", "state"),
        # Open critical alerts by escalation: the escalation scan read it before 0015; now the
        # count of open critical alerts it is measured against (bench/bench_escalations.py).
        Index("ix_alerts_state_severity_escalated", "state", "severity", "escalated_at"),
        # The escalation scan (bot/service/escalation_scan.py): only the alerts that may still
        # escalate, by when they became critical (the tier drops found by signal).
        Index(
            "ix_alerts_escalation_due",
            "first_critical_at",
            "signal",
            postgresql_where=text(ESCALATION_DUE_WHERE),
            sqlite_where=text(ESCALATION_DUE_WHERE),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(400), unique=True)
    account_id: Mapped[str] = mapped_column(Id, ForeignKey("accounts.id"))
    signal: Mapped[str] = mapped_column(String(40))
    evidence: Mapped[str] = mapped_column(String(300))
    lane: Mapped[str] = mapped_column(String(24))
    severity: Mapped[str] = mapped_column(String(8))
    detail: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default="open", index=True)
    first_fired_at: Mapped[datetime]
    # Set when a sweep no longer sees the alert; cleared when it fires again.
    cleared_at: Mapped[datetime | None]
    first_critical_at: Mapped[datetime | None]
    snooze_until: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    # When its CSM was told it woke from a snooze ("3 snoozed follow-ups are back"); a later
    # snooze ends after it, so that wake-up is told again.
    wake_told_at: Mapped[datetime | None]
    state_changed_at: Mapped[datetime | None]
    state_changed_by: Mapped[str | None] = mapped_column(Id)
    dismiss_reason: Mapped[str | None] = mapped_column(Text)


class QueueCard(Base):
    """The stored queue (followup-rules.md "Surfaces"): the card of each flagged account as the
    last recording sweep that covered the account computed it. ``card`` is the sweep JSON card
    with its reasons whole and their alert ids (:meth:`bot.engine.results.Card.to_stored`);
    ``owner_id`` is whose queue it is in (the CSM, else the org's fallback CSM)."""

    __tablename__ = "queue_cards"

    account_id: Mapped[str] = mapped_column(Id, ForeignKey("accounts.id"), primary_key=True)
    owner_id: Mapped[str | None] = mapped_column(Id, index=True)
    lane: Mapped[str] = mapped_column(String(24))
    severity: Mapped[str] = mapped_column(String(8))
    action_score: Mapped[float] = mapped_column(Float)
    as_of: Mapped[datetime]
    card: Mapped[dict[str, Any]] = mapped_column(Json)


class AccountSweepState(Base):
    """Per account, what the incremental sweep (``sweep --incremental``) needs to know: the
    earliest time its card or alerts can change with time alone (``next_check_at``; None:
    never), and whether its data changed since the last recording sweep evaluated it: every
    change bumps ``changes``, and a sweep records in ``swept_changes`` the value it read before
    loading the account (see :mod:`bot.engine.sweep_state`)."""

    __tablename__ = "account_sweep_state"
    __table_args__ = (
        # what ``find_due`` reads, each from an index: the changed accounts (few), and those
        # whose next check has come
        Index(
            "ix_account_sweep_state_changed",
            "account_id",
            postgresql_where=text("changes <> swept_changes"),
            sqlite_where=text("changes <> swept_changes"),
        ),
    )

    account_id: Mapped[str] = mapped_column(Id, ForeignKey("accounts.id"), primary_key=True)
    next_check_at: Mapped[datetime | None] = mapped_column(CompactUTCDateTime(), index=True)
    changes: Mapped[int] = mapped_column(Integer, default=0)
    swept_changes: Mapped[int] = mapped_column(Integer, default=0)


class SweepRun(Base):
    __tablename__ = "sweep_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    as_of: Mapped[datetime] = mapped_column(index=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    accounts: Mapped[int] = mapped_column(Integer, default=0)
    cards: Mapped[int] = mapped_column(Integer, default=0)
    alerts_new: Mapped[int] = mapped_column(Integer, default=0)
    alerts_cleared: Mapped[int] = mapped_column(Integer, default=0)
    # a full or an incremental sweep: the whole stored queue holds as of ``as_of``
    whole: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (Index("ix_sweep_runs_whole_as_of", "whole", "as_of"),)


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(400))
    details: Mapped[dict[str, Any] | None] = mapped_column(Json)


class SavedSummary(Base):
    """An account summary someone saved: who, when, the period it covered, which writer
    produced it and the whole summary JSON. Every save is a new version; earlier ones stay."""

    __tablename__ = "saved_summaries"
    __table_args__ = (
        UniqueConstraint("account_id", "version"),
        Index("ix_saved_summaries_saved_at", "saved_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(Id, ForeignKey("accounts.id"))
    version: Mapped[int] = mapped_column(Integer)
    saved_at: Mapped[datetime]
    saved_by: Mapped[str | None] = mapped_column(Id)
    period_since: Mapped[datetime | None]
    period_until: Mapped[datetime | None]
    generator: Mapped[str] = mapped_column(String(8))
    content: Mapped[dict[str, Any]] = mapped_column(Json)


class SummarySettings(Base):
    """The org's account-summary settings (one row, id 1): the section ids an admin hid."""

    __tablename__ = "summary_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hidden: Mapped[list[Any] | None] = mapped_column(Json)
    updated_at: Mapped[datetime | None]
    updated_by: Mapped[str | None] = mapped_column(Id)


class SummaryCache(Base):
    """AI-written sections keyed by a hash of exactly what they were written from (the
    prompt, the model and the sections asked for): the same inputs never call the API twice."""

    __tablename__ = "summary_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(Id, index=True)
    created_at: Mapped[datetime]
    model: Mapped[str] = mapped_column(String(100))
    sections: Mapped[dict[str, Any]] = mapped_column(Json)


# ------------------------------------------------------------------- Slack delivery


class Delivery(Base):
    """The daily DM of one user on one local day: claimed once, then only updated.

    The unique ``(user_id, local_date)`` row is the claim (inserted with ON CONFLICT DO
    NOTHING), ``lease_token`` / ``lease_until`` a fencing lease: whoever holds an unexpired
    lease is the only one allowed to post, update or delete that day's messages.
    ``status``: ``claimed`` (being delivered), ``sent``, ``failed`` (Slack refused; a later
    run may try again) or ``unknown`` (a post may have gone through: never posted again that
    day, so that no one gets the DM twice). Its messages are outbox rows (kind ``daily_dm``,
    with this ``delivery_id`` and their ``position``).
    """

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("user_id", "local_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(Id, ForeignKey("users.id"))
    local_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="claimed")
    slack_user_id: Mapped[str | None] = mapped_column(String(32))
    lease_token: Mapped[str | None] = mapped_column(String(36))
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    as_of: Mapped[datetime | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    # The day's list (followup-rules.md "Surfaces"): the as_of of the sweep whose cards it
    # shows (NULL: no list stored yet), the reader's noise level then, and the cards per lane
    # that max_per_lane left out. The cards themselves are in delivery_cards.
    list_as_of: Mapped[datetime | None]
    sensitivity: Mapped[str | None] = mapped_column(String(16))
    more: Mapped[dict[str, Any] | None] = mapped_column(Json)


class DeliveryCard(Base):
    """One card of a delivery's list, in the order the DM shows it (the card as it was shown:
    :meth:`bot.engine.results.Card.to_stored`)."""

    __tablename__ = "delivery_cards"

    delivery_id: Mapped[int] = mapped_column(Integer, ForeignKey("deliveries.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(Id)
    card: Mapped[dict[str, Any]] = mapped_column(Json)


class SlackEvent(Base):
    """An Events API delivery seen (by ``event_id``): a retried event is processed once.

    ``processed_at`` is set when its listener finished; until then ``lease_until`` marks it
    in flight. A retry claims it again when it was never finished and its lease ran out (the
    first delivery failed or its process died), so a retry is dropped only when the first
    delivery really was (or is being) processed.
    """

    __tablename__ = "slack_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(index=True)
    retry_num: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]


# ------------------------------------------------------------------ actions and outbox


class ActionRun(Base):
    """One recommended action of one account, executed (or held for approval) once per
    ``(account, action, evidence)``: the unique ``key`` is the claim. ``status``:
    ``executed``, ``pending_approval`` (stored for a manager), ``approved`` (decided, about to
    run), ``rejected``, ``refused`` (a precondition is missing, e.g. no specialists channel:
    tried again once it holds) or ``failed``. ``decided_by`` is None for an automatic action,
    else who approved or rejected it, at ``decided_at``; ``decision_reason`` is a rejection's."""

    __tablename__ = "action_runs"
    __table_args__ = (Index("ix_action_runs_account_action", "account_id", "action"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    account_id: Mapped[str] = mapped_column(Id, ForeignKey("accounts.id"))
    action: Mapped[str] = mapped_column(String(40))
    evidence: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True)
    owner_id: Mapped[str | None] = mapped_column(Id)
    priority: Mapped[str] = mapped_column(String(8))
    rationale: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(Id)
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    executed_at: Mapped[datetime | None]
    result: Mapped[dict[str, Any] | None] = mapped_column(Json)
    error: Mapped[str | None] = mapped_column(Text)


class SequenceMembership(Base):
    """An account in a named sequence (``onboarding_recovery``, ``low_adoption_nurture``)."""

    __tablename__ = "sequence_memberships"

    account_id: Mapped[str] = mapped_column(Id, ForeignKey("accounts.id"), primary_key=True)
    sequence: Mapped[str] = mapped_column(String(40), primary_key=True)
    added_at: Mapped[datetime]
    action_run_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("action_runs.id"))


class DiscountRequest(Base):
    __tablename__ = "discount_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(Id, ForeignKey("accounts.id"), index=True)
    action_run_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("action_runs.id"))
    requested_for: Mapped[str | None] = mapped_column(Id)
    status: Mapped[str] = mapped_column(String(12), default="open")
    reason: Mapped[str | None] = mapped_column(Text)
    task_id: Mapped[str | None] = mapped_column(Id)
    created_at: Mapped[datetime]


class HealthScoreUpdate(Base):
    """A health score the bot recorded for the CSM (``update_csm_health_score``): the
    assessment's risk points and tier, and the themes behind them."""

    __tablename__ = "health_score_updates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(Id, ForeignKey("accounts.id"), index=True)
    action_run_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("action_runs.id"))
    at: Mapped[datetime]
    score: Mapped[float] = mapped_column(Float)
    tier: Mapped[str] = mapped_column(String(16))
    previous: Mapped[float | None] = mapped_column(Float)
    factors: Mapped[dict[str, Any] | None] = mapped_column(Json)


class OutboxMessage(Base):
    """One outgoing message (a DM, a channel post, a webhook call), sent exactly once.

    ``key`` is the idempotency key (enqueued with ON CONFLICT DO NOTHING). ``status``:
    ``pending`` (due at ``next_attempt_at``), ``claimed`` (a drain holds the fencing lease
    ``lease_token`` until ``lease_until``), ``sent`` (with ``channel``/``ts`` of a Slack
    post), ``failed`` (refused for good:
    ``not_in_channel``, no Slack user …), ``parked`` (gave up after repeated failures) or
    ``unknown`` (a post may have gone through and Slack cannot tell: never sent again).

    A daily DM's message (kind ``daily_dm``) names its delivery and its ``position`` in that
    day's DM; one the DM no longer shows (deleted as surplus, or posted anew after it was gone)
    keeps its delivery with no position. ``(channel, ts)`` finds the message a click came from."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_outbox_channel_ts", "channel", "ts"),
        UniqueConstraint("delivery_id", "position"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # dm | post | webhook
    target: Mapped[str] = mapped_column(String(2000))  # user id | channel id | URL
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    subject: Mapped[str | None] = mapped_column(String(300))  # e.g. action_run:12
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_token: Mapped[str | None] = mapped_column(String(36))
    lease_until: Mapped[datetime | None]
    channel: Mapped[str | None] = mapped_column(String(32))
    ts: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    delivery_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("deliveries.id"))
    position: Mapped[int | None] = mapped_column(Integer)


class Escalation(Base):
    """One escalated alert (followup-rules.md "Escalation"): sent once to the org's escalation
    channel, else the manager's DM (the fallback CSM, else the admins, for an account with no
    CSM or a CSM with no manager). ``messages`` are the outbox keys of its posts (their
    channel/ts are on the outbox rows); ``card`` is the card it showed, re-rendered after a
    click. Acknowledging stops the one reminder in its thread."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(Integer, ForeignKey("alerts.id"), unique=True)
    account_id: Mapped[str] = mapped_column(Id, ForeignKey("accounts.id"), index=True)
    csm_id: Mapped[str | None] = mapped_column(Id)  # the account's CSM when escalated
    reason: Mapped[str] = mapped_column(String(16))  # sla | tier_drop
    recipients: Mapped[list[Any]] = mapped_column(Json)  # user ids, or [channel id]
    messages: Mapped[list[Any]] = mapped_column(Json)  # outbox keys
    card: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime]
    acknowledged_by: Mapped[str | None] = mapped_column(Id)
    acknowledged_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]  # when the reminder was queued
    reassigned_to: Mapped[str | None] = mapped_column(Id)
    reassigned_by: Mapped[str | None] = mapped_column(Id)
