"""Portfolio JSON import (data-format.md): validation with paths, upsert semantics, rollups,
all-or-nothing writes. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import copy
import json
import logging
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Engine, Table, func, insert, inspect, select
from sqlalchemy.exc import IntegrityError

from bench.generate import cached_dataset
from bot.db.bulk import BULK_LOAD_ROWS, background_inserts, bulk_insert, member_of
from bot.db.models import (
    Account,
    AccountRollup,
    Activity,
    AuditLog,
    Base,
    EmailThread,
    Exclusion,
    HealthScore,
    Meeting,
    Org,
    Request,
    RequestAccount,
    Task,
    Team,
    User,
)
from bot.db.session import make_engine
from bot.engine.rollups import load_folds
from bot.importer import ImportFailed, ImportReport, import_file

NOW = datetime(2026, 11, 16, 20, 0, tzinfo=UTC)


def portfolio() -> dict[str, Any]:
    """A small portfolio touching every kind of record."""
    return {
        "format": "followup-portfolio/1",
        "reference_time": "2026-11-16T13:30:00Z",
        "org": {
            "name": "Acme CS",
            "timezone": "America/New_York",
            "business_hours": {"start": "09:00", "end": "17:00", "days": [1, 2, 3, 4, 5]},
            "automation_level": "recommend",
            "fallback_csm": "u-ana",
            "digest": {"enabled": True, "sensitivity": "important", "max_per_lane": 3},
            "rules": {"touch_days": {"strategic": 10}, "health_drop_points": 12},
        },
        "teams": [
            {
                "id": "t-1",
                "name": "Enterprise",
                "manager": "u-mia",
                "rules": {"disabled_signals": ["low_pulse"]},
            }
        ],
        "users": [
            {"id": "u-mia", "name": "Mia", "role": "manager", "team": "t-1"},
            {
                "id": "u-ana",
                "name": "Ana",
                "email": "ana@acme.test",
                "team": "t-1",
                "timezone": "Europe/Berlin",
                "digest": {"opt_out": False, "sensitivity": None, "send_at": "07:45"},
            },
        ],
        "accounts": [
            {
                "id": "acc-1",
                "name": "Globex",
                "mrr": 1200.5,
                "segment": "mid_market",
                "touch_policy": "strategic",
                "status": "active",
                "csm": "u-ana",
                "created_at": "2025-01-10T12:00:00Z",
                "renewal_date": "2027-03-01",
                "csm_pulse": {
                    "score": 4,
                    "note": "worried",
                    "set_at": "2026-11-01T10:00:00Z",
                    "set_by": "u-ana",
                },
                "ai_pulse": {"score": 7, "at": "2026-11-10T10:00:00Z", "rationale": "usage up"},
                "usage_trend": -0.35,
                "adoption": 0.6,
                "csat": 4.5,
                "open_issues": 2,
                "blocker": "minor",
                "crm_url": "https://crm.example.com/acc-1",
                "traits": {"region": "EMEA", "tier": {"nested": True}},
            },
            {"id": "acc-2", "name": "Initech", "csm": "u-ana"},
        ],
        "contacts": [
            {
                "id": "c-1",
                "account": "acc-1",
                "name": "Zoe",
                "email": "zoe@globex.test",
                "role": "champion",
            },
        ],
        "health_scores": [
            {
                "account": "acc-1",
                "at": "2026-10-01T00:00:00Z",
                "score": 80,
                "factors": {"usage": 30},
            },
            {"account": "acc-1", "at": "2026-11-01T00:00:00Z", "score": 61},
        ],
        "activities": [
            {
                "id": "a-1",
                "account": "acc-1",
                "at": "2026-11-10T15:00:00Z",
                "kind": "email",
                "direction": "outbound",
                "thread": "th-1",
                "subject": "Renewal",
                "user": "u-ana",
                "contact": "c-1",
                "request": "r-1",
            },
            {
                "id": "a-2",
                "account": "acc-1",
                "at": "2026-11-12T15:00:00Z",
                "kind": "note",
                "direction": "internal",
                "body": "discussed SSO\twith \\N and \\ and\nnew lines, ünïcødé ✓",
                "request": "r-1",
                "success_plan": "sp-1",
                "objective": "o-1",
                "kpi": "k-1",
                "playbook_task": "pt-1",
            },
            {
                "id": "a-3",
                "account": "acc-1",
                "at": "2026-11-11T15:00:00Z",
                "kind": "post_meeting_note",
                "direction": "internal",
                "meeting": "m-1",
            },
        ],
        "meetings": [
            {
                "id": "m-1",
                "account": "acc-1",
                "title": "QBR",
                "starts_at": "2026-11-09T15:00:00Z",
                "attendees": ["c-1", "u-ana"],
                "next_step": None,
                "action_items": [
                    {"text": "send deck", "owner": None, "done": False, "due_at": "2026-11-20"},
                    {"text": "book demo", "owner": "u-ana", "done": False},
                ],
            }
        ],
        "tasks": [
            {
                "id": "t-a",
                "account": "acc-1",
                "title": "Send deck",
                "due_at": "2026-11-20T17:00:00Z",
                "assignee": "u-ana",
            },
            {
                "id": "t-b",
                "account": "acc-1",
                "title": "Follow up on SSO",
                "request": "r-1",
                "auto_created": True,
            },
        ],
        "requests": [
            {
                "id": "r-1",
                "accounts": ["acc-1", "acc-2"],
                "title": "Okta SSO",
                "impact": "high",
                "status": "shipped",
                "created_at": "2026-06-01T00:00:00Z",
                "shipped_at": "2026-11-05T00:00:00Z",
            }
        ],
        "product_events": [
            {
                "account": "acc-1",
                "contact": "c-1",
                "name": "login",
                "at": "2026-11-14T09:00:00Z",
                "properties": {"ip": "x"},
            }
        ],
        "success_plans": [
            {
                "id": "sp-1",
                "account": "acc-1",
                "title": "FY27",
                "status": "active",
                "starts_on": "2026-01-01",
            }
        ],
        "objectives": [
            {"id": "o-1", "success_plan": "sp-1", "title": "Adoption", "status": "open"}
        ],
        "kpis": [
            {
                "id": "k-1",
                "objective": "o-1",
                "name": "Seats",
                "status": "on_track",
                "baseline": 10,
                "target": 50,
                "current": 30,
                "unit": "seats",
            }
        ],
        "business_challenges": [
            {"id": "bc-1", "account": "acc-1", "success_plan": "sp-1", "title": "Silos"}
        ],
        "playbooks": [{"id": "pb-1", "account": "acc-1", "name": "Onboarding", "status": "active"}],
        "playbook_tasks": [
            {"id": "pt-1", "playbook": "pb-1", "title": "Kickoff", "status": "done"}
        ],
        "cases": [
            {
                "id": "case-1",
                "account": "acc-1",
                "title": "Login bug",
                "status": "escalated",
                "priority": "p1",
            }
        ],
        "opportunities": [
            {
                "id": "op-1",
                "account": "acc-1",
                "title": "Upsell",
                "kind": "expansion",
                "status": "open",
                "amount": 5000,
                "close_date": "2027-01-31",
            }
        ],
        "projects": [{"id": "pr-1", "account": "acc-1", "name": "Rollout", "status": "amber"}],
        "exclusions": [{"account": "acc-2", "reason": "legal hold", "until": "2027-01-01"}],
    }


def write(tmp_path: Path, data: dict[str, Any], name: str = "portfolio.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def run(engine: Engine, tmp_path: Path, data: dict[str, Any], **kwargs: Any) -> ImportReport:
    return import_file(engine, write(tmp_path, data), now=NOW, **kwargs)


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table."""
    with engine.connect() as conn:
        return {
            table.name: sorted((tuple(r) for r in conn.execute(select(table))), key=repr)
            for table in Base.metadata.sorted_tables
        }


def failure(engine: Engine, tmp_path: Path, data: dict[str, Any] | str) -> list[str]:
    """Import ``data`` expecting it to be refused; the errors as ``path: message``."""
    before = snapshot(engine)
    path = tmp_path / "bad.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    with pytest.raises(ImportFailed) as info:
        import_file(engine, path, now=NOW)
    assert snapshot(engine) == before  # nothing written
    return [str(issue) for issue in info.value.errors]


# ------------------------------------------------------------------------------ happy path


def test_imports_every_kind_and_a_second_import_changes_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    data = portfolio()
    first = run(engine, tmp_path, data)
    assert first.created == {
        "org": 1,
        "teams": 1,
        "users": 2,
        "accounts": 2,
        "contacts": 1,
        "health_scores": 2,
        "activities": 3,
        "meetings": 1,
        "tasks": 2,
        "requests": 1,
        "product_events": 1,
        "success_plans": 1,
        "objectives": 1,
        "kpis": 1,
        "business_challenges": 1,
        "playbooks": 1,
        "playbook_tasks": 1,
        "cases": 1,
        "opportunities": 1,
        "projects": 1,
        "exclusions": 1,
    }
    assert first.records == sum(first.created.values())
    after_first = snapshot(engine)

    second = run(engine, tmp_path, data)
    assert sum(second.created.values()) == 0
    assert sum(second.updated.values()) == 0
    assert second.unchanged == first.created
    assert snapshot(engine) == after_first


def test_values_land_in_their_columns(engine: Engine, tmp_path: Path) -> None:
    run(engine, tmp_path, portfolio())
    with engine.connect() as conn:
        org = conn.execute(select(Org)).one()
        assert (org.name, org.timezone, org.automation_level, org.fallback_csm_id) == (
            "Acme CS",
            "America/New_York",
            "recommend",
            "u-ana",
        )
        assert org.reference_time == datetime(2026, 11, 16, 13, 30, tzinfo=UTC)
        assert org.rules == {"touch_days": {"strategic": 10}, "health_drop_points": 12}
        assert org.digest == {"enabled": True, "sensitivity": "important", "max_per_lane": 3}

        acc = conn.execute(select(Account).where(Account.id == "acc-1")).one()
        assert acc.csm_pulse_score == 4 and acc.csm_pulse_set_by == "u-ana"
        assert acc.csm_pulse_set_at == datetime(2026, 11, 1, 10, tzinfo=UTC)
        assert (acc.ai_pulse_score, acc.ai_pulse_rationale) == (7, "usage up")
        assert acc.renewal_date == date(2027, 3, 1)
        assert acc.traits == {"region": "EMEA", "tier": {"nested": True}}
        body = conn.execute(select(Activity.body).where(Activity.id == "a-2")).scalar_one()
        assert body == "discussed SSO\twith \\N and \\ and\nnew lines, ünïcødé ✓"

        # spec defaults for NOT NULL columns
        ana = conn.execute(select(User).where(User.id == "u-ana")).one()
        assert (ana.role, ana.active) == ("csm", True)
        task = conn.execute(select(Task).where(Task.id == "t-a")).one()
        assert (task.priority, task.status, task.auto_created) == ("normal", "open", False)
        meeting = conn.execute(select(Meeting)).one()
        assert meeting.canceled is False
        assert meeting.unowned_open_items == 1  # "send deck" has no owner and is not done
        # a plain date where a timestamp is expected: midnight in the org's timezone
        assert meeting.action_items[0]["due_at"] == "2026-11-20T05:00:00+00:00"

        links = conn.execute(
            select(RequestAccount.account_id, RequestAccount.position).order_by(
                RequestAccount.position
            )
        ).all()
        assert [tuple(r) for r in links] == [("acc-1", 0), ("acc-2", 1)]
        exclusion = conn.execute(select(Exclusion)).one()
        assert (exclusion.account_id, exclusion.until, exclusion.created_at) == (
            "acc-2",
            date(2027, 1, 1),
            NOW,
        )


def test_rollups_are_refreshed_inside_the_import(engine: Engine, tmp_path: Path) -> None:
    run(engine, tmp_path, portfolio())
    with engine.connect() as conn:
        rollup = conn.execute(
            select(AccountRollup).where(AccountRollup.account_id == "acc-1")
        ).one()
        # the outbound email is the latest touchpoint (notes are not touches)
        assert rollup.last_touch_at == datetime(2026, 11, 10, 15, tzinfo=UTC)
        assert rollup.last_touch_activity_id == "a-1"
        assert rollup.last_note_at == datetime(2026, 11, 12, 15, tzinfo=UTC)
        assert (rollup.health_score, rollup.health_prev_score) == (61, 80)
        thread = conn.execute(select(EmailThread)).one()
        assert (thread.thread_key, thread.last_direction) == ("th-1", "outbound")
        last = conn.execute(select(Request.last_activity_at)).scalar_one()
        assert last == datetime(2026, 11, 12, 15, tzinfo=UTC)
        # an account without activities still gets its (empty) rollup
        empty = conn.execute(select(AccountRollup).where(AccountRollup.account_id == "acc-2")).one()
        assert empty.last_touch_at is None

    # a later file with a newer inbound email moves the rollups and the thread
    later = {
        "format": "followup-portfolio/1",
        "activities": [
            {
                "id": "a-9",
                "account": "acc-1",
                "at": "2026-11-14T15:00:00Z",
                "kind": "email",
                "direction": "inbound",
                "thread": "th-1",
                "contact": "c-1",
            },
            {
                "id": "a-10",
                "account": "acc-1",
                "at": "2026-11-15T15:00:00Z",
                "kind": "call",
                "direction": "outbound",
                "outcome": "connected",
                "request": "r-1",
            },
        ],
    }
    report = run(engine, tmp_path, later)
    assert report.created == {"activities": 2}
    with engine.connect() as conn:
        rollup = conn.execute(
            select(AccountRollup).where(AccountRollup.account_id == "acc-1")
        ).one()
        assert rollup.last_touch_at == datetime(2026, 11, 15, 15, tzinfo=UTC)
        assert rollup.last_outbound_call_outcome == "connected"
        thread = conn.execute(select(EmailThread)).one()
        assert thread.last_direction == "inbound"
        assert thread.first_unreplied_at == datetime(2026, 11, 14, 15, tzinfo=UTC)
        last = conn.execute(select(Request.last_activity_at)).scalar_one()
        assert last == datetime(2026, 11, 15, 15, tzinfo=UTC)


def test_moving_an_activity_refreshes_both_accounts(engine: Engine, tmp_path: Path) -> None:
    run(engine, tmp_path, portfolio())
    moved = {
        "format": "followup-portfolio/1",
        "activities": [
            {
                "id": "a-1",
                "account": "acc-2",
                "at": "2026-11-10T15:00:00Z",
                "kind": "email",
                "direction": "outbound",
                "thread": "th-1",
            }
        ],
    }
    assert run(engine, tmp_path, moved).updated == {"activities": 1}
    with engine.connect() as conn:
        touch = dict(
            conn.execute(select(AccountRollup.account_id, AccountRollup.last_touch_at)).all()
        )
        assert touch == {"acc-1": None, "acc-2": datetime(2026, 11, 10, 15, tzinfo=UTC)}
        threads = conn.execute(select(EmailThread.account_id, EmailThread.thread_key)).all()
        assert [tuple(t) for t in threads] == [("acc-2", "th-1")]


def test_moving_an_activity_to_an_account_the_same_file_creates(
    engine: Engine, tmp_path: Path
) -> None:
    """A new account's rollups are folded from the file's rows; an activity already stored
    that the file moves to the new account counts too (it is an update, not a new row)."""
    run(engine, tmp_path, portfolio())
    moved = {
        "format": "followup-portfolio/1",
        "accounts": [{"id": "acc-new", "name": "Newco"}],
        "activities": [
            {
                "id": "a-1",
                "account": "acc-new",
                "at": "2026-11-10T15:00:00Z",
                "kind": "email",
                "direction": "outbound",
                "thread": "th-1",
            }
        ],
    }
    report = run(engine, tmp_path, moved)
    assert (report.created["accounts"], report.updated["activities"]) == (1, 1)
    with engine.connect() as conn:
        touch = dict(
            conn.execute(select(AccountRollup.account_id, AccountRollup.last_touch_at)).all()
        )
        threads = conn.execute(select(EmailThread.account_id, EmailThread.thread_key)).all()
    assert touch["acc-new"] == datetime(2026, 11, 10, 15, tzinfo=UTC)
    assert touch["acc-1"] is None
    assert [tuple(t) for t in threads] == [("acc-new", "th-1")]


def test_partial_update_keeps_other_fields_and_null_clears(engine: Engine, tmp_path: Path) -> None:
    run(engine, tmp_path, portfolio())
    partial = {
        "format": "followup-portfolio/1",
        "accounts": [
            {"id": "acc-1", "name": "Globex", "mrr": 2000, "segment": None, "csm_pulse": None}
        ],
        "tasks": [{"id": "t-a", "account": "acc-1", "priority": None, "status": "done"}],
        "requests": [{"id": "r-1", "accounts": ["acc-2"]}],
    }
    report = run(engine, tmp_path, partial)
    assert report.updated == {"accounts": 1, "tasks": 1, "requests": 1}
    with engine.connect() as conn:
        acc = conn.execute(select(Account).where(Account.id == "acc-1")).one()
        assert acc.mrr == 2000
        assert acc.segment is None  # explicit null clears
        assert (acc.csm_pulse_score, acc.csm_pulse_note, acc.csm_pulse_set_by) == (None, None, None)
        assert acc.csm_id == "u-ana" and acc.touch_policy == "strategic"  # left out: kept
        assert acc.ai_pulse_score == 7 and acc.traits == {
            "region": "EMEA",
            "tier": {"nested": True},
        }
        task = conn.execute(select(Task).where(Task.id == "t-a")).one()
        assert (task.priority, task.status, task.title) == ("normal", "done", "Send deck")
        links = conn.execute(select(RequestAccount.account_id)).scalars().all()
        assert links == ["acc-2"]  # `accounts` replaces the links
        assert conn.execute(select(Request.status)).scalar_one() == "shipped"


def test_health_scores_and_product_events_are_keyed_by_their_natural_key(
    engine: Engine, tmp_path: Path
) -> None:
    run(engine, tmp_path, portfolio())
    again = {
        "format": "followup-portfolio/1",
        "health_scores": [
            {"account": "acc-1", "at": "2026-11-01T00:00:00Z", "score": 40},
            {"account": "acc-1", "at": "2026-11-15T00:00:00Z", "score": 45},
        ],
        "product_events": [
            {
                "account": "acc-1",
                "name": "login",
                "at": "2026-11-14T09:00:00Z",
                "properties": {"ip": "x"},
            }
        ],
    }
    report = run(engine, tmp_path, again)
    assert (report.created, report.updated) == (
        {"health_scores": 1, "product_events": 0},
        {"health_scores": 1, "product_events": 0},
    )
    with engine.connect() as conn:
        scores = conn.execute(
            select(HealthScore.at, HealthScore.score).order_by(HealthScore.at)
        ).all()
        assert [s for _, s in scores] == [80, 40, 45]
        rollup = conn.execute(
            select(AccountRollup).where(AccountRollup.account_id == "acc-1")
        ).one()
        assert (rollup.health_score, rollup.health_prev_score) == (45, 40)


def test_a_stored_health_score_takes_new_factors_without_its_score(
    engine: Engine, tmp_path: Path
) -> None:
    run(engine, tmp_path, portfolio())
    at = portfolio()["health_scores"][0]["at"]
    given = {"account": "acc-1", "at": at, "factors": {"usage": 9}}
    report = run(engine, tmp_path, {"format": "followup-portfolio/1", "health_scores": [given]})
    assert report.updated == {"health_scores": 1}
    with engine.connect() as conn:
        score, factors = conn.execute(
            select(HealthScore.score, HealthScore.factors)
            .where(HealthScore.account_id == "acc-1")
            .order_by(HealthScore.at)
        ).first() or (None, None)
    assert (score, factors) == (portfolio()["health_scores"][0]["score"], {"usage": 9})
    new = {"account": "acc-1", "at": "2026-09-01T00:00:00Z"}
    assert failure(
        engine, tmp_path, {"format": "followup-portfolio/1", "health_scores": [new]}
    ) == ["health_scores[0].score: required for a new health score"]
    cleared = {**given, "score": None}
    assert failure(
        engine, tmp_path, {"format": "followup-portfolio/1", "health_scores": [cleared]}
    ) == ["health_scores[0].score: required, must not be null"]


def test_naive_timestamps_are_read_in_the_org_timezone(engine: Engine, tmp_path: Path) -> None:
    data = portfolio()
    data["activities"][0]["at"] = "2026-01-15T09:00:00"  # EST: UTC-5
    data["activities"][1]["at"] = "2026-07-01"  # a plain date: midnight EDT (UTC-4)
    data["activities"][2]["at"] = "2026-07-01T09:00:00+02:00"  # absolute
    run(engine, tmp_path, data)
    # a later shard without an org: naive times still use the stored org's timezone
    shard = {
        "format": "followup-portfolio/1",
        "activities": [
            {
                "id": "a-7",
                "account": "acc-2",
                "at": "2026-03-02T08:30:00",
                "kind": "call",
                "direction": "outbound",
            }
        ],
    }
    run(engine, tmp_path, shard)
    with engine.connect() as conn:
        stored = dict(conn.execute(select(Activity.id, Activity.at)).all())
    assert stored["a-1"] == datetime(2026, 1, 15, 14, 0, tzinfo=UTC)
    assert stored["a-2"] == datetime(2026, 7, 1, 4, 0, tzinfo=UTC)
    assert stored["a-3"] == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    assert stored["a-7"] == datetime(2026, 3, 2, 13, 30, tzinfo=UTC)


def test_dry_run_counts_and_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    before = snapshot(engine)
    report = run(engine, tmp_path, portfolio(), dry_run=True)
    assert report.dry_run and report.created["activities"] == 3 and report.created["org"] == 1
    assert snapshot(engine) == before
    run(engine, tmp_path, portfolio())
    changed = portfolio()
    changed["accounts"][0]["mrr"] = 99
    report = run(engine, tmp_path, changed, dry_run=True)
    assert report.updated["accounts"] == 1 and report.unchanged["accounts"] == 1
    with engine.connect() as conn:
        assert conn.execute(select(Account.mrr).where(Account.id == "acc-1")).scalar_one() == 1200.5


def test_progress_is_reported(engine: Engine, tmp_path: Path) -> None:
    calls: list[tuple[int, int | None, str]] = []
    run(
        engine,
        tmp_path,
        portfolio(),
        progress=lambda done, total, label: calls.append((done, total, label)),
    )
    labels = [label for _, _, label in calls]
    assert labels[0] == "reading" and labels[-1] == "saving"
    assert "importing" in labels and "refreshing rollups" in labels
    done, total, _ = next(c for c in reversed(calls) if c[2] == "importing")
    assert done == total == 27  # every record of the file


# --------------------------------------------------------------------------- bad input


def _bad(change: Any) -> dict[str, Any]:
    data = portfolio()
    change(data)
    return data


BAD_INPUTS = {
    "wrong enum": (
        lambda d: d["accounts"][0].update(segment="Mid-market"),
        "accounts[0].segment: expected one of smb, mid_market, enterprise; got 'Mid-market'",
    ),
    "dangling reference": (
        lambda d: d["activities"][1].update(account="acc-x"),
        "activities[1].account: unknown account 'acc-x'",
    ),
    "dangling attendee": (
        lambda d: d["meetings"][0]["attendees"].append("nobody"),
        "meetings[0].attendees[2]: unknown contact or user 'nobody'",
    ),
    "dangling request link": (
        lambda d: d["requests"][0]["accounts"].append("acc-9"),
        "requests[0].accounts[2]: unknown account 'acc-9'",
    ),
    "bad date": (
        lambda d: d["accounts"][0].update(renewal_date="2027-02-30"),
        "accounts[0].renewal_date: not a valid date: '2027-02-30'",
    ),
    "date in the wrong format": (
        lambda d: d["accounts"][0].update(renewal_date="03/01/2027"),
        "accounts[0].renewal_date: expected a date YYYY-MM-DD, got '03/01/2027'",
    ),
    "bad timestamp": (
        lambda d: d["activities"][0].update(at="yesterday"),
        "activities[0].at: expected an ISO 8601 timestamp, got 'yesterday'",
    ),
    "negative mrr": (
        lambda d: d["accounts"][0].update(mrr=-5),
        "accounts[0].mrr: must be ≥ 0, got -5",
    ),
    "mrr as a string": (
        lambda d: d["accounts"][0].update(mrr="1200"),
        "accounts[0].mrr: expected a number, got '1200'",
    ),
    "pulse out of range": (
        lambda d: d["accounts"][0]["csm_pulse"].update(score=11),
        "accounts[0].csm_pulse.score: must be between 1 and 10, got 11",
    ),
    "unknown field": (
        lambda d: d["accounts"][0].update(mrrr=5),
        "accounts[0].mrrr: unknown field (did you mean 'mrr'?)",
    ),
    "unknown top-level key": (
        lambda d: d.update(acounts=[]),
        "acounts: unknown top-level key (did you mean 'accounts'?)",
    ),
    "duplicate id": (
        lambda d: d["accounts"].append({"id": "acc-1", "name": "Again"}),
        "accounts[2].id: duplicate id 'acc-1' (first at accounts[0])",
    ),
    "duplicate id among ids that are not strings": (
        lambda d: d["accounts"].extend(
            [{"id": ["acc-1"], "name": "A"}, {"id": 7, "name": "B"}, {"id": "acc-1", "name": "C"}]
        ),
        "accounts[4].id: duplicate id 'acc-1' (first at accounts[0])",
    ),
    "different org name": (
        lambda d: d["org"].update(name="Other Org"),
        "org.name: this database holds the org 'Acme CS', not 'Other Org' "
        "(one database holds one org)",
    ),
    "shipped without shipped_at": (
        lambda d: d["requests"][0].pop("shipped_at"),
        "requests[0].shipped_at: required when the status is shipped",
    ),
    "duplicate natural key": (
        lambda d: d["health_scores"].append(
            {"account": "acc-1", "at": "2026-10-01T02:00:00+02:00", "score": 10}
        ),
        "health_scores[2]: duplicate of health_scores[0] (same account, at)",
    ),
    "missing required field": (
        lambda d: d["activities"][0].pop("direction"),
        "activities[0].direction: required",
    ),
    "bad rule": (
        lambda d: d["org"]["rules"].update(touch_dayz=3),
        "org.rules.touch_dayz: unknown rule",
    ),
    "unknown signal": (
        lambda d: d["teams"][0]["rules"].update(disabled_signals=["low_pluse"]),
        "teams[0].rules.disabled_signals: unknown signal(s) 'low_pluse'",
    ),
    "bad timezone": (
        lambda d: d["users"][1].update(timezone="Mars/Olympus"),
        "users[1].timezone: unknown IANA timezone 'Mars/Olympus'",
    ),
    "bad digest": (
        lambda d: d["org"]["digest"].update(send_at="8:30"),
        "org.digest.send_at: expected a time HH:MM, got '8:30'",
    ),
    "a note that is not internal": (
        lambda d: d["activities"][1].update(direction="outbound"),
        "activities[1].direction: a note is internal, got 'outbound'",
    ),
    # values that once got past the checks and made the database raise a traceback
    "a whole number no column holds": (
        lambda d: d["accounts"][0].update(open_issues=10**20),
        "accounts[0].open_issues: out of range: whole numbers here go from -2147483648 "
        "to 2147483647",
    ),
    "a timestamp that leaves the calendar in UTC": (
        lambda d: d["accounts"][0].update(created_at="0001-01-01T00:00:00+01:00"),
        "accounts[0].created_at: out of range: '0001-01-01T00:00:00+01:00' is before year 1 "
        "or after 9999 in UTC",
    ),
    "a naive timestamp that leaves the calendar in UTC": (  # 23:00 in New York is 04:00 UTC
        lambda d: d["activities"][0].update(at="9999-12-31T23:00:00"),
        "activities[0].at: out of range: '9999-12-31T23:00:00' is before year 1 or after "
        "9999 in UTC",
    ),
    "a lone surrogate": (  # json.dumps writes it as the escape \ud800
        lambda d: d["accounts"][0].update(name="Acme \ud800 Corp"),
        "accounts[0].name: not valid text: it holds a lone surrogate escape "
        "(\\ud800-\\udfff without its pair)",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_refused_with_its_path_and_writes_nothing(
    engine: Engine, tmp_path: Path, case: str
) -> None:
    change, expected = BAD_INPUTS[case]
    if case == "different org name":
        run(engine, tmp_path, portfolio())
    assert expected in failure(engine, tmp_path, _bad(change))


def test_a_number_beyond_64_bits_is_stored_as_the_nearest_float(
    engine: Engine, tmp_path: Path
) -> None:
    data = portfolio()
    data["accounts"][0]["mrr"] = 10**20
    run(engine, tmp_path, data)
    with engine.connect() as conn:
        mrr = conn.execute(select(Account.mrr).where(Account.id == "acc-1")).scalar_one()
    assert mrr == 1e20


def test_a_lone_surrogate_in_a_key_is_named_too(engine: Engine, tmp_path: Path) -> None:
    text = json.dumps(portfolio()).replace('"traits": {', '"traits": {"\\udc00x": 1, ', 1)
    assert failure(engine, tmp_path, text) == [
        "accounts[0].traits.\\udc00x: the key is not valid text: it holds a lone surrogate "
        "escape (\\ud800-\\udfff without its pair)"
    ]


def test_malformed_json_gives_line_and_column(engine: Engine, tmp_path: Path) -> None:
    broken = "\n".join(
        [
            "{",
            '  "format": "followup-portfolio/1",',
            '  "accounts": [',
            '    {"id": "a" "name": "x"}]}',
        ]
    )
    assert failure(engine, tmp_path, broken) == [
        "line 4, column 16: invalid JSON: Expecting ',' delimiter"
    ]


def test_wrong_format_is_refused(engine: Engine, tmp_path: Path) -> None:
    assert failure(engine, tmp_path, {"format": "followup-portfolio/9"}) == [
        "format: expected \"followup-portfolio/1\", got 'followup-portfolio/9'"
    ]


def test_every_error_is_listed(engine: Engine, tmp_path: Path) -> None:
    data = portfolio()
    data["accounts"][0]["mrr"] = -1
    data["accounts"][1]["segment"] = "huge"
    data["contacts"][0]["account"] = "acc-404"
    data["contacts"][0]["role"] = "boss"  # the same record: both problems are listed
    data["tasks"][0]["priority"] = "asap"
    errors = failure(engine, tmp_path, data)
    assert [e.split(":")[0] for e in errors] == [
        "accounts[0].mrr",
        "accounts[1].segment",
        "contacts[0].role",
        "tasks[0].priority",
        "contacts[0].account",
    ]


def test_a_failed_import_leaves_the_database_exactly_as_before(
    engine: Engine, tmp_path: Path
) -> None:
    run(engine, tmp_path, portfolio())
    bad = copy.deepcopy(portfolio())
    bad["accounts"][0]["mrr"] = 5  # valid changes to stored records ...
    bad["requests"][0]["accounts"] = ["acc-2"]
    bad["activities"].append(
        {
            "id": "a-new",
            "account": "acc-1",
            "at": "2026-11-15T10:00:00Z",
            "kind": "email",
            "direction": "outbound",
        }
    )
    bad["tasks"][0]["assignee"] = "u-ghost"  # ... and one dangling reference
    assert failure(engine, tmp_path, bad) == ["tasks[0].assignee: unknown user 'u-ghost'"]


def test_references_may_point_into_the_database(engine: Engine, tmp_path: Path) -> None:
    run(engine, tmp_path, portfolio())
    shard = {
        "format": "followup-portfolio/1",
        "meetings": [
            {
                "id": "m-2",
                "account": "acc-1",
                "starts_at": "2026-11-20T15:00:00Z",
                "attendees": ["c-1", "u-mia"],
            }
        ],
        "tasks": [{"id": "t-c", "account": "acc-2", "assignee": "u-mia", "request": "r-1"}],
    }
    assert run(engine, tmp_path, shard).created == {"meetings": 1, "tasks": 1}


def test_free_text_labels_hold_a_hundred_characters(engine: Engine, tmp_path: Path) -> None:
    data = portfolio()
    data["cases"][0]["priority"] = "P1 - Critical (SLA)"
    data["opportunities"][0]["stage"] = "Negotiation / legal review " * 3
    data["kpis"][0]["unit"] = "tickets resolved per agent per week"
    run(engine, tmp_path, data)
    with engine.connect() as conn:
        assert conn.execute(select(CASES.c.priority)).scalar_one() == "P1 - Critical (SLA)"
    data["cases"][0]["priority"] = "x" * 101
    assert failure(engine, tmp_path, data) == ["cases[0].priority: longer than 100 characters"]


def test_a_meeting_lists_users_and_its_own_accounts_contacts_only(
    engine: Engine, tmp_path: Path
) -> None:
    data = portfolio()
    data["contacts"].append({"id": "c-2", "account": "acc-2", "name": "Ola"})
    data["meetings"][0]["attendees"] = ["c-1", "u-ana", "c-2"]
    assert failure(engine, tmp_path, data) == [
        "meetings[0].attendees[2]: contact 'c-2' belongs to account 'acc-2', "
        "not to the meeting's account 'acc-1'"
    ]
    data["meetings"][0]["attendees"] = ["c-1", "u-ana"]
    run(engine, tmp_path, data)
    # a later file that lists a stored contact of another account
    moved = {"id": "m-1", "account": "acc-1", "starts_at": "2026-11-09T15:00:00Z"}
    later = {"format": "followup-portfolio/1", "meetings": [{**moved, "attendees": ["c-2"]}]}
    assert failure(engine, tmp_path, later) == [
        "meetings[0].attendees[0]: contact 'c-2' belongs to account 'acc-2', "
        "not to the meeting's account 'acc-1'"
    ]
    # an id that is a user's as well as another account's contact is that user
    data["users"].append({"id": "c-2", "name": "Ola from the team"})
    data["meetings"][0]["attendees"] = ["c-2"]
    assert run(engine, tmp_path, data).updated["meetings"] == 1


def test_a_new_team_needs_a_name(engine: Engine, tmp_path: Path) -> None:
    data = {"format": "followup-portfolio/1", "teams": [{"id": "t-9"}]}
    assert failure(engine, tmp_path, data) == ["teams[0].name: required for a new team"]


def test_a_stored_teams_name_cannot_be_cleared(engine: Engine, tmp_path: Path) -> None:
    run(engine, tmp_path, portfolio())
    data = {"format": "followup-portfolio/1", "teams": [{"id": "t-1", "name": None}]}
    # (the database refused it before, with no path: NOT NULL constraint failed: teams.name)
    assert failure(engine, tmp_path, data) == ["teams[0].name: required, must not be null"]


AUDIT_LOG = cast(Table, AuditLog.__table__)
CASES = cast(Table, Base.metadata.tables["cases"])


def schema(engine: Engine) -> str:
    """Every table's foreign keys, keys, unique constraints and indexes, as one text."""
    inspector = inspect(engine)
    tables: dict[str, Any] = {
        table: (
            inspector.get_foreign_keys(table),
            inspector.get_pk_constraint(table),
            inspector.get_unique_constraints(table),
            sorted(inspector.get_indexes(table), key=lambda index: str(index["name"])),
        )
        for table in sorted(inspector.get_table_names())
    }
    if engine.dialect.name == "sqlite":  # each index's own statement (a partial one's WHERE)
        with engine.connect() as conn:
            query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
            tables["(index statements)"] = [tuple(row) for row in conn.exec_driver_sql(query)]
    return json.dumps(tables, default=str, sort_keys=True)  # a partial index's WHERE too


def test_a_bulk_load_writes_every_row_and_keeps_every_key_and_index(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A first load of 12,500 activities (more than BULK_LOAD_ROWS): their indexes are built
    after the writes, and on PostgreSQL their foreign keys checked once after the COPY instead
    of row by row; the keys and indexes are all back afterwards, and still refuse a dangling
    reference and a duplicate id."""
    shards = cached_dataset(tmp_path / "data", accounts=250, activities_per_account=50)
    before = schema(engine)
    with caplog.at_level(logging.INFO, logger="bot.db.bulk"):
        records = sum(import_file(engine, shard, now=NOW).records for shard in shards)
    bulk = [r.getMessage() for r in caplog.records if "bulk load" in r.getMessage()]
    assert bulk
    assert all("activities" in message for message in bulk)
    assert schema(engine) == before
    in_files = sum(len(json.loads(s.read_text()).get("activities", [])) for s in shards)
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(Activity)).scalar()
    assert stored == in_files > BULK_LOAD_ROWS and records > in_files
    activity = {"kind": "note", "direction": "internal", "at": NOW}
    with pytest.raises(IntegrityError, match=r"(?i)foreign key"), engine.begin() as conn:
        conn.execute(insert(Activity).values(id="act-dangling", account_id="nobody", **activity))
    with engine.connect() as conn:
        first = conn.execute(select(Activity.id, Activity.account_id).limit(1)).one()
    with pytest.raises(IntegrityError, match=r"(?i)unique|duplicate"), engine.begin() as conn:
        conn.execute(insert(Activity).values(id=first.id, account_id=first.account_id, **activity))


def test_a_sqlite_bulk_load_builds_again_an_index_whose_statement_holds_a_colon(
    sqlite_url: str, tmp_path: Path
) -> None:
    """An index of an admin's own, whose WHERE holds ``':'``, is dropped for a bulk load and
    built again from its own statement, the colon read as text (not a bind parameter)."""
    engine = make_engine(sqlite_url)
    own = "CREATE INDEX ix_activities_odd ON activities (kind) WHERE subject <> 'Re: :x'"
    with engine.begin() as conn:
        conn.exec_driver_sql(own)
    (org, *shards) = cached_dataset(tmp_path / "data", accounts=250, activities_per_account=50)
    for shard in (org, *shards):
        import_file(engine, shard, now=NOW)
    with engine.connect() as conn:
        query = "SELECT sql FROM sqlite_master WHERE name = 'ix_activities_odd'"
        assert conn.exec_driver_sql(query).scalar_one() == own
        stored = conn.execute(select(func.count()).select_from(Activity)).scalar_one()
    assert stored > BULK_LOAD_ROWS
    engine.dispose()


def _streamed_shard(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """A 250-account shard (5,000 activities) to import in 1,000-record parts, every table a
    bulk load; its users and teams are imported already."""
    monkeypatch.setattr("bot.db.bulk.BULK_LOAD_ROWS", 100)
    monkeypatch.setattr("bot.importer.portfolio.PART", 1000)
    org, shard, *_ = cached_dataset(tmp_path / "data", accounts=250, activities_per_account=20)
    import_file(engine, org, now=NOW)
    data: dict[str, Any] = json.loads(shard.read_text())
    return data


@pytest.mark.parametrize("problem", ["dangling account", "bad time"])
def test_a_problem_found_after_the_writes_began_leaves_nothing_written(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, problem: str
) -> None:
    """Each kind is written while the rest of the file is still being checked (1,000 records
    at a time here, every table a bulk load). A problem in the last activity — a dangling
    account, which PostgreSQL also refuses when the foreign keys come back, or a bad time —
    still fails the import with its path, and leaves every row, key and index as it was."""
    data = _streamed_shard(engine, tmp_path, monkeypatch)
    last = len(data["activities"]) - 1
    assert last > 2000
    if problem == "dangling account":
        data["activities"][last]["account"] = "nobody"
        expected = f"activities[{last}].account: unknown account 'nobody'"
    else:
        data["activities"][last]["at"] = bad = "2026-02-30T10:00:00Z"
        expected = f"activities[{last}].at: expected an ISO 8601 timestamp, got '{bad}'"
    before = schema(engine)
    assert failure(engine, tmp_path, data) == [expected]
    assert schema(engine) == before


def test_rollups_stored_by_a_bulk_load_are_the_ones_a_refresh_computes(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the bulk-load threshold lowered so that every table of a small portfolio counts
    (rollups and email threads included), the rollups and threads the import stores are
    exactly those folded again from the stored activities, and the schema is intact."""
    monkeypatch.setattr("bot.db.bulk.BULK_LOAD_ROWS", 100)
    shards = cached_dataset(tmp_path / "data", accounts=250, activities_per_account=20)
    before = inspect(engine).get_indexes("email_threads")
    for shard in shards:
        import_file(engine, shard, now=NOW)
    assert inspect(engine).get_indexes("email_threads") == before
    with engine.connect() as conn:
        accounts = list(conn.execute(select(Account.id)).scalars())
        folds = load_folds(conn, accounts)
        stored = {row.account_id: row for row in conn.execute(select(AccountRollup))}
        threads = {
            (row.account_id, row.thread_key): row for row in conn.execute(select(EmailThread))
        }
    assert len(stored) == len(accounts) == 250
    assert len(threads) == sum(len(f.threads) for f in folds.values()) > 100
    for account_id, fold in folds.items():
        assert stored[account_id]._asdict() == fold.row()
        for key, thread in fold.threads.items():
            row = threads[(account_id, key)]
            assert (row.last_at, row.last_direction, row.first_unreplied_at, row.messages) == (
                thread.last_at,
                thread.last_direction,
                thread.first_unreplied_at,
                thread.messages,
            )


def test_a_bulk_load_that_also_updates_stored_rows(
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One file that changes stored activities and adds more new ones than the table holds
    (a bulk load on PostgreSQL, with the threshold lowered, whose updates run while its foreign
    keys are away): every change and every new row is stored, and the keys are all back."""
    data = _streamed_shard(engine, tmp_path, monkeypatch)
    activities = data["activities"]
    first = dict(data, activities=activities[:1000])
    edited = tmp_path / "first.json"
    edited.write_text(json.dumps(first))
    import_file(engine, edited, now=NOW)
    before = schema(engine)
    for activity in activities[:1000:10]:
        activity["subject"] = f"Changed {activity['id']}"
    whole = tmp_path / "whole.json"
    whole.write_text(json.dumps(data))
    with caplog.at_level(logging.INFO, logger="bot.db.bulk"):
        report = import_file(engine, whole, now=NOW)
    bulk = [r.getMessage() for r in caplog.records if "bulk load" in r.getMessage()]
    assert any("activities" in m for m in bulk) == (engine.dialect.name == "postgresql")
    assert report.updated["activities"] == 100
    assert report.created["activities"] == len(activities) - 1000 > 1000
    assert schema(engine) == before
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(Activity)).scalar()
        changed = conn.execute(
            select(func.count()).select_from(Activity).where(Activity.subject.like("Changed %"))
        ).scalar()
    assert (stored, changed) == (len(activities), 100)


@pytest.mark.postgres
def test_a_long_list_of_ids_reaches_postgresql_as_one_constant_array(pg_engine: Engine) -> None:
    """The importer looks up stored rows by lists of hundreds of thousands of ids. On
    PostgreSQL the list must reach the planner as a constant, which it hashes: otherwise each
    row scanned is compared with every id (a re-import of 12,500 activities took 52 s)."""
    ids = [f"act-{i}" for i in range(500)]
    with pg_engine.connect() as conn:
        query = select(Activity.id).where(member_of(conn, Activity.id, ids))
        compiled = query.compile(conn)
        plan = conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params).scalars().all()
    assert any("ANY ('{" in line for line in plan), plan


def test_ids_with_quotes_backslashes_commas_and_braces_are_found_again(
    engine: Engine, tmp_path: Path
) -> None:
    """Stored rows are looked up by long lists of ids (on PostgreSQL, sent as the text of one
    array): ids holding the characters that text quotes or separates by are found again, so
    a second import of the same file changes nothing, and a changed one updates just it."""
    data = portfolio()
    odd = ['q"uote', "back\\slash", "com,ma", "{brace}", "sp aced", "NULL", '\\"', "é"]
    template = data["activities"][0]
    data["activities"] = [
        {**template, "id": f"act-{i}-{odd[i % len(odd)]}" if i >= len(odd) else odd[i]}
        for i in range(160)
    ]
    for activity in data["activities"]:
        activity.pop("request", None)
    path = write(tmp_path, data)
    first = import_file(engine, path, now=NOW)
    count = len(data["activities"])
    assert first.created["activities"] == count > 150
    again = import_file(engine, path, now=NOW)
    assert again.unchanged["activities"] == count
    data["activities"][1]["subject"] = "Changed"
    changed = import_file(engine, write(tmp_path, data), now=NOW)
    assert (changed.updated["activities"], changed.unchanged["activities"]) == (1, count - 1)


def test_a_big_re_import_finds_every_stored_record(engine: Engine, tmp_path: Path) -> None:
    """Importing 12,500 activities again changes nothing; changing 1,250 of them updates exactly
    those (the stored rows are looked up in lists far longer than one SQL IN list holds)."""
    shards = cached_dataset(tmp_path / "data", accounts=250, activities_per_account=50)
    for shard in shards:
        import_file(engine, shard, now=NOW)
    again = [import_file(engine, shard, now=NOW) for shard in shards]
    total = sum(r.unchanged.get("activities", 0) for r in again)
    assert total > 10_000
    assert sum(r.created.get("activities", 0) + r.updated.get("activities", 0) for r in again) == 0

    data = json.loads(shards[-1].read_text())
    changed = data["activities"][::10]
    for activity in changed:
        activity["subject"] = f"Re-imported {activity['id']}"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data))
    report = import_file(engine, edited, now=NOW)
    assert report.updated["activities"] == len(changed) > 900
    assert report.unchanged["activities"] == len(data["activities"]) - len(changed)
    with engine.connect() as conn:
        subjects = dict(
            conn.execute(
                select(Activity.id, Activity.subject).where(Activity.subject.like("Re-imported %"))
            ).all()
        )
    assert subjects == {a["id"]: f"Re-imported {a['id']}" for a in changed}


def test_a_write_that_fails_in_the_background_fails_the_whole_transaction(
    engine: Engine,
) -> None:
    """On SQLite the big INSERTs run on a background thread: an INSERT the database refuses
    there still fails the caller's transaction, and none of its rows stay — the rows inserted
    before it included."""
    table = Team.__table__
    assert isinstance(table, Table)
    teams = [{"id": f"team-{i}", "name": f"Team {i}"} for i in range(3000)]
    refused = pytest.raises(Exception, match=r"(?i)unique|duplicate")
    with refused, engine.begin() as conn, background_inserts(conn) as inserts:
        bulk_insert(conn, table, [dict(t) for t in teams], inserts)
        bulk_insert(conn, table, [dict(teams[-1])], inserts)  # the same id again
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Team)).scalar() == 0


def test_bulk_rows_keep_their_nulls_apart_from_every_text(engine: Engine) -> None:
    """NULLs and texts written by the bulk path read back as given, in columns that hold both:
    an empty text, and on SQLite (which stores it) a lone NUL character, included."""
    table = AUDIT_LOG
    texts = [None, "", "x", None, "Ünïcode", None]
    if engine.dialect.name == "sqlite":
        texts.append("\x00")
    rows = [
        {"at": NOW, "action": f"a{i}", "actor": text, "subject": None if i % 2 else text}
        for i, text in enumerate(texts)
    ]
    with engine.begin() as conn:
        bulk_insert(conn, table, rows)
    with engine.connect() as conn:
        columns = (AuditLog.action, AuditLog.actor, AuditLog.subject)
        stored = [tuple(row) for row in conn.execute(select(*columns).order_by(AuditLog.action))]
    assert stored == [(row["action"], row["actor"], row["subject"]) for row in rows]


def test_rows_written_in_bulk_read_back_and_sort_like_the_bots_own(engine: Engine) -> None:
    """Instants and JSON written by the bulk path (the importer's) are stored as the bot's own
    writes store them: they read back equal, and a range query over both kinds of rows finds
    the same ones."""
    table = AUDIT_LOG
    instants = [
        datetime(2026, 11, 16, 13, 30, tzinfo=UTC),
        datetime(2026, 11, 16, 13, 30, 0, 1, tzinfo=UTC),
        datetime(2026, 11, 16, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
    ]
    details = [{"note": "café ☕", "big": 2**70}, {"nested": [1, 2.5, None, True]}, None]
    rows = [
        {"at": at, "actor": "bulk", "action": "test", "subject": None, "details": details[i % 3]}
        for i, at in enumerate(instants)
    ]
    with engine.begin() as conn:
        bulk_insert(conn, table, rows)
        conn.execute(insert(table), [{**row, "actor": "orm"} for row in rows])
    with engine.connect() as conn:
        stored = conn.execute(
            select(table.c.actor, table.c.at, table.c.details).order_by(table.c.at)
        ).all()
        later = conn.execute(
            select(table.c.actor, table.c.at).where(table.c.at > instants[1]).order_by("at")
        ).all()
    by_time = sorted((row["at"], row["details"]) for row in rows)
    for actor in ("bulk", "orm"):
        assert [(at, d) for who, at, d in stored if who == actor] == by_time
    expected = sorted(at for at in instants if at > instants[1])
    assert [at for who, at in later if who == "bulk"] == expected
    assert [at for who, at in later if who == "orm"] == expected


def test_a_naive_time_given_to_a_bulk_write_is_refused_by_name(engine: Engine) -> None:
    """Instants must carry their zone: a naive one is refused with the column type's own
    message on both backends (binary COPY would otherwise read it as UTC), and nothing stays."""
    table = AUDIT_LOG
    rows = [
        {"at": NOW, "actor": "a", "action": "x", "subject": None, "details": None},
        {
            "at": datetime(2026, 11, 16, 9, 0),
            "actor": "b",
            "action": "x",
            "subject": None,
            "details": None,
        },
    ]
    with pytest.raises(ValueError, match="naive datetime"), engine.begin() as conn:
        bulk_insert(conn, table, rows)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(table)).scalar() == 0
