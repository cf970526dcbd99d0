"""The record kinds of the portfolio format (data-format.md) as field tables.

Each kind maps its JSON fields onto table columns with a converter per field, and lists its
required fields, its key and its references. The tables are built per import because
timestamps without an offset are read in the org's timezone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from sqlalchemy import Table

from bot.db import models as m
from bot.engine.rollups import count_unowned_open_items
from bot.engine.rules import validate_rules_object
from bot.importer.fields import (
    Convert,
    Invalid,
    boolean,
    clock_time,
    describe,
    enum,
    free_object,
    identifier,
    integer,
    list_of,
    nullable,
    number,
    obj,
    parse_date,
    text,
    timestamp,
    timezone_name,
    unique_ids,
    url,
)

# Kinds in write order: every kind comes after the kinds its foreign keys point at.
KIND_ORDER: tuple[str, ...] = (
    "teams",
    "users",
    "accounts",
    "contacts",
    "requests",
    "success_plans",
    "objectives",
    "kpis",
    "business_challenges",
    "playbooks",
    "playbook_tasks",
    "meetings",
    "health_scores",
    "activities",
    "tasks",
    "product_events",
    "cases",
    "opportunities",
    "projects",
    "exclusions",
)

REQUEST_LINKS = "accounts"  # requests.accounts: not a column, the request_accounts rows

DIGEST_SENSITIVITY = ("important", "standard", "comprehensive")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One JSON field: the column(s) it sets and how its value converts.

    ``columns`` has one column for a plain field, several for a nested object that is stored
    flattened (its converter returns a tuple), or names a pseudo-column (``requests.accounts``).
    An explicit ``null`` stores ``null_value`` (the column default for NOT NULL columns) or is an
    error when the field is not ``nullable``.
    """

    name: str
    columns: tuple[str, ...]
    convert: Convert
    nullable: bool = True
    null_value: Any = None
    column: str | None = field(init=False)  # the one column, or None for a nested object

    def __post_init__(self) -> None:
        object.__setattr__(self, "column", self.columns[0] if len(self.columns) == 1 else None)


# (subpath, id) pairs of the ids held in a structured value (lists, nested objects).
Extract = Callable[[Any], Iterable[tuple[str, str]]]


@dataclass(frozen=True, slots=True)
class RefSpec:
    """A reference: the ids in ``column`` must be records of one of ``targets``."""

    column: str
    targets: tuple[str, ...]
    field: str
    extract: Extract | None = None


# per-row check: (field, message) problems of a converted row
RowCheck = Callable[[dict[str, Any]], list[tuple[str, str]]]
# per-row derivation: sets columns computed from the given ones (in place)
Derive = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Kind:
    name: str
    singular: str
    table: Table
    fields: dict[str, FieldSpec]
    required: tuple[str, ...]
    key: tuple[str, ...]  # key columns: ("id",) or a natural key
    refs: tuple[RefSpec, ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict)  # NOT NULL column defaults
    check: RowCheck | None = None
    derive: Derive | None = None

    @property
    def has_id(self) -> bool:
        return self.key == ("id",)


SINGULAR = {
    "teams": "team",
    "users": "user",
    "accounts": "account",
    "contacts": "contact",
    "health_scores": "health score",
    "activities": "activity",
    "meetings": "meeting",
    "tasks": "task",
    "requests": "request",
    "product_events": "product event",
    "success_plans": "success plan",
    "objectives": "objective",
    "kpis": "kpi",
    "business_challenges": "business challenge",
    "playbooks": "playbook",
    "playbook_tasks": "playbook task",
    "cases": "case",
    "opportunities": "opportunity",
    "projects": "project",
    "exclusions": "exclusion",
}


def _table(model: type[m.Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def sized_text(table: Table, column: str) -> Convert:
    """A string converter limited to the column's length (PostgreSQL enforces it)."""
    length = getattr(table.c[column].type, "length", None)
    return text(length if isinstance(length, int) else None)


# ------------------------------------------------------------------- shared converters


def rules_object(value: Any) -> dict[str, Any]:
    """An org or team ``rules`` object, checked by the engine's own rules model."""
    if type(value) is not dict:
        raise Invalid(f"expected an object, got {describe(value)}")
    problems = validate_rules_object(value)
    if problems:
        raise Invalid.many([(f".{path}" if path else "", msg) for path, msg in problems])
    return value


def _weekdays(value: Any) -> list[int]:
    days: list[int] = list_of(integer(1, 7))(value)
    if len(set(days)) != len(days):
        raise Invalid("a weekday is listed twice")
    return days


business_hours = obj(
    {"start": clock_time, "end": clock_time, "days": _weekdays}, what="business_hours key"
)

org_digest = obj(
    {
        "enabled": boolean,
        "sensitivity": enum(*DIGEST_SENSITIVITY),
        "max_per_lane": integer(0),
        "send_at": clock_time,
    },
    what="digest key",
)

user_digest = obj(
    {
        "opt_out": nullable(boolean),
        "enabled": nullable(boolean),
        "sensitivity": nullable(enum(*DIGEST_SENSITIVITY)),
        "max_per_lane": nullable(integer(0)),
        "send_at": nullable(clock_time),
    },
    what="digest key",
)


def _flatten(convert: Callable[[Any], dict[str, Any]], keys: tuple[str, ...]) -> Convert:
    def flat(value: Any) -> tuple[Any, ...]:
        given = convert(value)
        return tuple(given.get(k) for k in keys)

    return flat


def _action_item_owners(items: Any) -> Iterator[tuple[str, str]]:
    for i, item in enumerate(items or ()):
        owner = item.get("owner")
        if owner is not None:
            yield f"[{i}].owner", owner


def _listed_ids(ids: Any) -> Iterator[tuple[str, str]]:
    for i, item in enumerate(ids or ()):
        yield f"[{i}]", item


def _meeting_item_count(row: dict[str, Any]) -> None:
    """``meetings.unowned_open_items`` follows the action items given."""
    if "action_items" in row:
        row["unowned_open_items"] = count_unowned_open_items(row["action_items"])


# ----------------------------------------------------------------------- the kinds


USERS = ("users",)
ACCOUNTS = ("accounts",)


def portfolio_kinds(tz: tzinfo) -> dict[str, Kind]:
    """Every record kind of the format, with timestamps read in ``tz`` when they carry no
    offset."""
    ts = timestamp(tz)
    ident = identifier()

    def iso(value: Any) -> str:
        return str(ts(value).isoformat())

    def kind(
        name: str,
        model: type[m.Base],
        specs: list[FieldSpec],
        required: tuple[str, ...],
        refs: tuple[RefSpec, ...] = (),
        *,
        key: tuple[str, ...] = ("id",),
        defaults: dict[str, Any] | None = None,
        check: RowCheck | None = None,
        derive: Derive | None = None,
    ) -> Kind:
        fields = {f.name: f for f in specs}
        table = _table(model)
        for f in list(fields.values()):
            # required fields are never null, nor those of a NOT NULL column with no default
            # to store instead (a team's name, a health score's score): refused by path here
            # rather than by the database
            not_null = f.null_value is None and any(
                c in table.c and not table.c[c].nullable for c in f.columns
            )
            if f.nullable and (f.name in required or not_null):
                fields[f.name] = FieldSpec(f.name, f.columns, f.convert, nullable=False)
        return Kind(
            name,
            SINGULAR[name],
            table,
            fields,
            required,
            key,
            refs,
            defaults or {},
            check,
            derive,
        )

    def f(name: str, convert: Convert, column: str | None = None) -> FieldSpec:
        return FieldSpec(name, (column or name,), convert)

    def s(model: type[m.Base], name: str, column: str | None = None) -> FieldSpec:
        return FieldSpec(name, (column or name,), sized_text(_table(model), column or name))

    def ref(name: str, column: str | None = None) -> FieldSpec:
        return FieldSpec(name, (column or f"{name}_id",), ident)

    def default(name: str, convert: Convert, value: Any) -> FieldSpec:
        return FieldSpec(name, (name,), convert, null_value=value)

    id_ = f("id", ident)
    account = ref("account")
    account_ref = RefSpec("account_id", ACCOUNTS, "account")

    csm_pulse = FieldSpec(
        "csm_pulse",
        ("csm_pulse_score", "csm_pulse_note", "csm_pulse_set_at", "csm_pulse_set_by"),
        _flatten(
            obj(
                {
                    "score": integer(1, 10),
                    "note": nullable(text()),
                    "set_at": nullable(ts),
                    "set_by": nullable(ident),
                },
                required=("score",),
                what="csm_pulse key",
            ),
            ("score", "note", "set_at", "set_by"),
        ),
    )
    ai_pulse = FieldSpec(
        "ai_pulse",
        ("ai_pulse_score", "ai_pulse_at", "ai_pulse_rationale"),
        _flatten(
            obj(
                {"score": integer(1, 10), "at": nullable(ts), "rationale": nullable(text())},
                required=("score",),
                what="ai_pulse key",
            ),
            ("score", "at", "rationale"),
        ),
    )
    action_items = list_of(
        obj(
            {
                "text": text(),
                "owner": nullable(ident),
                "done": nullable(boolean),
                "due_at": nullable(iso),
            },
            required=("text",),
            what="action item key",
        )
    )

    def check_activity(row: dict[str, Any]) -> list[tuple[str, str]]:
        if row.get("kind") in ("note", "post_meeting_note") and row.get("direction") not in (
            None,
            "internal",
        ):
            return [("direction", f"a {row['kind']} is internal, got '{row['direction']}'")]
        return []

    kinds = [
        kind(
            "teams",
            m.Team,
            [id_, s(m.Team, "name"), ref("manager"), f("rules", rules_object)],
            ("id",),
            (RefSpec("manager_id", USERS, "manager"),),
        ),
        kind(
            "users",
            m.User,
            [
                id_,
                s(m.User, "name"),
                s(m.User, "email"),
                s(m.User, "slack_user_id"),
                default("role", enum("csm", "manager", "admin"), "csm"),
                ref("team"),
                ref("manager"),
                f("timezone", timezone_name),
                default("active", boolean, True),
                f("digest", user_digest),
            ],
            ("id", "name"),
            (RefSpec("team_id", ("teams",), "team"), RefSpec("manager_id", USERS, "manager")),
            defaults={"role": "csm", "active": True},
        ),
        kind(
            "accounts",
            m.Account,
            [
                id_,
                s(m.Account, "name"),
                f("mrr", number(0)),
                f("segment", enum("smb", "mid_market", "enterprise")),
                f("touch_policy", enum("strategic", "standard", "low_touch", "onboarding")),
                f("status", enum("active", "onboarding", "inactive", "churned")),
                ref("csm"),
                f("created_at", ts),
                f("renewal_date", parse_date),
                csm_pulse,
                ai_pulse,
                f("usage_trend", number()),
                f("adoption", number(0, 1)),
                f("csat", number(1, 5)),
                f("open_issues", integer(0)),
                f("blocker", enum("none", "minor", "major")),
                f("crm_url", url),
                f("traits", free_object),
            ],
            ("id", "name"),
            (
                RefSpec("csm_id", USERS, "csm"),
                RefSpec("csm_pulse_set_by", USERS, "csm_pulse.set_by"),
            ),
        ),
        kind(
            "contacts",
            m.Contact,
            [
                id_,
                account,
                s(m.Contact, "name"),
                s(m.Contact, "email"),
                s(m.Contact, "title"),
                f(
                    "role",
                    enum("champion", "decision_maker", "executive_sponsor", "user", "billing"),
                ),
                f("last_active_at", ts),
            ],
            ("id", "account"),
            (account_ref,),
        ),
        kind(
            "health_scores",
            m.HealthScore,
            [
                account,
                f("at", ts),
                f("score", number(0, 100)),  # may be left out to update a stored score
                f("factors", free_object),
            ],
            ("account", "at"),
            (account_ref,),
            key=("account_id", "at"),
        ),
        kind(
            "activities",
            m.Activity,
            [
                id_,
                account,
                f("at", ts),
                f("kind", enum("email", "call", "meeting", "note", "post_meeting_note", "chat")),
                f("direction", enum("inbound", "outbound", "internal")),
                s(m.Activity, "thread"),
                f("subject", text()),
                f("body", text()),
                ref("user"),
                ref("contact"),
                f("outcome", enum("connected", "no_answer", "voicemail")),
                ref("meeting"),
                ref("request"),
                ref("success_plan"),
                ref("objective"),
                ref("kpi"),
                ref("playbook_task"),
            ],
            ("id", "account", "at", "kind", "direction"),
            (
                account_ref,
                RefSpec("user_id", USERS, "user"),
                RefSpec("contact_id", ("contacts",), "contact"),
                RefSpec("meeting_id", ("meetings",), "meeting"),
                RefSpec("request_id", ("requests",), "request"),
                RefSpec("success_plan_id", ("success_plans",), "success_plan"),
                RefSpec("objective_id", ("objectives",), "objective"),
                RefSpec("kpi_id", ("kpis",), "kpi"),
                RefSpec("playbook_task_id", ("playbook_tasks",), "playbook_task"),
            ),
            check=check_activity,
        ),
        kind(
            "meetings",
            m.Meeting,
            [
                id_,
                account,
                s(m.Meeting, "title"),
                f("starts_at", ts),
                f("ends_at", ts),
                default("canceled", boolean, False),
                f("attendees", list_of(ident)),
                f("next_step", text()),
                f("action_items", action_items),
            ],
            ("id", "account", "starts_at"),
            (
                account_ref,
                RefSpec("attendees", ("contacts", "users"), "attendees", _listed_ids),
                RefSpec("action_items", USERS, "action_items", _action_item_owners),
            ),
            defaults={"canceled": False},
            derive=_meeting_item_count,
        ),
        kind(
            "tasks",
            m.Task,
            [
                id_,
                account,
                s(m.Task, "title"),
                f("due_at", ts),
                default("priority", enum("urgent", "high", "normal", "low"), "normal"),
                default("status", enum("open", "done", "canceled"), "open"),
                ref("assignee"),
                f("created_at", ts),
                f("completed_at", ts),
                ref("request"),
                default("auto_created", boolean, False),
            ],
            ("id", "account"),
            (
                account_ref,
                RefSpec("assignee_id", USERS, "assignee"),
                RefSpec("request_id", ("requests",), "request"),
            ),
            defaults={"priority": "normal", "status": "open", "auto_created": False},
        ),
        kind(
            "requests",
            m.Request,
            [
                id_,
                FieldSpec(REQUEST_LINKS, (REQUEST_LINKS,), unique_ids),
                s(m.Request, "title"),
                f("impact", enum("high", "medium", "low")),
                f("status", enum("open", "planned", "in_progress", "shipped", "declined")),
                f("created_at", ts),
                f("updated_at", ts),
                f("shipped_at", ts),
                f("discussed_at", ts),
            ],
            ("id",),
            (RefSpec(REQUEST_LINKS, ACCOUNTS, REQUEST_LINKS, _listed_ids),),
        ),
        kind(
            "product_events",
            m.ProductEvent,
            [
                account,
                ref("contact"),
                s(m.ProductEvent, "name"),
                f("at", ts),
                f("properties", free_object),
            ],
            ("account", "name", "at"),
            (account_ref, RefSpec("contact_id", ("contacts",), "contact")),
            key=("account_id", "at", "name"),
        ),
        kind(
            "success_plans",
            m.SuccessPlan,
            [
                id_,
                account,
                s(m.SuccessPlan, "title"),
                s(m.SuccessPlan, "status"),
                f("starts_on", parse_date),
                f("ends_on", parse_date),
            ],
            ("id", "account"),
            (account_ref,),
        ),
        kind(
            "objectives",
            m.Objective,
            [id_, ref("success_plan"), s(m.Objective, "title"), s(m.Objective, "status")],
            ("id", "success_plan"),
            (RefSpec("success_plan_id", ("success_plans",), "success_plan"),),
        ),
        kind(
            "kpis",
            m.Kpi,
            [
                id_,
                ref("objective"),
                s(m.Kpi, "name"),
                f(
                    "status",
                    enum("on_track", "completed", "off_track", "not_started", "blocked"),
                ),
                f("baseline", number()),
                f("target", number()),
                f("current", number()),
                s(m.Kpi, "unit"),
                f("updated_at", ts),
            ],
            ("id", "objective"),
            (RefSpec("objective_id", ("objectives",), "objective"),),
        ),
        kind(
            "business_challenges",
            m.BusinessChallenge,
            [
                id_,
                account,
                ref("success_plan"),
                s(m.BusinessChallenge, "title"),
                f("description", text()),
            ],
            ("id", "account"),
            (account_ref, RefSpec("success_plan_id", ("success_plans",), "success_plan")),
        ),
        kind(
            "playbooks",
            m.Playbook,
            [id_, account, s(m.Playbook, "name"), s(m.Playbook, "status")],
            ("id", "account"),
            (account_ref,),
        ),
        kind(
            "playbook_tasks",
            m.PlaybookTask,
            [
                id_,
                ref("playbook"),
                s(m.PlaybookTask, "title"),
                s(m.PlaybookTask, "status"),
                f("due_at", ts),
                f("completed_at", ts),
            ],
            ("id", "playbook"),
            (RefSpec("playbook_id", ("playbooks",), "playbook"),),
        ),
        kind(
            "cases",
            m.Case,
            [
                id_,
                account,
                s(m.Case, "title"),
                f("status", enum("open", "escalated", "closed")),
                s(m.Case, "priority"),
                f("opened_at", ts),
                f("closed_at", ts),
            ],
            ("id", "account"),
            (account_ref,),
        ),
        kind(
            "opportunities",
            m.Opportunity,
            [
                id_,
                account,
                s(m.Opportunity, "title"),
                f("kind", enum("expansion", "renewal", "new")),
                s(m.Opportunity, "stage"),
                f("status", enum("open", "won", "lost")),
                f("amount", number()),
                f("close_date", parse_date),
            ],
            ("id", "account"),
            (account_ref,),
        ),
        kind(
            "projects",
            m.Project,
            [
                id_,
                account,
                s(m.Project, "name"),
                f("status", enum("green", "amber", "red", "closed")),
            ],
            ("id", "account"),
            (account_ref,),
        ),
        kind(
            "exclusions",
            m.Exclusion,
            [account, f("reason", text()), f("until", parse_date)],
            ("account",),
            (account_ref,),
            key=("account_id",),
        ),
    ]
    return {k.name: k for k in kinds}


def org_fields() -> dict[str, FieldSpec]:
    """The fields of the top-level ``org`` object (``reference_time`` is top-level too, and
    stored on the org row)."""
    org = _table(m.Org)
    return {
        "name": FieldSpec("name", ("name",), sized_text(org, "name"), nullable=False),
        "timezone": FieldSpec("timezone", ("timezone",), timezone_name, null_value="UTC"),
        "business_hours": FieldSpec("business_hours", ("business_hours",), business_hours),
        "automation_level": FieldSpec(
            "automation_level",
            ("automation_level",),
            enum("recommend", "assisted", "autonomous"),
            null_value="assisted",
        ),
        "approvals_channel": FieldSpec(
            "approvals_channel", ("approvals_channel",), sized_text(org, "approvals_channel")
        ),
        "escalation_channel": FieldSpec(
            "escalation_channel", ("escalation_channel",), sized_text(org, "escalation_channel")
        ),
        "specialists_channel": FieldSpec(
            "specialists_channel",
            ("specialists_channel",),
            sized_text(org, "specialists_channel"),
        ),
        "fallback_csm": FieldSpec("fallback_csm", ("fallback_csm_id",), identifier()),
        "digest": FieldSpec("digest", ("digest",), org_digest),
        "rules": FieldSpec("rules", ("rules",), rules_object),
    }


ORG_DEFAULTS: dict[str, Any] = {"timezone": "UTC", "automation_level": "assisted"}
