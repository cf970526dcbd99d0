"""The escalation scan's one query (each alert's cutoff by its CSM, in SQL) against a plain
per-alert check — business hours from ``first_critical_at`` to ``now`` in the CSM's zone
(``business_hours_between``) against the threshold of the CSM's team — over randomized alerts,
CSMs in many zones (DST, half-hour offsets, CSMs with no zone of their own, accounts with no
CSM), team thresholds (none, shorter, longer, 0, one no business time can reach), the org's
business hours and moments across nights, weekends and DST changes, on SQLite and PostgreSQL.
Alerts sit exactly on, and a microsecond either side of, each CSM's cutoff at some moments."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert

from bot.db.models import Account, Alert, Org, Team, User
from bot.engine.business_time import BusinessHours, business_hours_between, business_start_for
from bot.service.escalation_scan import SLA, TIER_DROP, Due, due_escalations
from bot.service.people import load_people

ZONES = ["America/New_York", "America/Los_Angeles", "Europe/Berlin", "Asia/Tokyo",
         "Asia/Kolkata", "Australia/Lord_Howe", "America/St_Johns", "UTC"]  # fmt: skip
ESCALATE_AFTER = "escalate_after_business_hours"
TEAM_HOURS: dict[str, float | None] = {"t-org": None, "t-short": 4, "t-long": 40,
                                       "t-now": 0, "t-never": 100_000}  # fmt: skip
BUSINESS_HOURS: list[dict[str, Any] | None] = [
    None,  # 09:00–17:00, Monday to Friday
    {"start": "08:30", "end": "18:00", "days": [7, 1, 2, 3, 4]},
    {"start": "00:00", "end": "24:00", "days": [1, 2, 3, 4, 5, 6]},
]
MOMENTS = [
    datetime(2026, 11, 18, 20, 0, tzinfo=UTC),  # a Wednesday afternoon in New York
    datetime(2026, 11, 23, 3, 30, tzinfo=UTC),  # Sunday night in America, Monday in Asia
    datetime(2026, 11, 2, 14, 0, tzinfo=UTC),  # the Monday after New York left DST
    datetime(2027, 3, 15, 13, 0, tzinfo=UTC),  # the Monday after New York entered DST
    datetime(2027, 3, 29, 7, 15, tzinfo=UTC),  # the Monday after Berlin entered DST
    datetime(2026, 12, 26, 12, 0, tzinfo=UTC),  # a Saturday
]


def _data(rng: random.Random) -> dict[str, Any]:
    org_tz = rng.choice(ZONES)
    hours = rng.choice(BUSINESS_HOURS)
    org_rules = rng.choice([None, {ESCALATE_AFTER: 8}])
    users = []
    for n in range(14):
        tz = rng.choice([*ZONES, None])
        slack_tz = rng.choice([None, rng.choice(ZONES)])
        team = rng.choice([*TEAM_HOURS, None])
        users.append({"id": f"u-{n}", "name": f"CSM {n}", "role": "csm", "team_id": team,
                      "timezone": tz, "slack_timezone": slack_tz})  # fmt: skip
    csms = [u["id"] for u in users] + [None, None]
    accounts = [
        {"id": f"a-{n}", "name": f"Account {n}", "csm_id": rng.choice(csms)} for n in range(50)
    ]
    return {"org_tz": org_tz, "hours": hours, "org_rules": org_rules, "users": users,
            "accounts": accounts}  # fmt: skip


def _zone_and_threshold(data: dict[str, Any], csm_id: str | None) -> tuple[str, float]:
    """Written out from the rules, not through the code under test."""
    org_threshold = (data["org_rules"] or {}).get(ESCALATE_AFTER, 16)
    user = next((u for u in data["users"] if u["id"] == csm_id), None)
    if user is None:
        return data["org_tz"], org_threshold
    team = TEAM_HOURS.get(user["team_id"]) if user["team_id"] else None
    zone = user["timezone"] or user["slack_timezone"] or data["org_tz"]
    return zone, org_threshold if team is None else team


def _alerts(rng: random.Random, data: dict[str, Any], count: int) -> list[dict[str, Any]]:
    hours = BusinessHours.from_config(data["hours"])
    rows = []

    def add(account: dict[str, Any], first: datetime | None, **over: Any) -> None:
        n = len(rows)
        row = {"key": f"{account['id']}|x|{n}", "account_id": account["id"],
               "signal": "overdue_task", "evidence": f"e-{n}", "lane": "owe_them_something",
               "severity": "critical", "detail": "d", "state": "open",
               "first_fired_at": datetime(2026, 1, 1, tzinfo=UTC), "first_critical_at": first,
               "escalated_at": None, "cleared_at": None}  # fmt: skip
        rows.append({**row, **over})

    for _ in range(count):
        moment = rng.choice(MOMENTS)
        first = moment - timedelta(
            minutes=rng.randrange(0, 8 * 24 * 60), seconds=rng.choice([0, 1])
        )
        over: dict[str, Any] = {}
        if rng.random() < 0.1:
            first = moment + timedelta(hours=rng.randrange(1, 48))  # critical after the moment
        if rng.random() < 0.05:
            first = None
        if rng.random() < 0.1:
            over["signal"] = "health_drop"
        if rng.random() < 0.15:
            over["state"] = rng.choice(["snoozed", "done", "dismissed"])
        if rng.random() < 0.1:
            over["severity"] = rng.choice(["high", "medium"])
        if rng.random() < 0.1:
            over["escalated_at"] = moment - timedelta(hours=1)
        if rng.random() < 0.1:
            over["cleared_at"] = moment - timedelta(hours=2)
        add(rng.choice(data["accounts"]), first, **over)
    # On the cutoff of an account's CSM at a moment, and a microsecond either side of it.
    for account in rng.sample(data["accounts"], 25):
        zone, threshold = _zone_and_threshold(data, account["csm_id"])
        moment = rng.choice(MOMENTS)
        cutoff = business_start_for(moment, threshold, zone, hours)
        if cutoff is not None:
            for shift in (-1, 0, 1):
                add(account, cutoff + timedelta(microseconds=shift))
    return rows


def _expected(
    data: dict[str, Any], alerts: list[dict[str, Any]], ids: list[int], now: datetime
) -> list[Due]:
    hours = BusinessHours.from_config(data["hours"])
    csm_of = {a["id"]: a["csm_id"] for a in data["accounts"]}
    out = []
    for alert_id, row in zip(ids, alerts, strict=True):
        if (row["state"], row["severity"]) != ("open", "critical"):
            continue
        if row["escalated_at"] is not None or row["cleared_at"] is not None:
            continue
        csm = csm_of[row["account_id"]]
        if row["signal"] == "health_drop":
            out.append(Due(alert_id, row["account_id"], csm, TIER_DROP))
            continue
        if row["first_critical_at"] is None or row["first_critical_at"] > now:
            continue  # not critical (yet, at ``now``: the moments share one set of alerts)
        zone, threshold = _zone_and_threshold(data, csm)
        if business_hours_between(row["first_critical_at"], now, zone, hours) >= threshold:
            out.append(Due(alert_id, row["account_id"], csm, SLA))
    return sorted(out, key=lambda d: d.alert_id)


SEEDS = [int(s) for s in os.environ.get("ESCALATION_SCAN_SEEDS", "1,2,3").split(",")]


@pytest.mark.parametrize("seed", SEEDS)
def test_the_scan_finds_what_a_per_alert_check_finds(engine: Engine, seed: int) -> None:
    rng = random.Random(seed)
    data = _data(rng)
    alerts = _alerts(rng, data, 500)
    with engine.begin() as conn:
        org = {"id": 1, "name": "Org", "timezone": data["org_tz"],
               "business_hours": data["hours"], "rules": data["org_rules"]}  # fmt: skip
        conn.execute(insert(Org).values(org))
        teams = [
            {"id": t, "name": t, "rules": None if h is None else {ESCALATE_AFTER: h}}
            for t, h in TEAM_HOURS.items()
        ]
        conn.execute(insert(Team), teams)
        conn.execute(insert(User), data["users"])
        conn.execute(insert(Account), data["accounts"])
        ids = [conn.execute(insert(Alert).values(row).returning(Alert.id)).scalar_one()
               for row in alerts]  # fmt: skip
    due_somewhere: set[int] = set()
    sla = 0
    with engine.connect() as conn:
        people = load_people(conn)
        for now in MOMENTS + [m + timedelta(hours=h) for m in MOMENTS for h in (5, 37)]:
            expected = _expected(data, alerts, ids, now)
            assert due_escalations(conn, people, now) == expected, now
            due_somewhere |= {d.alert_id for d in expected}
            sla += sum(d.reason == SLA for d in expected)
    # The data is not degenerate: most alerts are due at some moments and not at others.
    assert sla > 100 and 0 < len(due_somewhere) < len(alerts)


@pytest.mark.postgres
def test_the_scan_reads_the_partial_index_even_in_a_generic_plan(pg_engine: Engine) -> None:
    """The query names the conditions of ix_alerts_escalation_due as written (state and severity
    are not bound), so PostgreSQL may read that partial index even in a generic plan (a
    statement psycopg prepared)."""
    engine = pg_engine
    rng = random.Random(7)
    data = _data(rng)
    with engine.begin() as conn:
        conn.execute(insert(Org).values(id=1, name="Org", timezone="UTC"))
        conn.execute(insert(Team), [{"id": t, "name": t} for t in TEAM_HOURS])
        conn.execute(insert(User), data["users"])
        conn.execute(insert(Account), data["accounts"])
        conn.execute(insert(Alert), _alerts(rng, data, 50))
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if "FROM alerts" in statement:
            seen.append((statement, parameters))

    with engine.begin() as conn:
        event.listen(conn, "before_cursor_execute", capture)
        due_escalations(conn, load_people(conn), MOMENTS[0])
        event.remove(conn, "before_cursor_execute", capture)
        [(statement, parameters)] = seen
        assert "'open'" in statement and "'critical'" in statement
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a small table
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        plan = " ".join(str(r) for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
    assert "ix_alerts_escalation_due" in plan, plan
