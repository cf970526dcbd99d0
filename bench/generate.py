"""Seeded generator of synthetic portfolios for the performance benchmark.

Writes a portfolio in the import format (``"format": "followup-portfolio/1"``, see
``data-format.md``) as a series of shard files, to be imported in order:

* ``000-org.json``: the org, its teams and users, and the ``reference_time``;
* ``001-accounts.json``, ``002-accounts.json``, ...: ``shard_size`` accounts each, with all their
  records (contacts, health scores, activities, meetings, tasks, product events), the feature
  requests of those accounts and a few exclusions.

Every shard only refers to ids of its own file or of shard 0, so each imports on its own once the
earlier shards are in. The same arguments always produce byte-identical files (each shard has its
own seeded random generator), so shards can be built in parallel (``jobs``).

Most accounts are well looked after; roughly a fifth are built to fire one or two follow-up
signals at ``reference_time`` (an unanswered customer email, an overdue task, a call to retry, a
quiet account, a stale meeting cadence, a meeting without next step, an unowned action item, a
health drop, a low or divergent pulse, nothing planned, a brand-new account nobody contacted) and
some feature requests shipped or were discussed without anybody telling the customer.

Usage::

    python bench/generate.py --accounts 10000 --activities-per-account 50 --seed 7 \\
        --shard-size 5000 --out DIR
"""

from __future__ import annotations

import argparse
import bisect
import gc
import json
import math
import multiprocessing
import os
import re
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

FORMAT = "followup-portfolio/1"
GENERATOR_VERSION = 1
REFERENCE_TIME = "2026-11-16T13:30:00Z"
ORG_NAME = "Benchmark Portfolio Inc."
ORG_TIMEZONE = "America/New_York"
USER_TIMEZONES = ("America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London")
ACCOUNTS_PER_TEAM = 2000
ACCOUNTS_PER_CSM = 250
ACCOUNTS_PER_REQUEST = 20
CONTACTS_PER_ACCOUNT = 3
HEALTH_SCORES_PER_ACCOUNT = 6
ADMIN_ID = "u-admin"
DEFAULT_CACHE_ROOT = Path(__file__).resolve().parent / ".cache"
MANIFEST = "manifest.json"

Record = dict[str, Any]

# --------------------------------------------------------------------------------------------
# Time: every instant is an int of minutes relative to REFERENCE_TIME (negative = before it),
# formatted through lookup tables (much faster than datetime.isoformat for millions of values).

DAY = 1440
HOUR = 60
_REF = datetime(2026, 11, 16, 13, 30, tzinfo=UTC)
_DAYS_BEFORE = 3000
_DAYS_AFTER = 1000
_BASE = datetime(2026, 11, 16, tzinfo=UTC) - timedelta(days=_DAYS_BEFORE)
_REF_OFFSET = _DAYS_BEFORE * DAY + 13 * HOUR + 30
_DAY_PREFIX = [
    (_BASE + timedelta(days=i)).strftime("%Y-%m-%dT") for i in range(_DAYS_BEFORE + _DAYS_AFTER)
]
_DATES = [p[:-1] for p in _DAY_PREFIX]
_CLOCK = [f"{h:02d}:{m:02d}:00Z" for h in range(24) for m in range(60)]


def ts(minutes: int) -> str:
    """ISO 8601 UTC timestamp of an instant given in minutes relative to the reference time."""
    i = minutes + _REF_OFFSET
    return _DAY_PREFIX[i // DAY] + _CLOCK[i % DAY]


def date(minutes: int) -> str:
    """Plain ``YYYY-MM-DD`` (UTC) of an instant given in minutes relative to the reference time."""
    return _DATES[(minutes + _REF_OFFSET) // DAY]


# --------------------------------------------------------------------------------------------
# Vocabulary.


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_NAME_A = _words(
    "Acme Northwind Globex Initech Umbrella Stark Wayne Wonka Tyrell Cyberdyne Soylent "
    "Hooli Pied Vandelay Massive Blue Bright Silver Red Green Summit Pioneer Harbor Granite "
    "Cedar Aurora Nimbus Quantum Vertex Atlas Beacon Crescent Delta Evergreen Falcon "
    "Horizon"
)
_NAME_B = _words(
    "Logistics Labs Health Foods Systems Analytics Retail Capital Robotics Energy Media "
    "Software Freight Bank Insurance Pharma Networks Studios Motors Telecom Holdings Works "
    "Partners Dynamics"
)
_FIRST = _words(
    "Ana Ben Chloe Diego Emma Farid Grace Hiro Ines Jonas Kara Li Mateo Nadia Omar Priya "
    "Quinn Rosa Sam Tariq Uma Victor Wei Ximena Yusuf Zoe"
)
_LAST = _words(
    "Adams Baker Chen Dubois Evans Fischer Garcia Hughes Ito Jensen Kowalski Lopez Müller "
    "Nakamura Okafor Patel Rossi Silva Tanaka Umar Varga Wang Xu Young Zhou"
)
_TITLES = (
    "VP Operations",
    "Head of IT",
    "CFO",
    "Director of Sales",
    "Product Manager",
    "Operations Lead",
    "CTO",
    "Procurement Manager",
    "Support Manager",
    "Analyst",
)
_THREAD_SUBJECTS = (
    "Renewal terms",
    "Question about invoice",
    "SSO setup",
    "Onboarding next steps",
    "API rate limits",
    "Seat expansion",
    "Data export",
    "Quarterly business review",
    "Bug in reporting",
    "Training session",
    "Security questionnaire",
    "Contract amendment",
    "Integration with Salesforce",
    "Usage report",
    "Feature request follow-up",
    "Billing contact",
    "Admin permissions",
    "Dashboard access",
    "Pricing for add-ons",
    "Migration plan",
)
_EMAIL_BODIES = (
    "Thanks for the quick turnaround, looping in our admin.",
    "Could you send over the updated quote?",
    "We are still seeing the issue after the update.",
    "Attached is the agenda for next week.",
    "Following up on our conversation from Tuesday.",
    "Can we move the call to Thursday afternoon?",
    "Here are the steps we discussed.",
    "Any update on this? The team is waiting.",
)
_NOTE_BODIES = (
    "Champion is changing roles next quarter; find a second sponsor.",
    "Budget review in January, renewal risk if adoption stays flat.",
    "Asked product about the export limits.",
    "Expansion opportunity in the EMEA team.",
    "Support escalation resolved, customer satisfied.",
    "Customer evaluating a competitor for one business unit.",
    "Usage dipped after the reorg.",
)
_PMN_BODIES = (
    "Agreed on rollout plan; they will confirm seat count.",
    "Reviewed KPIs, adoption up 12%. Next QBR in 90 days.",
    "Discussed renewal pricing, they want a multi-year option.",
    "Demoed the new dashboards, well received.",
)
_CHAT_BODIES = (
    "Quick question: where do I find the audit log?",
    "Is the maintenance window still Saturday?",
    "Shared the doc in your channel.",
    "Thanks, that fixed it!",
)
_CALL_SUBJECTS = ("Check-in call", "Renewal call", "Support follow-up", "Intro call")
_MEETING_TITLES = (
    "Quarterly business review",
    "Onboarding workshop",
    "Roadmap preview",
    "Executive sync",
    "Renewal planning",
    "Training session",
    "Health check",
    "Implementation review",
)
_NEXT_STEPS = (
    "Send recap and pricing options",
    "Schedule admin training",
    "Share roadmap deck",
    "Confirm seat count by Friday",
    "Set up SSO pilot",
    "Book executive sponsor call",
)
_ACTION_ITEMS = (
    "Send the recap",
    "Share the integration guide",
    "Open a ticket for the export bug",
    "Draft the expansion proposal",
    "Introduce the solutions engineer",
    "Update the success plan",
)
_TASK_TITLES = (
    "Prepare QBR deck",
    "Send renewal quote",
    "Follow up on support ticket",
    "Review adoption report",
    "Schedule training",
    "Check in with new admin",
    "Update account plan",
    "Confirm invoice contact",
)
_FEATURES = (
    "Okta SSO",
    "SCIM provisioning",
    "Audit log export",
    "Custom roles",
    "Salesforce sync",
    "EU data residency",
    "Bulk CSV import",
    "Webhooks v2",
    "Dark mode",
    "Scheduled reports",
    "HubSpot integration",
    "API pagination",
    "Mobile app offline mode",
    "Two-factor enforcement",
)
_EVENT_NAMES = ("login", "feature_used", "report_exported", "seat_added", "integration_connected")
_EVENT_FEATURES = ("dashboards", "exports", "alerts", "workflows", "api")
_REGIONS = ("NA", "EMEA", "APAC", "LATAM")
_CONTRACTS = ("annual", "multi_year", "monthly")
_CONTACT_ROLES = (
    ("champion",),
    ("decision_maker", "executive_sponsor"),
    ("user", "user", "billing"),
)

# Activity kinds and the 100-slot mix table (45% email, 15% call, 10% meeting, 20% note,
# 5% post-meeting note, 5% chat).
EMAIL, CALL, MEETING, NOTE, PMN, CHAT = range(6)
_KIND_NAMES = ("email", "call", "meeting", "note", "post_meeting_note", "chat")
_KIND_TABLE = bytes(
    [EMAIL] * 45 + [CALL] * 15 + [MEETING] * 10 + [NOTE] * 20 + [PMN] * 5 + [CHAT] * 5
)
_QUIET_KIND_TABLE = bytes([NOTE] * 70 + [CHAT] * 30)  # no customer touchpoint possible

# Account attributes.
_SEGMENTS = ("smb",) * 50 + ("mid_market",) * 35 + ("enterprise",) * 15
_MRR_RANGE = {"smb": (200, 3000), "mid_market": (3000, 20000), "enterprise": (20000, 150000)}
_TOUCH = {
    "smb": ("standard",) * 50 + ("low_touch",) * 40 + ("onboarding",) * 8 + ("strategic",) * 2,
    "mid_market": ("standard",) * 65
    + ("low_touch",) * 15
    + ("onboarding",) * 10
    + ("strategic",) * 10,
    "enterprise": ("standard",) * 45 + ("strategic",) * 45 + ("onboarding",) * 10,
}
_TOUCH_DAYS = {"strategic": 14, "onboarding": 7, "standard": 30, "low_touch": 60}
_CADENCE_DAYS = {"strategic": 30, "onboarding": 14, "standard": 90, "low_touch": None}
_BLOCKERS = ("none",) * 85 + ("minor",) * 10 + ("major",) * 5
_PRIORITIES = ("urgent",) * 15 + ("high",) * 30 + ("normal",) * 40 + ("low",) * 15
_IMPACTS = ("high",) * 25 + ("medium",) * 45 + ("low",) * 30
_REQUEST_STATUSES = (
    ("open",) * 30
    + ("planned",) * 15
    + ("in_progress",) * 15
    + ("shipped",) * 30
    + ("declined",) * 10
)
_HEALTH_TIERS = (80, 60, 40)

# Scenarios: what an account is built to fire at the reference time.
S_UNREPLIED = 1 << 0  # unreplied_customer_email
S_OVERDUE = 1 << 1  # overdue_task
S_CALL_RETRY = 1 << 2  # call_retry_due
S_NO_TOUCH = 1 << 3  # no_recent_touch
S_STALE_MEETING = 1 << 4  # stale_meeting_cadence
S_MISSING_NEXT = 1 << 5  # missing_next_step
S_UNOWNED = 1 << 6  # unowned_action_item
S_HEALTH_DROP = 1 << 7  # health_drop
S_PULSE = 1 << 8  # low_pulse / pulse_divergence
S_NO_NEXT_ACTION = 1 << 9  # no_next_action
S_NEW = 1 << 10  # no_first_response / never_touched
SCENARIO_RATE = 0.16  # share of accounts built to fire something
SECOND_SCENARIO_RATE = 0.25  # of those, share that also get a second (independent) scenario
_PRIMARY_SCENARIOS = (
    (S_UNREPLIED,) * 24
    + (S_OVERDUE,) * 14
    + (S_CALL_RETRY,) * 8
    + (S_NO_TOUCH,) * 8
    + (S_STALE_MEETING,) * 7
    + (S_MISSING_NEXT,) * 8
    + (S_UNOWNED,) * 6
    + (S_HEALTH_DROP,) * 10
    + (S_PULSE,) * 6
    + (S_NO_NEXT_ACTION,) * 6
    + (S_NEW,) * 3
)
_SECOND_SCENARIOS = (S_OVERDUE, S_UNOWNED, S_HEALTH_DROP, S_PULSE)


def _tier(score: int) -> int:
    for i, bound in enumerate(_HEALTH_TIERS):
        if score >= bound:
            return i
    return len(_HEALTH_TIERS)


# --------------------------------------------------------------------------------------------
# Layout: the deterministic numbers every shard needs to agree on.


def team_count(accounts: int) -> int:
    return max(1, round(accounts / ACCOUNTS_PER_TEAM))


def csm_count(accounts: int) -> int:
    return max(1, math.ceil(accounts / ACCOUNTS_PER_CSM))


def request_count(shard_accounts: int) -> int:
    return max(1, round(shard_accounts / ACCOUNTS_PER_REQUEST))


def shard_count(accounts: int, shard_size: int) -> int:
    """Number of files, shard 0 included."""
    return 1 + math.ceil(accounts / shard_size)


def shard_names(accounts: int, shard_size: int) -> list[str]:
    n = shard_count(accounts, shard_size)
    width = max(3, len(str(n - 1)))
    return [f"{0:0{width}d}-org.json"] + [f"{i:0{width}d}-accounts.json" for i in range(1, n)]


def _shard_seed(seed: int, shard: int) -> int:
    return seed * 1_000_003 + shard * 7_919 + 17


# --------------------------------------------------------------------------------------------
# Shard 0: org, teams, users.


def build_org_shard(accounts: int, seed: int) -> Record:
    rng = Random(_shard_seed(seed, 0))
    r = rng.random
    n_teams = team_count(accounts)
    n_csms = csm_count(accounts)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    used_slack: set[str] = set()

    def slack_id() -> str:
        while True:
            sid = "U" + "".join(alphabet[int(r() * 36)] for _ in range(10))
            if sid not in used_slack:
                used_slack.add(sid)
                return sid

    users: list[Record] = [
        {
            "id": ADMIN_ID,
            "name": "Alex Admin",
            "email": "alex.admin@bench.example.com",
            "slack_user_id": slack_id(),
            "role": "admin",
            "timezone": ORG_TIMEZONE,
        }
    ]
    teams: list[Record] = []
    for t in range(1, n_teams + 1):
        manager = f"mgr{t}"
        first, last = _FIRST[t % len(_FIRST)], _LAST[(t * 7) % len(_LAST)]
        team: Record = {"id": f"team{t}", "name": f"{_REGIONS[t % 4]} Team {t}", "manager": manager}
        if t % 5 == 0:
            team["rules"] = {"reply_sla_business_hours": 4, "touch_days": {"strategic": 10}}
        elif t % 7 == 0:
            team["rules"] = {"disabled_signals": ["stale_meeting_cadence", "no_next_action"]}
        teams.append(team)
        users.append(
            {
                "id": manager,
                "name": f"{first} {last}",
                "email": f"{first.lower()}.{last.lower()}.m{t}@bench.example.com",
                "slack_user_id": slack_id(),
                "role": "manager",
                "team": f"team{t}",
                "timezone": USER_TIMEZONES[t % len(USER_TIMEZONES)],
            }
        )
    for c in range(1, n_csms + 1):
        first, last = _FIRST[int(r() * len(_FIRST))], _LAST[int(r() * len(_LAST))]
        user: Record = {
            "id": f"u{c}",
            "name": f"{first} {last}",
            "email": f"{first.lower()}.{last.lower()}.{c}@bench.example.com",
            "slack_user_id": slack_id(),
            "role": "csm",
            "team": f"team{(c - 1) % n_teams + 1}",
            "timezone": USER_TIMEZONES[int(r() * len(USER_TIMEZONES))],
        }
        v = r()
        if v < 0.08:
            user["digest"] = {"opt_out": True, "sensitivity": None, "send_at": None}
        elif v < 0.25:
            user["digest"] = {"opt_out": False, "sensitivity": "important", "send_at": "08:00"}
        elif v < 0.35:
            user["digest"] = {"opt_out": False, "sensitivity": "comprehensive", "send_at": None}
        users.append(user)
    return {
        "format": FORMAT,
        "reference_time": REFERENCE_TIME,
        "org": {
            "name": ORG_NAME,
            "timezone": ORG_TIMEZONE,
            "business_hours": {"start": "09:00", "end": "17:00", "days": [1, 2, 3, 4, 5]},
            "automation_level": "assisted",
            "approvals_channel": "C0APPROVALS",
            "fallback_csm": ADMIN_ID,
            "digest": {
                "enabled": True,
                "sensitivity": "standard",
                "max_per_lane": 5,
                "send_at": "08:30",
            },
        },
        "teams": teams,
        "users": users,
    }


# --------------------------------------------------------------------------------------------
# Account shards.


class _AccountShard:
    """Builds the records of one account shard (accounts ``first`` .. ``first + count - 1``)."""

    def __init__(
        self, shard: int, first: int, count: int, per: int, n_csms: int, seed: int, req_base: int
    ) -> None:
        self.rng = Random(_shard_seed(seed, shard))
        self.first = first
        self.count = count
        self.per = per
        self.n_csms = n_csms
        self.req_base = req_base
        self.accounts: list[Record] = []
        self.contacts: list[Record] = []
        self.health_scores: list[Record] = []
        self.activities: list[Record] = []
        self.meetings: list[Record] = []
        self.tasks: list[Record] = []
        self.requests: list[Record] = []
        self.product_events: list[Record] = []
        self.exclusions: list[Record] = []
        # Per account (local index), for the requests: CSM, latest outbound email, latest
        # "follow-through" (note, post-meeting note, outbound email), a note to link.
        self._csm: list[str | None] = []
        self._last_out: list[int] = []
        self._last_follow: list[int] = []
        self._note: list[Record | None] = []

    def build(self) -> Record:
        for num in range(self.first, self.first + self.count):
            self._account(num)
        self._requests()
        shard: Record = {
            "format": FORMAT,
            "accounts": self.accounts,
            "contacts": self.contacts,
            "health_scores": self.health_scores,
            "activities": self.activities,
            "meetings": self.meetings,
            "tasks": self.tasks,
            "requests": self.requests,
            "product_events": self.product_events,
        }
        if self.exclusions:
            shard["exclusions"] = self.exclusions
        return shard

    # -- one account ------------------------------------------------------------------------

    def _scenario(self, status: str, touch: str) -> int:
        r = self.rng.random
        if r() >= SCENARIO_RATE:
            return 0
        s = _PRIMARY_SCENARIOS[int(r() * len(_PRIMARY_SCENARIOS))]
        if s == S_NEW and status not in ("active", "onboarding"):
            s = S_UNREPLIED
        if s == S_STALE_MEETING and _CADENCE_DAYS[touch] is None:
            s = S_NO_NEXT_ACTION
        if r() < SECOND_SCENARIO_RATE and not s & S_NEW:
            s |= _SECOND_SCENARIOS[int(r() * len(_SECOND_SCENARIOS))]
        return s

    def _account(self, num: int) -> None:
        rng = self.rng
        r = rng.random
        aid = f"a{num}"
        segment = _SEGMENTS[int(r() * 100)]
        touch_table = _TOUCH[segment]
        touch = touch_table[int(r() * len(touch_table))]
        v = r()
        if v < 0.02:
            status = "churned"
        elif v < 0.03:
            status = "inactive"
        elif touch == "onboarding":
            status = "onboarding" if v < 0.8 else "active"
        else:
            status = "active"
        csm: str | None = f"u{int(r() * self.n_csms) + 1}" if r() >= 0.005 else None
        sc = self._scenario(status, touch)

        # -- account record -----------------------------------------------------------------
        if sc & S_NEW:
            created = -int((3 + r() * 22) * DAY) if r() < 0.6 else -int((35 + r() * 130) * DAY)
        elif touch == "onboarding":
            created = -int((35 + r() * 135) * DAY)
        else:
            created = -int((200 + r() * 2200) * DAY)
        lo, hi = _MRR_RANGE[segment]
        acct: Record = {
            "id": aid,
            "name": f"{_NAME_A[num % 36]} {_NAME_B[(num // 36) % 24]} {num}",
            "mrr": round(lo + (hi - lo) * r() * r(), 2),
            "segment": segment,
            "touch_policy": touch,
            "status": status,
            "created_at": ts(created),
            "renewal_date": date(int((5 + r() * 395) * DAY)),
            "usage_trend": round(r() * 1.2 - 0.6, 2),
            "adoption": round(r(), 2),
            "csat": round(1 + r() * 4, 1),
            "open_issues": int(r() * r() * 8),
            "blocker": _BLOCKERS[int(r() * 100)],
            "crm_url": f"https://crm.example.com/accounts/{aid}",
            "traits": {"region": _REGIONS[num % 4], "contract": _CONTRACTS[int(r() * 3)]},
        }
        if csm is not None:
            acct["csm"] = csm
            self._pulses(acct, csm, sc, touch)
        self.accounts.append(acct)
        if r() < 0.003:
            self.exclusions.append(
                {
                    "account": aid,
                    "reason": "Bulk suppression: legacy account",
                    "until": date(int((30 + r() * 200) * DAY)) if r() < 0.5 else None,
                }
            )

        # -- contacts -----------------------------------------------------------------------
        cbase = (num - 1) * CONTACTS_PER_ACCOUNT + 1
        contact_ids = [f"c{cbase + k}" for k in range(CONTACTS_PER_ACCOUNT)]
        domain = f"{_NAME_A[num % 36].lower()}{num}.example.com"
        for k, cid in enumerate(contact_ids):
            roles = _CONTACT_ROLES[k]
            first, last = _FIRST[int(r() * 26)], _LAST[int(r() * 25)]
            self.contacts.append(
                {
                    "id": cid,
                    "account": aid,
                    "name": f"{first} {last}",
                    "email": f"{first.lower()}.{k}@{domain}",
                    "title": _TITLES[int(r() * len(_TITLES))],
                    "role": roles[int(r() * len(roles))],
                    "last_active_at": ts(-int(r() * 60 * DAY)),
                }
            )

        # -- health scores ------------------------------------------------------------------
        self._health(aid, sc)

        # -- timeline window ----------------------------------------------------------------
        window_start = max(-180 * DAY, created + HOUR)
        if sc & S_NO_TOUCH:
            gap = int((_TOUCH_DAYS[touch] + 2 + r() * 38) * DAY)
        elif sc & S_UNREPLIED:
            gap = int((4 + r() * 16) * DAY)
        elif sc & S_CALL_RETRY:
            gap = int((1.5 + r() * 4.5) * DAY)
        elif sc & S_NEW:
            gap = int(r() * min(2 * DAY, -window_start // 2))
        else:
            gap = int((0.1 + r() * 4.9) * DAY)
        if -gap - window_start < 10 * DAY:  # keep some room for the history
            gap = max(0, min(gap, -window_start - 10 * DAY), -window_start // 2)
        window_end = -gap

        # -- meetings (records) -------------------------------------------------------------
        cadence = _CADENCE_DAYS[touch]
        if sc & (S_NO_TOUCH | S_CALL_RETRY):
            recent = -gap - int((1 + r() * 19) * DAY)
        elif sc & S_STALE_MEETING and cadence is not None:
            recent = -int((cadence + 1 + r() * 40) * DAY)
        elif sc & S_MISSING_NEXT:
            recent = -int((3 + r() * 22) * DAY) - HOUR
        else:
            recent = -int((1 + r() * 11) * DAY)
        recent = max(recent, created + 2 * HOUR)
        took_place = self._meetings(num, aid, csm, contact_ids, sc, created, recent)

        # -- activities ---------------------------------------------------------------------
        self._activities(
            num, aid, csm, contact_ids, sc, window_start, window_end, cadence, took_place
        )

        # -- tasks, product events ----------------------------------------------------------
        self._tasks(num, aid, csm, sc)
        if status != "churned":
            for k in range(int(r() * 5)):
                at = -int((k * 7 + r() * 6.9) * DAY)
                name = _EVENT_NAMES[int(r() * len(_EVENT_NAMES))]
                props: Record = {}
                if name == "feature_used":
                    props = {"feature": _EVENT_FEATURES[int(r() * len(_EVENT_FEATURES))]}
                elif name == "seat_added":
                    props = {"seats": 1 + int(r() * 5)}
                self.product_events.append(
                    {
                        "account": aid,
                        "contact": contact_ids[int(r() * CONTACTS_PER_ACCOUNT)],
                        "name": name,
                        "at": ts(at),
                        "properties": props,
                    }
                )

    def _pulses(self, acct: Record, csm: str, sc: int, touch: str) -> None:
        r = self.rng.random
        csm_score: int | None = None
        ai_score: int | None = None
        csm_at = ai_at = 0
        if sc & S_PULSE:
            csm_at = -int((1 + r() * 25) * DAY)
            ai_at = -int((1 + r() * 20) * DAY)
            if touch == "strategic" and r() < 0.5:  # low_pulse
                csm_score = 2 + int(r() * 3)
                if r() < 0.5:
                    ai_score = csm_score + int(r() * 2)
            else:  # pulse_divergence
                csm_score = 7 + int(r() * 3)
                ai_score = csm_score - 3 - int(r() * 3)
        else:
            if r() < 0.4:
                csm_score = 5 + int(r() * 5)
                csm_at = -int((1 + r() * 80) * DAY)
                if r() < 0.1:  # expired: ignored everywhere
                    csm_score = 1 + int(r() * 10)
                    csm_at = -int((100 + r() * 200) * DAY)
            if r() < 0.5:
                ai_score = 5 + int(r() * 5) if csm_score is None else csm_score + int(r() * 3) - 1
                ai_score = min(10, max(5, ai_score))
                ai_at = -int((1 + r() * 25) * DAY)
                if r() < 0.1:
                    ai_at = -int((40 + r() * 100) * DAY)
        if csm_score is not None:
            acct["csm_pulse"] = {
                "score": csm_score,
                "note": "Champion engaged" if csm_score >= 6 else "Sponsor went quiet",
                "set_at": ts(csm_at),
                "set_by": csm,
            }
        if ai_score is not None:
            acct["ai_pulse"] = {
                "score": ai_score,
                "at": ts(ai_at),
                "rationale": "Usage and sentiment trend" if ai_score >= 6 else "Falling usage",
            }

    def _health(self, aid: str, sc: int) -> None:
        r = self.rng.random
        score = 50 + int(r() * 46)
        scores = []
        for _ in range(HEALTH_SCORES_PER_ACCOUNT - 1):
            score = min(100, max(0, score + int(r() * 13) - 6))
            scores.append(score)
        prev = scores[-1]
        if sc & S_HEALTH_DROP:
            last = max(0, prev - 15 - int(r() * 25))
        else:
            last = min(100, max(0, prev + int(r() * 13) - 4))
            if _tier(last) > _tier(prev):
                last = prev
        scores.append(last)
        hs = self.health_scores
        for k, s in enumerate(scores):
            at = -((HEALTH_SCORES_PER_ACCOUNT - 1 - k) * 30 + 2) * DAY - 10 * HOUR
            hs.append(
                {
                    "account": aid,
                    "at": ts(at),
                    "score": s,
                    "factors": {
                        "usage": s // 3,
                        "support": s // 4,
                        "engagement": s - s // 3 - s // 4,
                    },
                }
            )

    def _meetings(
        self,
        num: int,
        aid: str,
        csm: str | None,
        contact_ids: list[str],
        sc: int,
        created: int,
        recent: int,
    ) -> list[tuple[int, str]]:
        """Adds the account's meetings; returns (start, id) of those that took place, by start."""
        r = self.rng.random
        starts: list[int] = []
        if not sc & S_NEW:
            oldest = max(created + 2 * HOUR, -178 * DAY)
            for _ in range(1 + int(r() * 3)):
                t = recent - int((r() * 0.9 + 0.1) * (recent - oldest))
                if t < recent - 2 * DAY:
                    starts.append(t)
            starts.sort()
            starts.append(recent)
        upcoming: list[int] = []
        if not sc & S_NO_NEXT_ACTION and r() < 0.45:
            upcoming.append(int((0.5 + r() * 19.5) * DAY))
        took_place: list[tuple[int, str]] = []
        attendees_base = [contact_ids[0], csm] if csm is not None else [contact_ids[0]]
        for k, t in enumerate(starts + upcoming, 1):
            mid = f"m{num}-{k}"
            past = t < 0
            m: Record = {
                "id": mid,
                "account": aid,
                "title": _MEETING_TITLES[int(r() * len(_MEETING_TITLES))],
                "starts_at": ts(t),
                "ends_at": ts(t + (30 if r() < 0.3 else 60)),
                "attendees": [*attendees_base, contact_ids[1 + int(r() * 2)]],
            }
            is_recent = t == recent
            if past and not is_recent and r() < 0.08:
                m["canceled"] = True
            elif past:
                took_place.append((t, mid))
            if past:
                if is_recent and sc & S_MISSING_NEXT:
                    m["next_step"] = None
                elif t > -32 * DAY or r() < 0.7:
                    m["next_step"] = _NEXT_STEPS[int(r() * len(_NEXT_STEPS))]
            items: list[Record] = []
            if is_recent and sc & S_UNOWNED:
                items.append(
                    {
                        "text": _ACTION_ITEMS[0],
                        "owner": None,
                        "done": False,
                        "due_at": ts(t + 3 * DAY),
                    }
                )
            if r() < 0.4:
                for _ in range(1 + int(r() * 3)):
                    done = past and r() < 0.6
                    owner = csm if (r() < 0.8 or (past and not done)) else None
                    if not past and r() < 0.3:
                        owner, done = None, False  # unowned, but the meeting has not happened
                    items.append(
                        {
                            "text": _ACTION_ITEMS[int(r() * len(_ACTION_ITEMS))],
                            "owner": owner,
                            "done": done,
                            "due_at": ts(t + int((2 + r() * 12) * DAY)),
                        }
                    )
            if items:
                m["action_items"] = items
            self.meetings.append(m)
        return took_place

    def _activities(
        self,
        num: int,
        aid: str,
        csm: str | None,
        contact_ids: list[str],
        sc: int,
        window_start: int,
        window_end: int,
        cadence: int | None,
        meetings: list[tuple[int, str]],
    ) -> None:
        n = self.per
        if n <= 0:
            self._csm.append(csm)
            self._last_out.append(-(10**9))
            self._last_follow.append(-(10**9))
            self._note.append(None)
            return
        r = self.rng.random
        span = window_end - window_start
        times = sorted([window_start + int(r() * span) for _ in range(n)])
        times[-1] = window_end
        table = _QUIET_KIND_TABLE if sc & S_NEW else _KIND_TABLE
        kinds = [table[int(r() * 100)] for _ in range(n)]
        if sc & S_NEW:
            kinds[-1] = NOTE
        elif sc & S_CALL_RETRY:
            kinds[-1] = CALL
        else:
            kinds[-1] = EMAIL
        if sc & S_STALE_MEETING and cadence is not None:
            cut = -cadence * DAY
            for i in range(n):
                if kinds[i] == MEETING and times[i] > cut:
                    kinds[i] = NOTE
        meeting_starts = [t for t, _ in meetings]
        if sc & S_MISSING_NEXT and meetings:
            cut = meetings[-1][0] + HOUR
            for i in range(n):
                if kinds[i] == PMN and times[i] > cut - HOUR:
                    kinds[i] = NOTE

        # Email threads: consecutive emails form threads of 2-6 messages, alternating
        # directions. A thread whose latest message is within the last 31 days ends outbound
        # (answered), except the account's last thread in the unreplied scenario.
        email_idx = [i for i in range(n) if kinds[i] == EMAIL]
        e_dir: dict[int, str] = {}
        e_thread: dict[int, tuple[str, str, bool]] = {}
        j = 0
        th = 0
        ne = len(email_idx)
        while j < ne:
            length = 2 + int(r() * 5)
            group = email_idx[j : j + length]
            j += length
            th += 1
            last = group[-1]
            if last == n - 1 and sc & S_UNREPLIED:
                end_inbound = True
            elif times[last] > -31 * DAY:
                end_inbound = False
            else:
                end_inbound = r() < 0.5
            # direction of position p: the end's direction when (len-1-p) is even.
            end_par = len(group) - 1
            subject = _THREAD_SUBJECTS[int(r() * len(_THREAD_SUBJECTS))]
            tid = f"th{num}-{th}"
            for p, i in enumerate(group):
                inbound = end_inbound if (end_par - p) % 2 == 0 else not end_inbound
                e_dir[i] = "inbound" if inbound else "outbound"
                e_thread[i] = (tid, subject, p > 0)

        acts = self.activities
        act_base = (num - 1) * n + 1
        nc = len(contact_ids)
        last_out = -(10**9)
        last_follow = -(10**9)
        note_rec: Record | None = None
        kind_names = _KIND_NAMES
        for i in range(n):
            k = kinds[i]
            t = times[i]
            d: Record = {
                "id": f"act{act_base + i}",
                "account": aid,
                "at": ts(t),
                "kind": kind_names[k],
            }
            if k == EMAIL:
                direction = e_dir[i]
                tid, subject, reply = e_thread[i]
                d["direction"] = direction
                d["thread"] = tid
                d["subject"] = "Re: " + subject if reply else subject
                if r() < 0.5:
                    d["body"] = _EMAIL_BODIES[int(r() * len(_EMAIL_BODIES))]
                d["contact"] = contact_ids[int(r() * nc)]
                if direction == "outbound":
                    last_out = t
                    last_follow = t
            elif k == CALL:
                if i == n - 1 and sc & S_CALL_RETRY:
                    d["direction"] = "outbound"
                    d["outcome"] = "no_answer" if r() < 0.6 else "voicemail"
                else:
                    d["direction"] = "outbound" if r() < 0.75 else "inbound"
                    v = r()
                    d["outcome"] = (
                        "connected" if v < 0.55 else "no_answer" if v < 0.85 else "voicemail"
                    )
                d["subject"] = _CALL_SUBJECTS[int(r() * len(_CALL_SUBJECTS))]
                d["contact"] = contact_ids[int(r() * nc)]
            elif k == MEETING:
                d["direction"] = "outbound" if r() < 0.8 else "inbound"
                d["subject"] = _MEETING_TITLES[int(r() * len(_MEETING_TITLES))]
                d["contact"] = contact_ids[int(r() * nc)]
            elif k == NOTE:
                d["direction"] = "internal"
                d["body"] = _NOTE_BODIES[int(r() * len(_NOTE_BODIES))]
                last_follow = t
                note_rec = d
            elif k == PMN:
                d["direction"] = "internal"
                d["body"] = _PMN_BODIES[int(r() * len(_PMN_BODIES))]
                if meetings:
                    m = bisect.bisect_right(meeting_starts, t - HOUR) - 1
                    d["meeting"] = meetings[m if m >= 0 else 0][1]
                last_follow = t
            else:  # CHAT
                d["direction"] = "inbound" if r() < 0.5 else "outbound"
                d["body"] = _CHAT_BODIES[int(r() * len(_CHAT_BODIES))]
                d["contact"] = contact_ids[int(r() * nc)]
            if csm is not None:
                d["user"] = csm
            acts.append(d)
        self._csm.append(csm)
        self._last_out.append(last_out)
        self._last_follow.append(last_follow)
        self._note.append(note_rec)

    def _tasks(self, num: int, aid: str, csm: str | None, sc: int) -> None:
        r = self.rng.random
        tasks = self.tasks
        count = 2 + int(r() * 3)
        for k in range(1, count + 1):
            created = -int((1 + r() * 120) * DAY)
            t: Record = {
                "id": f"t{num}-{k}",
                "account": aid,
                "title": _TASK_TITLES[int(r() * len(_TASK_TITLES))],
                "priority": _PRIORITIES[int(r() * 100)],
                "created_at": ts(created),
            }
            if csm is not None:
                t["assignee"] = csm
            if k == 2 and not sc & S_NO_NEXT_ACTION:
                t["status"] = "open"
                t["due_at"] = ts(int((1 + r() * 29) * DAY))
            elif k == 3 and sc & S_OVERDUE:
                t["status"] = "open"
                t["due_at"] = ts(-int((0.2 + r() * 20) * DAY))
            elif k == 3 and not sc & S_NO_NEXT_ACTION and r() < 0.5:
                t["status"] = "open"
                t["due_at"] = ts(int((3 + r() * 60) * DAY))
            elif r() < 0.25:
                t["status"] = "canceled"
                t["due_at"] = ts(created + int((2 + r() * 20) * DAY))
            else:
                due = created + int((2 + r() * 20) * DAY)
                t["status"] = "done"
                t["due_at"] = ts(due)
                t["completed_at"] = ts(min(-HOUR, due - int(r() * 2 * DAY)))
            tasks.append(t)
        if sc & S_OVERDUE and count < 3:
            tasks.append(
                {
                    "id": f"t{num}-{count + 1}",
                    "account": aid,
                    "title": _TASK_TITLES[int(r() * len(_TASK_TITLES))],
                    "priority": _PRIORITIES[int(r() * 100)],
                    "status": "open",
                    "due_at": ts(-int((0.2 + r() * 20) * DAY)),
                    "created_at": ts(-int((21 + r() * 30) * DAY)),
                    **({"assignee": csm} if csm is not None else {}),
                }
            )

    # -- requests ---------------------------------------------------------------------------

    def _requests(self) -> None:
        rng = self.rng
        r = rng.random
        n = self.count
        for q in range(request_count(n)):
            rid = f"r{self.req_base + q + 1}"
            members = rng.sample(range(n), min(n, 1 + int(r() * 5)))
            impact = _IMPACTS[int(r() * 100)]
            status = _REQUEST_STATUSES[int(r() * 100)]
            feature = _FEATURES[int(r() * len(_FEATURES))]
            created = -int((20 + r() * 280) * DAY)
            req: Record = {
                "id": rid,
                "accounts": [f"a{self.first + m}" for m in members],
                "title": feature,
                "impact": impact,
                "status": status,
                "created_at": ts(created),
            }
            stale = False
            if status == "shipped":
                v = r()
                auto_done = True
                latest_out = max(self._last_out[m] for m in members)
                if v < 0.35:  # long ago
                    shipped = max(created + DAY, -int((35 + r() * 115) * DAY))
                elif v < 0.65 or latest_out < -28 * DAY or latest_out > -3 * HOUR:
                    shipped = max(created + DAY, -int((2 + r() * 23) * DAY))  # followed through
                else:  # shipped after the latest outbound email, nobody followed through
                    shipped = latest_out + HOUR + int(r() * (-latest_out - 2 * HOUR))
                    shipped = max(shipped, created + HOUR)
                    auto_done = False
                req["shipped_at"] = ts(shipped)
                updated = shipped
                for m in members:
                    num = self.first + m
                    task: Record = {
                        "id": f"t{num}-{rid}",
                        "account": f"a{num}",
                        "title": f"Tell them {feature} shipped",
                        "priority": "normal",
                        "created_at": ts(shipped),
                        "due_at": ts(shipped + 3 * DAY),
                        "request": rid,
                        "auto_created": True,
                    }
                    if self._csm[m] is not None:
                        task["assignee"] = self._csm[m]
                    if auto_done and (v >= 0.35 or r() < 0.85):
                        task["status"] = "done"
                        task["completed_at"] = ts(min(-HOUR, shipped + int((0.05 + r() * 2) * DAY)))
                    elif auto_done:
                        task["status"] = "canceled"
                    else:
                        task["status"] = "open"
                    self.tasks.append(task)
            elif status == "declined":
                updated = max(created, -int((5 + r() * 95) * DAY))
            elif impact == "high" and r() < 0.35:
                stale = True
                updated = max(created, -int((35 + r() * 120) * DAY))
            else:
                updated = max(created, -int((1 + r() * 24) * DAY))
                note = self._note[members[0]]
                if note is not None and "request" not in note and r() < 0.5:
                    note["request"] = rid
            req["updated_at"] = ts(updated)
            if r() < 0.3:
                latest_follow = max(self._last_follow[m] for m in members)
                if stale or r() < 0.4:
                    discussed = -int((35 + r() * 60) * DAY)  # outside the news window
                elif latest_follow > -28 * DAY and latest_follow < -2 * HOUR:
                    # discussed after the last note / outbound email: nobody followed up
                    discussed = latest_follow + HOUR + int(r() * (-latest_follow - 2 * HOUR))
                else:
                    discussed = -int((1 + r() * 25) * DAY)
                req["discussed_at"] = ts(max(created, discussed))
            self.requests.append(req)


# --------------------------------------------------------------------------------------------
# Writing.


def _write_json(path: Path, obj: Record) -> int:
    # One-shot json.dumps uses the C encoder; json.dump would stream through the pure-Python
    # one, several times slower.
    data = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, check_circular=False)
    raw = data.encode()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(raw)
    os.replace(tmp, path)
    return len(raw)


_Job = tuple[Path, int, int, int, int, int]  # path, shard, accounts, per, shard_size, seed


def _build_shard(job: _Job) -> tuple[Path, int, int, int, float]:
    """Builds and writes one shard; returns (path, accounts, activities, bytes, seconds)."""
    path, shard, accounts, per, shard_size, seed = job
    started = time.perf_counter()
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of fresh containers and no cycles: collections only cost time
    try:
        if shard == 0:
            size = _write_json(path, build_org_shard(accounts, seed))
            n_acc = n_act = 0
        else:
            first = (shard - 1) * shard_size + 1
            count = min(shard_size, accounts - first + 1)
            req_base = (shard - 1) * request_count(shard_size)
            builder = _AccountShard(shard, first, count, per, csm_count(accounts), seed, req_base)
            data = builder.build()
            del builder
            size = _write_json(path, data)
            n_acc, n_act = len(data["accounts"]), len(data["activities"])
            del data
    finally:
        if gc_was_enabled:
            gc.enable()
    return path, n_acc, n_act, size, time.perf_counter() - started


# Our shard files, and the temporary files of an interrupted run.
_OWN_FILE = re.compile(r"^\.?(\d{3,}-(org|accounts)\.json|manifest\.json)(\.\d+\.tmp)?$")


def generate(
    out_dir: Path,
    accounts: int,
    activities_per_account: int,
    seed: int = 7,
    shard_size: int = 5000,
    jobs: int = 1,
) -> list[Path]:
    """Generates the dataset into ``out_dir``; returns the shard paths in import order.

    ``manifest.json`` is written last (and removed first, with any shard files of an earlier
    run), so a directory without it is an interrupted generation. ``jobs`` > 1 builds shards
    in that many processes; the output is byte-identical whatever ``jobs`` is.
    """
    if accounts < 1 or activities_per_account < 0 or shard_size < 1:
        raise ValueError("need accounts >= 1, activities_per_account >= 0 and shard_size >= 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MANIFEST).unlink(missing_ok=True)
    for old in out_dir.iterdir():
        if _OWN_FILE.match(old.name) and old.is_file():
            old.unlink()
    names = shard_names(accounts, shard_size)
    paths = [out_dir / name for name in names]
    job_list: list[_Job] = [
        (p, i, accounts, activities_per_account, shard_size, seed) for i, p in enumerate(paths)
    ]
    started = time.perf_counter()
    total_bytes = total_acts = 0
    jobs = max(1, min(jobs, len(job_list)))

    def report(result: tuple[Path, int, int, int, float], done: int) -> None:
        nonlocal total_bytes, total_acts
        path, n_acc, n_act, size, secs = result
        total_bytes += size
        total_acts += n_act
        print(
            f"[{done}/{len(paths)}] {path.name}: {n_acc} accounts, {n_act} activities, "
            f"{size / 1e6:.1f} MB in {secs:.1f}s (elapsed {time.perf_counter() - started:.1f}s)",
            file=sys.stderr,
            flush=True,
        )

    if jobs == 1:
        for done, job in enumerate(job_list, 1):
            report(_build_shard(job), done)
    else:
        with multiprocessing.Pool(jobs, maxtasksperchild=4) as pool:
            for done, result in enumerate(pool.imap(_build_shard, job_list), 1):
                report(result, done)
    manifest = {
        "format": FORMAT,
        "generator_version": GENERATOR_VERSION,
        "accounts": accounts,
        "activities_per_account": activities_per_account,
        "seed": seed,
        "shard_size": shard_size,
        "reference_time": REFERENCE_TIME,
        "activities": total_acts,
        "bytes": total_bytes,
        "shards": names,
    }
    _write_json(out_dir / MANIFEST, manifest)
    print(
        f"generated {len(paths)} shards, {total_bytes / 1e6:.1f} MB, into {out_dir} "
        f"in {time.perf_counter() - started:.1f}s",
        file=sys.stderr,
        flush=True,
    )
    return paths


def _cached_paths(
    directory: Path, accounts: int, activities_per_account: int, seed: int, shard_size: int
) -> list[Path] | None:
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    names = shard_names(accounts, shard_size)
    expected: Record = {
        "format": FORMAT,
        "generator_version": GENERATOR_VERSION,
        "accounts": accounts,
        "activities_per_account": activities_per_account,
        "seed": seed,
        "shard_size": shard_size,
        "shards": names,
    }
    if not isinstance(manifest, dict) or any(manifest.get(k) != v for k, v in expected.items()):
        return None
    paths = [directory / name for name in names]
    return paths if all(p.is_file() for p in paths) else None


def cached_dataset(
    cache_root: Path = DEFAULT_CACHE_ROOT,
    accounts: int = 10_000,
    activities_per_account: int = 50,
    seed: int = 7,
    shard_size: int = 5000,
    jobs: int = 1,
) -> list[Path]:
    """The dataset's shard paths, generated into ``cache_root/<accounts>x<activities>-s<seed>/``
    unless a complete one (its ``manifest.json`` written, same parameters) is already there."""
    directory = Path(cache_root) / f"{accounts}x{activities_per_account}-s{seed}"
    paths = _cached_paths(directory, accounts, activities_per_account, seed, shard_size)
    if paths is not None:
        return paths
    if directory.exists():
        shutil.rmtree(directory)
    return generate(directory, accounts, activities_per_account, seed, shard_size, jobs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Generate a synthetic followup-portfolio/1 dataset as import shards."
    )
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--activities-per-account", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--shard-size", type=int, default=5000, help="accounts per shard")
    parser.add_argument(
        "--jobs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="parallel processes (output is identical for any value)",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path, help="output directory (regenerated every time)")
    where.add_argument(
        "--cache",
        type=Path,
        nargs="?",
        const=DEFAULT_CACHE_ROOT,
        help=f"reuse or fill the cache (default root {DEFAULT_CACHE_ROOT})",
    )
    args = parser.parse_args(argv)
    try:
        if args.out is not None:
            paths = generate(
                args.out,
                args.accounts,
                args.activities_per_account,
                args.seed,
                args.shard_size,
                args.jobs,
            )
        else:
            paths = cached_dataset(
                args.cache or DEFAULT_CACHE_ROOT,
                args.accounts,
                args.activities_per_account,
                args.seed,
                args.shard_size,
                args.jobs,
            )
    except ValueError as exc:
        parser.error(str(exc))
    for p in paths:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
