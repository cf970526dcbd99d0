#!/usr/bin/env python3
"""Generate the bundled demo portfolio ``bot/data/sample_portfolio.json``.

Deterministic: stdlib only, one seeded ``random.Random``, no clock reads. Rerunning it rewrites
byte-identical files. It also writes ``bot/data/sample_scenarios.json``, the machine-readable list
of the scenarios below that the follow-up rules guarantee (tests assert the engine produces them).

The portfolio belongs to "Lumen Analytics" (a BI/analytics SaaS, org timezone America/New_York)
and is swept at ``reference_time`` 2026-11-16T13:30:00Z: Monday 08:30 in New York, 05:30 in Los
Angeles, 13:30 in London. Org rules: ``stale_request_days`` 28, ``unreplied_lookback_days`` 21.
Team "Scale CS" rules: ``first_response_sla_hours`` 72 and ``disabled_signals: [no_next_action]``.
No scenario below sits near a threshold that these overrides move.

Scenario table: scenario -> account -> signal it demonstrates (lane: owe = owe_them_something,
news = bring_them_news, stay = stay_close; bh = business hours in the CSM's timezone).

| scenario (CSM; severity)                  | account          | signal                    | lane |
|-------------------------------------------|------------------|---------------------------|------|
| email Tue 10:00 NY, 31 bh (ana; critical) | acc-harborview   | unreplied_customer_email  | owe  |
| email Wed 15:00 LA, 18 bh (ben; high) [1] | acc-tidewater    | unreplied_customer_email  | owe  |
| email Fri 11:00 London, 10.5 bh [2]       | acc-pinecrest    | unreplied_customer_email  | owe  |
| created 10 days ago, untouched (critical) | acc-wren         | no_first_response         | owe  |
| urgent task due Fri (chloe; critical)     | acc-foxglove     | overdue_task              | owe  |
| high task due Wed, naive stamp (dev)      | acc-orchard      | overdue_task              | owe  |
| normal task due Thu (erin; medium)        | acc-juniper      | overdue_task              | owe  |
| low task due 2026-11-06, plain date       | acc-thistle      | overdue_task              | owe  |
| calls Thu voicemail, Fri no_answer (dev)  | acc-brambleberry | call_retry_due            | owe  |
| "Audit log API" idle 45 days (ben; high)  | acc-ironbridge   | stale_high_impact_request | owe  |
| SOW action item with no owner (erin)      | acc-alder        | unowned_action_item       | owe  |
| health 82 -> 55, tier drop (critical)     | acc-quarry       | health_drop               | owe  |
| valid CSM pulse 8 vs AI pulse 3 (ana)     | acc-quarry       | pulse_divergence          | stay |
| strategic with AI pulse 3 (ana)           | acc-quarry       | low_pulse                 | stay |
| health 78 -> 61, same tier (ben; high)    | acc-granite      | health_drop               | owe  |
| "Okta SSO" shipped 4 d ago, task open     | acc-cobaltline   | request_shipped           | news |
| "Bulk CSV export" shipped 6 d ago (ana)   | acc-lighthouse   | request_shipped           | news |
| "Bulk CSV export" shipped 6 d ago (erin)  | acc-fennel       | request_shipped           | news |
| "Scheduled PDF reports" discussed 5 d ago | acc-kestrel      | request_discussed         | news |
| "HubSpot two-way sync" discussed 3 d ago  | acc-heron        | request_discussed         | news |
| strategic, CSM pulse 4, AI 5 (ana)        | acc-meridian     | low_pulse                 | stay |
| no future task, no upcoming meeting       | acc-vantage      | no_next_action            | stay |
| Fri meeting: no next step, no note (ben)  | acc-silverline   | missing_next_step         | stay |
| strategic, last touch 20 d ago [3]        | acc-summit       | no_recent_touch           | stay |
| strategic, last meeting 45 d ago [3]      | acc-summit       | stale_meeting_cadence     | stay |
| onboarding, last touch 10 d ago (dev)     | acc-onyx         | no_recent_touch           | stay |
| onboarding, kickoff 17 d ago, none since  | acc-onyx         | stale_meeting_cadence     | stay |
| standard, last touch 42 d ago (erin)      | acc-hollis       | no_recent_touch           | stay |
| low_touch, last touch 75 d ago (chloe)    | acc-kiln         | no_recent_touch           | stay |
| self-serve since March, never touched     | acc-sparrow      | never_touched             | stay |
| no CSM, last touch 35 d ago [4]           | acc-driftwood    | no_recent_touch           | stay |
| no CSM, nothing scheduled [4]             | acc-driftwood    | no_next_action            | stay |

[1] An internal forward after the customer's email does not answer the thread.
[2] Chloe, high. Its subject carries ``<!channel>``, ``<@U123>`` and ``&`` (escaping test).
[3] A QBR 5 days ago was canceled: it is neither a touchpoint nor a meeting that took place.
[4] csm is null, so the card goes to the org's fallback_csm u-maya; the last touches were by
    u-sam, a CSM who has left (active: false).

Suppressed follow-through (the sweep's ``suppressed``; no such reason on a card):

| account      | request       | signal            | why                                 |
|--------------|---------------|-------------------|-------------------------------------|
| acc-quarry   | r-okta-sso    | request_shipped   | outbound email after shipped_at     |
| acc-lark     | r-bulk-csv    | request_shipped   | outbound email after shipped_at     |
| acc-saffron  | r-bulk-csv    | request_shipped   | auto-created follow-up task done    |
| acc-marigold | r-pdf-reports | request_discussed | internal note after the discussion  |

Never flagged: acc-oldmill (churned: unreplied email, overdue task, tier drop), acc-papyrus
(inactive: overdue task, no touch for months), acc-westbrook (excluded, "Legacy account in
wind-down": unreplied email, overdue task, no recent touch, stale cadence).

Traps that must NOT fire (not listed in sample_scenarios.json, documented here):
- acc-ashford: inbound email Friday 14:00 New York is only 3 business hours old on Monday 08:30.
- acc-nimbus: onboarding account created 65.5 h ago, untouched: the Scale CS team's 72 h
  first-response SLA holds it back (the 48 h default would fire).
- acc-sparrow, acc-kiln, acc-cinder, acc-juniper, acc-thistle (Scale CS) have no open future
  task and no upcoming meeting: ``no_next_action`` is disabled for that team.
- acc-copperleaf (strategic): CSM pulse 1 set 45 days ago is expired (30-day rule for 1 and 10).
- acc-northgate: CSM pulse 10 set 45 days ago is expired, so no divergence with AI pulse 6.
- acc-redwood (strategic): CSM pulse 3 set 120 days ago and AI pulse 2 from 40 days ago are
  both expired.
- acc-thornbury: a thread ending with the customer's "thanks" 25 days ago is beyond the org's
  21-day unreplied lookback.
- "Microsoft Teams alerts" shipped 39 days ago (outside the news window) for acc-summit and
  acc-northgate; "Salesforce connector v2" shipped in August.
- acc-harborview: the upcoming QBR's unowned action item does not count (the meeting has not
  taken place).

Run: ``python scripts/make_sample_portfolio.py`` (from anywhere).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "bot" / "data"
SEED = 20261116
REF = datetime(2026, 11, 16, 13, 30, tzinfo=UTC)
ORG_TZ = "America/New_York"
HISTORY_DAYS = 182

Record = dict[str, Any]

# --------------------------------------------------------------------------------------------
# Expected scenarios (kept in sync with the docstring table; written to sample_scenarios.json)
# --------------------------------------------------------------------------------------------
OWE, NEWS, STAY = "owe_them_something", "bring_them_news", "stay_close"
EXPECTED: list[tuple[str, str, str]] = [
    ("acc-harborview", "unreplied_customer_email", OWE),
    ("acc-tidewater", "unreplied_customer_email", OWE),
    ("acc-pinecrest", "unreplied_customer_email", OWE),
    ("acc-wren", "no_first_response", OWE),
    ("acc-foxglove", "overdue_task", OWE),
    ("acc-orchard", "overdue_task", OWE),
    ("acc-juniper", "overdue_task", OWE),
    ("acc-thistle", "overdue_task", OWE),
    ("acc-brambleberry", "call_retry_due", OWE),
    ("acc-ironbridge", "stale_high_impact_request", OWE),
    ("acc-alder", "unowned_action_item", OWE),
    ("acc-quarry", "health_drop", OWE),
    ("acc-quarry", "pulse_divergence", STAY),
    ("acc-quarry", "low_pulse", STAY),
    ("acc-granite", "health_drop", OWE),
    ("acc-cobaltline", "request_shipped", NEWS),
    ("acc-lighthouse", "request_shipped", NEWS),
    ("acc-fennel", "request_shipped", NEWS),
    ("acc-kestrel", "request_discussed", NEWS),
    ("acc-heron", "request_discussed", NEWS),
    ("acc-meridian", "low_pulse", STAY),
    ("acc-vantage", "no_next_action", STAY),
    ("acc-silverline", "missing_next_step", STAY),
    ("acc-summit", "no_recent_touch", STAY),
    ("acc-summit", "stale_meeting_cadence", STAY),
    ("acc-onyx", "no_recent_touch", STAY),
    ("acc-onyx", "stale_meeting_cadence", STAY),
    ("acc-hollis", "no_recent_touch", STAY),
    ("acc-kiln", "no_recent_touch", STAY),
    ("acc-sparrow", "never_touched", STAY),
    ("acc-driftwood", "no_recent_touch", STAY),
    ("acc-driftwood", "no_next_action", STAY),
]
NEVER_FLAGGED = ["acc-oldmill", "acc-papyrus", "acc-westbrook"]
SUPPRESSED: list[tuple[str, str, str]] = [
    ("acc-quarry", "request_shipped", "r-okta-sso"),
    ("acc-lark", "request_shipped", "r-bulk-csv"),
    ("acc-saffron", "request_shipped", "r-bulk-csv"),
    ("acc-marigold", "request_discussed", "r-pdf-reports"),
]

# --------------------------------------------------------------------------------------------
# Org, teams, users
# --------------------------------------------------------------------------------------------
ORG: Record = {
    "name": "Lumen Analytics",
    "timezone": ORG_TZ,
    "business_hours": {"start": "09:00", "end": "17:00", "days": [1, 2, 3, 4, 5]},
    "automation_level": "assisted",
    "approvals_channel": "C0APPROVALS",
    "escalation_channel": "C0ESCALATE",
    "fallback_csm": "u-maya",
    "digest": {"enabled": True, "sensitivity": "standard", "max_per_lane": 5, "send_at": "08:30"},
    "rules": {"stale_request_days": 28, "unreplied_lookback_days": 21},
}

TEAMS: list[Record] = [
    {"id": "team-enterprise", "name": "Enterprise CS", "manager": "u-maya"},
    {
        "id": "team-scale",
        "name": "Scale CS",
        "manager": "u-omar",
        "rules": {"first_response_sla_hours": 72, "disabled_signals": ["no_next_action"]},
    },
]

USERS: list[Record] = [
    {
        "id": "u-ana",
        "name": "Ana Alvarez",
        "email": "ana.alvarez@lumen.example",
        "slack_user_id": "U0ANA0001",
        "role": "csm",
        "team": "team-enterprise",
        "timezone": "America/New_York",
    },
    {
        "id": "u-ben",
        "name": "Ben Okafor",
        "email": "ben.okafor@lumen.example",
        "slack_user_id": "U0ANA0002",
        "role": "csm",
        "team": "team-enterprise",
        "timezone": "America/Los_Angeles",
    },
    {
        "id": "u-chloe",
        "name": "Chloe Whitfield",
        "email": "chloe.whitfield@lumen.example",
        "slack_user_id": "U0ANA0003",
        "role": "csm",
        "team": "team-scale",
        "timezone": "Europe/London",
        "digest": {"sensitivity": "important"},
    },
    {
        "id": "u-dev",
        "name": "Dev Malhotra",
        "email": "dev.malhotra@lumen.example",
        "slack_user_id": "U0ANA0004",
        "role": "csm",
        "team": "team-scale",
    },
    {
        "id": "u-erin",
        "name": "Erin Castillo",
        "email": "erin.castillo@lumen.example",
        "role": "csm",
        "team": "team-scale",
        "manager": "u-omar",
        "timezone": "America/Chicago",
    },
    {
        "id": "u-sam",
        "name": "Sam Whitaker",
        "email": "sam.whitaker@lumen.example",
        "slack_user_id": "U0ANA0009",
        "role": "csm",
        "team": "team-scale",
        "timezone": "America/Los_Angeles",
        "active": False,
    },
    {
        "id": "u-maya",
        "name": "Maya Lindqvist",
        "email": "maya.lindqvist@lumen.example",
        "slack_user_id": "U0ANA0005",
        "role": "manager",
        "team": "team-enterprise",
        "manager": "u-priya",
        "timezone": "America/New_York",
    },
    {
        "id": "u-omar",
        "name": "Omar Haddad",
        "email": "omar.haddad@lumen.example",
        "slack_user_id": "U0ANA0006",
        "role": "manager",
        "team": "team-scale",
        "manager": "u-priya",
        "timezone": "America/New_York",
        "digest": {"opt_out": True, "sensitivity": None, "send_at": None},
    },
    {
        "id": "u-priya",
        "name": "Priya Raman",
        "email": "priya.raman@lumen.example",
        "slack_user_id": "U0ANA0007",
        "role": "admin",
        "timezone": "America/New_York",
        "digest": {"opt_out": False, "sensitivity": "important", "send_at": "07:45"},
    },
]
USER_TZ = {u["id"]: u.get("timezone") for u in USERS}
USER_FIRST = {u["id"]: u["name"].split()[0] for u in USERS}
USER_TEAM = {u["id"]: u.get("team") for u in USERS}
TEAM_MANAGER = {t["id"]: t["manager"] for t in TEAMS}


# --------------------------------------------------------------------------------------------
# Accounts
# --------------------------------------------------------------------------------------------
@dataclass
class Acct:
    id: str
    name: str
    domain: str
    segment: str
    touch: str
    status: str
    csm: str | None
    mrr: float
    created: str  # plain date or ISO timestamp
    renew_days: int
    region: str
    contract: str
    industry: str
    last_touch: int | None  # days ago of the latest email/call touchpoint (None: never)
    last_meeting: int | None  # days ago of the latest meeting that took place (None: none)
    future_task: bool  # an open task due in the future
    upcoming: int | None  # days ahead of an upcoming meeting
    health: tuple[int | None, int] | None  # (previous, latest) score
    csm_pulse: tuple[int, int] | None  # (score, days ago)
    ai_pulse: tuple[int, int] | None  # (score, days ago)
    hierarchy: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


A = Acct
# fmt: off
# A(id, name, domain, segment, touch_policy, status, csm, mrr, created_at, renewal in days,
#   region, contract, industry, last email/call touch (days ago), last meeting held (days
#   ago), open future task, upcoming meeting (days ahead), health (previous, latest), CSM
#   pulse (score, days ago), AI pulse (score, days ago), account-summary hierarchy, extra)
ACCOUNTS: list[Acct] = [
    # ---- Ana Alvarez (Enterprise CS, New York)
    A("acc-harborview", "Harborview Health System", "harborviewhealth.org", "enterprise",
      "strategic", "active", "u-ana", 52400, "2022-03-14T15:20:00Z", 45, "NA-East", "multi_year",
      "Healthcare", 4, 13, True, 3, (77, 79), (7, 12), (6, 4), True,
      {"usage_trend": 0.04, "adoption": 0.71, "csat": 4.2, "open_issues": 1}),
    A("acc-quarry", "Quarry Ridge Logistics", "quarryridge.com", "enterprise", "strategic",
      "active", "u-ana", 38500, "2021-09-01", 38, "NA-Central", "annual", "Logistics", 6, 10, True,
      None, (82, 55), (8, 20), (3, 2), True,
      {"usage_trend": -0.38, "adoption": 0.46, "csat": 3.1, "open_issues": 4, "blocker": "minor"}),
    A("acc-meridian", "Meridian Capital Partners", "meridiancap.com", "enterprise", "strategic",
      "active", "u-ana", 59800, "2020-11-02T14:00:00Z", 160, "NA-East", "multi_year",
      "Financial services", 4, 12, True, 4, (71, 68), (4, 9), (5, 3), True,
      {"usage_trend": -0.08, "adoption": 0.62, "csat": 3.8, "open_issues": 2}),
    A("acc-ashford", "Ashford Precision Manufacturing", "ashfordprecision.com", "mid_market",
      "standard", "active", "u-ana", 9400, "2023-06-19T13:45:00Z", 210, "NA-East", "annual",
      "Manufacturing", 5, 33, True, None, (81, 84), (8, 30), (7, 6)),
    A("acc-lighthouse", "Lighthouse Media Group", "lighthousemedia.co", "mid_market", "standard",
      "active", "u-ana", 7800, "2024-02-05T16:10:00Z", 120, "NA-East", "annual", "Media", 9, 40,
      False, None, (74, 76), (7, 25), (6, 8)),
    A("acc-vantage", "Vantage Point Insurance", "vantagepointins.com", "mid_market", "standard",
      "active", "u-ana", 12300, "2022-08-22T14:30:00Z", 95, "NA-East", "annual", "Insurance", 6,
      50, False, None, (83, 85), (8, 14), (8, 5)),
    A("acc-copperleaf", "Copperleaf Foods", "copperleaffoods.com", "enterprise", "strategic",
      "active", "u-ana", 29900, "2021-04-12T15:00:00Z", 300, "NA-Central", "multi_year",
      "Food & beverage", 5, 16, True, 2, (85, 87), (1, 45), (7, 4), True),
    A("acc-northgate", "Northgate University", "northgate.edu", "enterprise", "standard", "active",
      "u-ana", 18200, "2022-01-10T17:00:00Z", 240, "NA-East", "annual", "Higher education", 11, 25,
      True, None, (79, 82), (10, 45), (6, 7), True),
    # ---- Ben Okafor (Enterprise CS, Los Angeles)
    A("acc-tidewater", "Tidewater Energy Cooperative", "tidewaterenergy.coop", "enterprise",
      "strategic", "active", "u-ben", 44100, "2021-02-08T18:00:00Z", 75, "NA-West", "multi_year",
      "Energy", 6, 14, True, None, (81, 80), (7, 18), (6, 5), True,
      {"usage_trend": -0.12, "adoption": 0.68, "csat": 3.6, "open_issues": 3, "blocker": "major"}),
    A("acc-cobaltline", "Cobaltline Systems", "cobaltline.io", "mid_market", "standard", "active",
      "u-ben", 14500, "2023-10-02T17:30:00Z", 130, "NA-West", "annual", "Software", 8, 35, False,
      None, (80, 83), (7, 21), (8, 6)),
    A("acc-ironbridge", "Ironbridge Construction", "ironbridgebuild.com", "enterprise", "standard",
      "active", "u-ben", 27300, "2022-05-16T16:00:00Z", 58, "NA-West", "annual", "Construction", 5,
      21, True, None, (69, 66), (6, 16), (5, 9), True, {"open_issues": 2}),
    A("acc-silverline", "Silverline Dental Group", "silverlinedental.com", "mid_market",
      "standard", "active", "u-ben", 8900, "2023-03-27T18:15:00Z", 180, "NA-West", "annual",
      "Healthcare", 7, 3, True, None, (76, 77), (7, 30), (7, 10), False, {"blocker": "minor"}),
    A("acc-summit", "Summit Peak Outdoor", "summitpeak.com", "enterprise", "strategic", "active",
      "u-ben", 33200, "2021-07-19T17:00:00Z", 100, "NA-West", "multi_year", "Retail", 20, 45, True,
      None, (72, 70), (6, 33), (6, 12), True),
    A("acc-granite", "Granite State Credit Union", "granitestatecu.org", "mid_market", "standard",
      "active", "u-ben", 11200, "2022-10-03T14:00:00Z", 52, "NA-East", "annual",
      "Financial services", 5, 28, True, None, (78, 61), (6, 11), (5, 4), False,
      {"usage_trend": -0.21, "adoption": 0.52, "csat": 3.4, "open_issues": 2}),
    A("acc-redwood", "Redwood Biotech", "redwoodbio.com", "enterprise", "strategic", "active",
      "u-ben", 47500, "2020-09-14T16:00:00Z", 330, "NA-West", "multi_year", "Life sciences", 3, 9,
      True, 2, (86, 88), (3, 120), (2, 40), True),
    A("acc-bluefin", "Bluefin Payments", "bluefinpay.com", "mid_market", "onboarding",
      "onboarding", "u-ben", 13800, "2026-10-22T16:00:00Z", 340, "NA-West", "annual", "Fintech", 3,
      6, True, 4, (None, 72), (7, 6), None, True),
    # ---- Chloe Whitfield (Scale CS, London)
    A("acc-pinecrest", "Pinecrest Property Management", "pinecrestpm.co.uk", "mid_market",
      "standard", "active", "u-chloe", 6200, "2023-01-16T10:00:00Z", 150, "EMEA", "annual",
      "Real estate", 7, 30, True, None, (75, 73), (6, 20), (6, 6)),
    A("acc-foxglove", "Foxglove Studios", "foxglovestudios.co.uk", "smb", "standard", "active",
      "u-chloe", 2400, "2024-04-08T09:30:00Z", 32, "EMEA", "annual", "Creative agency", 5, 41,
      False, None, (70, 72), (6, 15), (6, 7)),
    A("acc-lark", "Larkspur Travel", "larkspurtravel.com", "smb", "low_touch", "active", "u-chloe",
      1150, "2023-09-11T11:00:00Z", 260, "EMEA", "monthly", "Travel", 30, None, False, None,
      (81, 80), None, (7, 10)),
    A("acc-wren", "Wrenfield Legal", "wrenfieldlegal.co.uk", "smb", "onboarding", "onboarding",
      "u-chloe", 1650, "2026-11-06T10:15:00Z", 355, "EMEA", "annual", "Legal", None, None, True,
      None, None, None, None),
    A("acc-heron", "Heron Bay Marine", "heronbaymarine.com", "mid_market", "standard", "active",
      "u-chloe", 5600, "2023-05-22T09:00:00Z", 200, "EMEA", "annual", "Maritime", 8, 38, True,
      None, (77, 79), (7, 40), (7, 9)),
    A("acc-nimbus", "Nimbus Yoga Studios", "nimbusyoga.co.uk", "smb", "onboarding", "onboarding",
      "u-chloe", 520, "2026-11-13T20:00:00Z", 362, "EMEA", "monthly", "Fitness", None, None, True,
      None, None, None, None),
    A("acc-kiln", "Kiln & Co. Ceramics", "kilnandco.co.uk", "smb", "low_touch", "active",
      "u-chloe", 780, "2022-11-28T10:00:00Z", 90, "EMEA", "annual", "Retail", 75, None, False,
      None, (68, 66), None, (5, 15)),
    A("acc-thornbury", "Thornbury Schools Trust", "thornburytrust.org.uk", "mid_market",
      "standard", "active", "u-chloe", 7300, "2022-09-05T08:30:00Z", 280, "EMEA", "annual",
      "Education", 9, 20, True, None, (82, 81), (8, 35), (7, 11)),
    # ---- Dev Malhotra (Scale CS, no timezone: org's)
    A("acc-brambleberry", "Brambleberry Bakeries", "brambleberrybakes.com", "smb", "standard",
      "active", "u-dev", 1900, "2024-06-03T15:00:00Z", 140, "NA-East", "annual", "Food & beverage",
      11, 45, True, None, (74, 71), (6, 25), (6, 8)),
    A("acc-orchard", "Orchard Street Pharmacy", "orchardstreetrx.com", "smb", "standard", "active",
      "u-dev", 2750, "2023-08-14T14:00:00Z", 70, "NA-East", "annual", "Healthcare", 6, 27, True,
      None, (79, 78), (7, 12), (7, 5)),
    A("acc-sparrow", "Sparrow Print Shop", "sparrowprint.com", "smb", "low_touch", "active",
      "u-dev", 610, "2026-03-18T19:40:00Z", 122, "NA-East", "monthly", "Printing", None, None,
      False, None, (65, 63), None, (5, 6)),
    A("acc-kestrel", "Kestrel Home Services", "kestrelhome.com", "mid_market", "standard",
      "active", "u-dev", 4800, "2023-11-06T15:00:00Z", 190, "NA-Central", "annual",
      "Home services", 12, 34, True, None, (80, 82), (7, 19), (7, 6)),
    A("acc-cinder", "Cinder Coffee Roasters", "cindercoffee.com", "smb", "low_touch", "active",
      "u-dev", 640, "2024-09-23T18:00:00Z", 230, "NA-West", "monthly", "Food & beverage", 20, None,
      False, None, (83, 82), None, (8, 12)),
    A("acc-maple", "Maplewood Veterinary", "maplewoodvet.com", "smb", "standard", "active",
      "u-dev", 1450, "2023-02-20T15:30:00Z", 300, "NA-East", "annual", "Veterinary", 8, 30, True,
      None, (84, 86), (8, 40), (8, 14)),
    A("acc-onyx", "Onyx Fitness Clubs", "onyxfitness.com", "mid_market", "onboarding",
      "onboarding", "u-dev", 6400, "2026-10-27T14:00:00Z", 345, "NA-East", "annual", "Fitness", 10,
      17, True, None, (None, 68), None, (6, 3), True),
    # ---- Erin Castillo (Scale CS, Chicago, e-mail only)
    A("acc-juniper", "Juniper Learning", "juniperlearning.com", "smb", "standard", "active",
      "u-erin", 2100, "2024-01-22T16:00:00Z", 60, "NA-Central", "annual", "EdTech", 9, 44, False,
      None, (73, 74), (7, 22), (6, 8)),
    A("acc-thistle", "Thistle & Vine Wine Co.", "thistleandvine.com", "smb", "low_touch", "active",
      "u-erin", 890, "2023-04-17T17:00:00Z", 175, "NA-West", "annual", "Food & beverage", 25, None,
      False, None, (77, 78), None, (6, 9)),
    A("acc-marigold", "Marigold Senior Living", "marigoldliving.com", "mid_market", "standard",
      "active", "u-erin", 6900, "2022-12-05T15:00:00Z", 115, "NA-Central", "annual", "Healthcare",
      10, 24, True, None, (76, 79), (7, 17), (7, 7)),
    A("acc-saffron", "Saffron Street Restaurants", "saffronstreet.com", "mid_market", "standard",
      "active", "u-erin", 5300, "2023-07-10T16:00:00Z", 85, "NA-Central", "annual", "Hospitality",
      10, 31, True, None, (81, 83), (8, 26), (7, 13)),
    A("acc-fennel", "Fennel Health Clinics", "fennelhealth.com", "mid_market", "standard",
      "active", "u-erin", 8100, "2022-06-27T15:00:00Z", 205, "NA-Central", "annual", "Healthcare",
      7, 36, False, None, (78, 79), (7, 28), (7, 10)),
    A("acc-hollis", "Hollis & Grant Architects", "hollisgrant.com", "smb", "standard", "active",
      "u-erin", 3200, "2023-03-06T16:00:00Z", 250, "NA-Central", "annual", "Architecture", 42, 60,
      False, None, (66, 64), (5, 50), (5, 20)),
    A("acc-alder", "Alder Creek Outfitters", "aldercreek.com", "mid_market", "standard", "active",
      "u-erin", 4400, "2024-05-13T15:00:00Z", 155, "NA-Central", "annual", "Retail", 6, 6, True,
      None, (80, 81), (7, 15), (7, 6)),
    A("acc-quill", "Quill & Ledger Accounting", "quillandledger.com", "smb", "standard", "active",
      "u-erin", 1300, "2023-10-30T15:00:00Z", 320, "NA-Central", "annual", "Accounting", 13, 52,
      True, None, (88, 90), (9, 18), (8, 16)),
    # ---- no CSM (alerts go to the org's fallback_csm)
    A("acc-driftwood", "Driftwood Surf Co.", "driftwoodsurf.com", "smb", "standard", "active",
      None, 950, "2023-06-05T18:00:00Z", 110, "NA-West", "monthly", "Retail", 35, 70, False, None,
      (70, 69), None, (5, 12)),
    # ---- never flagged: churned, inactive, excluded
    A("acc-oldmill", "Old Mill Hardware", "oldmillhardware.com", "smb", "standard", "churned",
      "u-dev", 0, "2022-04-04T14:00:00Z", -20, "NA-East", "annual", "Retail", 50, 95, False, None,
      (58, 31), (2, 20), (2, 5), False,
      {"usage_trend": -0.71, "adoption": 0.12, "csat": 2.1, "open_issues": 1}),
    A("acc-papyrus", "Papyrus Paper Goods", "papyruspaper.com", "smb", "low_touch", "inactive",
      "u-erin", 540, "2022-07-18T15:00:00Z", 45, "NA-Central", "annual", "Retail", 150, None,
      False, None, (55, 41), None, (3, 8)),
    A("acc-westbrook", "Westbrook Document Imaging", "westbrookimaging.com", "mid_market",
      "standard", "active", "u-chloe", 3900, "2019-05-06T14:00:00Z", 70, "EMEA", "annual",
      "Document services", 95, 120, False, None, (52, 47), (3, 60), (3, 10)),
]
# fmt: on
ACC = {a.id: a for a in ACCOUNTS}

# --------------------------------------------------------------------------------------------
# Text pools
# --------------------------------------------------------------------------------------------
# fmt: off
FIRST_NAMES = [
    "Lena", "Marcus", "Aisha", "Tomás", "Hannah", "Kenji", "Olivia", "Rafael", "Grace", "Daniel",
    "Mei", "Samuel", "Fatima", "Jonas", "Claire", "Andre", "Nadia", "Patrick", "Sofia", "Ethan",
    "Yuki", "Gabriel", "Leah", "Victor", "Amara", "Connor", "Ingrid", "Mateo", "Rachel", "Hugo",
    "Zara", "Lucas", "Bianca", "Owen", "Keisha", "Felix", "Naomi", "Ravi", "Elena", "Tobias",
    "Chen", "Isabel", "Malik", "Freya", "Diego", "Harriet", "Arjun", "Beatrice", "Kwame", "Louise",
    "Stefan", "Imani", "Julian", "Noor", "Caleb", "Anika", "Rohan", "Megan", "Emeka", "Sienna",
    "Wesley", "Carmen", "Theo", "Priyanka", "Gareth", "Lucia", "Declan", "Mariam", "Oscar",
    "Tessa", "Hamza", "Vivian", "Jasper", "Esther", "Nikhil", "Alma", "Callum",
]
# fmt: on
# fmt: off
LAST_NAMES = [
    "Whitaker", "Chen", "Okonkwo", "Fernández", "Schmidt", "Tanaka", "Brennan", "Morales",
    "Adeyemi", "Kowalski", "Lindgren", "Patel", "Haddad", "Nguyen", "O'Sullivan", "Rossi",
    "Andersson", "Mensah", "Dubois", "Kaur", "Ramirez", "Novak", "Fitzgerald", "Yamamoto", "Osei",
    "Bianchi", "Holloway", "Iyer", "Sørensen", "Delgado", "McAllister", "Farouk", "Petrov",
    "Campbell", "Takahashi", "Moreau", "Abara", "Gallagher", "Kim", "Castellano", "Hughes",
    "Nakamura", "Rahman", "Vance", "Larsen", "Okafor", "Quinn", "Bauer", "Sato", "Pereira",
    "Ashworth", "Lopez", "Mwangi", "Eriksen", "Sandoval", "Reyes", "Doyle",
]
# fmt: on
TITLES = {
    "champion": [
        "Director of Analytics",
        "Head of Business Intelligence",
        "Analytics Manager",
        "Director of Operations",
        "Head of RevOps",
        "Data & Reporting Lead",
    ],
    "decision_maker": [
        "VP of Operations",
        "VP Finance",
        "Chief Financial Officer",
        "VP of Data",
        "Chief Operating Officer",
    ],
    "executive_sponsor": [
        "Chief Information Officer",
        "Chief Digital Officer",
        "SVP Strategy",
        "Chief Operating Officer",
    ],
    "user": ["Senior Data Analyst", "Operations Analyst", "BI Developer", "Reporting Specialist"],
    "billing": ["Accounts Payable Lead", "Finance Manager", "Procurement Specialist"],
    "smb_champion": ["Owner", "General Manager", "Office Manager", "Operations Lead", "Co-founder"],
}
ROLE_SETS = {
    "enterprise": ["champion", "decision_maker", "executive_sponsor", "user"],
    "mid_market": ["champion", "decision_maker", "user"],
    "smb": ["champion", "billing"],
}

# Threads the customer starts (inbound question, our reply).
INBOUND_THREADS = [
    (
        "Dashboard load times since Monday",
        "Hi {csm}, a few of our regional managers say the {dash} dashboard takes 30+ seconds to "
        "load "
        "since Monday. Is anything going on on your side?\n\nThanks,\n{first}",
        "Hi {first}, thanks for flagging. Support traced it to an unindexed filter on the region "
        "field and pushed a fix this morning; load times are back under 3 seconds. Tell me if "
        "anyone "
        "still sees it.\n\n{csm}",
    ),
    (
        "Adding seats for the finance team",
        "Hi {csm}, we're bringing six people from FP&A onto Lumen next month. What's the process, "
        "and "
        "does it change our invoice mid-term?\n\n{first}",
        "Great news, {first}. I'll send a co-termed quote today: seats added mid-term are prorated "
        "to your renewal date, so there's no second invoice cycle.\n\n{csm}",
    ),
    (
        "Question on invoice {inv}",
        "Hello, invoice {inv} shows 45 viewer seats but our admin panel says 38. Could you check "
        "before we pay it?\n\nRegards,\n{first}",
        "Hi {first}, you're right: seven viewers were deactivated after the count was taken. "
        "Billing "
        "is issuing a corrected invoice this week.\n\nBest,\n{csm}",
    ),
    (
        "Training for our new analysts",
        "Hi {csm}, we hired three analysts who start on the 1st. Is there a recorded onboarding "
        "course, or could you run a live session?\n\n{first}",
        "Hi {first}, welcome to them! I've shared the Lumen Academy path (about 2 hours) and I'm "
        "happy to run a live 45-minute session their second week. Pick a slot here and I'll send "
        "the invite.\n\n{csm}",
    ),
    (
        "Rotating the Snowflake service account",
        "Hi {csm}, our security team rotates the Snowflake service-account key next Tuesday. "
        "Anything "
        "we need to do in Lumen so the nightly sync doesn't break?\n\n{first}",
        "Hi {first}, good call. After the rotation, paste the new key under Settings → "
        "Connections → "
        "Snowflake and hit 'Test'. The nightly sync picks it up automatically.\n\n{csm}",
    ),
    (
        "SOC 2 report for our vendor review",
        "Hi {csm}, procurement is doing the annual vendor review. Could you send your latest SOC 2 "
        "Type II report and the pen-test summary?\n\nThanks,\n{first}",
        "Hi {first}, both are in the trust portal; I've just granted you access. The SOC 2 covers "
        "through September.\n\n{csm}",
    ),
    (
        "Scheduled report went to the wrong list",
        "Hi {csm}, this morning's weekly ops report went to the all-staff list instead of the ops "
        "leads. Can you help us figure out why?\n\n{first}",
        "Hi {first}, sorry about that. The schedule was pointed at the list alias that IT renamed "
        "last week; I've repointed it to ops-leads and paused the old alias.\n\n{csm}",
    ),
    (
        "Help with a calculated field",
        "Hi {csm}, we're trying to build a rolling 13-week average for on-time delivery and the "
        "calculated field keeps erroring. Screenshot attached.\n\n{first}",
        "Hi {first}, the window function needs the date column as its sort key. I fixed it in a "
        "copy "
        "of your workbook ('OTD rolling 13w - fixed') so you can compare.\n\n{csm}",
    ),
    (
        "API rate limits for the nightly export",
        "Hi {csm}, our nightly export job hits HTTP 429 around 2am. What are the API limits on our "
        "plan?\n\n{first}",
        "Hi {first}, your plan allows 600 requests a minute. The job was paging 50 rows at a time; "
        "with page_size=1000 it will finish in a few minutes without hitting the limit.\n\n{csm}",
    ),
    (
        "Sharing dashboards with an outside partner",
        "Hi {csm}, we'd like to share the inventory dashboard with our 3PL partner without giving "
        "them a full login. Is that possible?\n\n{first}",
        "Hi {first}, yes: use a guest link with row-level filters. I've written up the steps and "
        "can "
        "walk your admin through it on our next call.\n\n{csm}",
    ),
    (
        "Timezone on scheduled reports",
        "Hi {csm}, our scheduled reports arrive at 4am instead of 7am since the clocks changed. Is "
        "there a timezone setting?\n\n{first}",
        "Hi {first}, the schedules were pinned to UTC. I've switched the workspace default to your "
        "local time, so they'll land at 7am from tomorrow.\n\n{csm}",
    ),
    (
        "Renewal paperwork",
        "Hi {csm}, legal asked whether the renewal can reuse last year's MSA or needs a new order "
        "form. Which one is it?\n\n{first}",
        "Hi {first}, the MSA carries over; we only need a one-page order form. I'll send it as "
        "soon "
        "as the seat count is final.\n\n{csm}",
    ),
]

# Threads we start (our note, their reply, our close).
OUTBOUND_THREADS = [
    (
        "Your Q{q} usage review",
        "Hi {first}, attached is a short usage review for {company}: weekly active users are up "
        "12% "
        "and the ops team is now your heaviest user group. One thing to watch: the finance "
        "workspace "
        "has gone quiet.\n\n{csm}",
        "Thanks {csm}, helpful. Can we go over the finance workspace on our next call?\n\n{first}",
        "Absolutely, it's on the agenda. I'll bring a couple of ideas from other finance teams.",
    ),
    (
        "Agenda for our next review",
        "Hi {first}, here's a draft agenda: adoption by team, open support items, roadmap preview, "
        "and your goals for next quarter. Anything to add?\n\n{csm}",
        "Looks good. Please add 15 minutes on data freshness, the board is asking.\n\n{first}",
        "Done, added. See you then!",
    ),
    (
        "New in Lumen: anomaly alerts",
        "Hi {first}, anomaly alerts are now live in your workspace. Given the stockout questions "
        "last month, I think the inventory team would get a lot out of them. Happy to set up the "
        "first few with you.\n\n{csm}",
        "Nice, yes please. Could you set one up on the weekly fill-rate metric?\n\n{first}",
        "Set up and pointed at your ops channel. It fires on a 2-sigma swing; we can tune it.",
    ),
    (
        "Recording and slides from the admin training",
        "Hi {first}, thanks for hosting the admin training. Here are the recording and slides, "
        "plus "
        "the checklist for granting workspace permissions.\n\n{csm}",
        "Thank you! Shared with the team. One question: can admins audit who exported what?\n\n"
        "{first}",
        "Yes, Settings → Audit shows exports for the last 90 days. I've added a slide on it.",
    ),
    (
        "Following up on our call",
        "Hi {first}, thanks for the time today. As promised: the roll-out plan for the remaining "
        "sites and the link to book the dashboard-design session.\n\n{csm}",
        "Got it, thanks. We'll book the design session for early next month.\n\n{first}",
        "Perfect. I'll keep an eye out and bring the template gallery.",
    ),
    (
        "Checking in after the v4.2 release",
        "Hi {first}, v4.2 went out last week (faster filters, new chart types). Have your teams "
        "hit "
        "anything unexpected?\n\n{csm}",
        "All smooth so far. The analysts like the new waterfall chart.\n\n{first}",
        "Great to hear, I'll pass that on to the product team.",
    ),
    (
        "Renewal timeline",
        "Hi {first}, your renewal comes up in a few months. Could we line up the review with your "
        "finance team early, so there are no surprises?\n\n{csm}",
        "Makes sense. Let's do it after our quarter-end close.\n\n{first}",
        "Works for me, I'll send a couple of options for the week after close.",
    ),
    (
        "Intro: your new support engineer",
        "Hi {first}, meet Jordan, your named support engineer from this month. Jordan already "
        "knows "
        "your connector setup and will join our next check-in.\n\n{csm}",
        "Welcome Jordan! Looking forward to it.\n\n{first}",
        "Thanks {first}, talk soon.",
    ),
]
OUTBOUND_ONLY = [
    (
        "Invitation: building exec dashboards in Lumen (webinar)",
        "Hi {first}, we're running a 30-minute webinar on executive dashboards next Thursday. "
        "I thought your leadership reporting team might like it. Registration link "
        "inside.\n\n{csm}",
    ),
    (
        "Lumen release notes: October",
        "Hi {first}, quick summary of October's release: faster filters, scheduled exports to S3, "
        "and a new admin usage report. Happy to walk through any of it.\n\n{csm}",
    ),
    (
        "Your admin usage report",
        "Hi {first}, sharing this month's admin usage report for {company}. Highlights: 3 new "
        "dashboards, active viewers up 8%. Nothing needs action.\n\n{csm}",
    ),
]
CALL_TOPICS = [
    (
        "Check-in call",
        "Check-in with {first}. Adoption steady; they want a refresher on alert "
        "routing for the night shift. Sending the guide.",
    ),
    (
        "Renewal planning call",
        "Talked renewal timing with {first}. Budget is approved in "
        "principle; finance wants a 2-year option priced.",
    ),
    (
        "Support follow-up",
        "Called {first} about the connector ticket. Fix confirmed working; "
        "they'll monitor for a week.",
    ),
    (
        "Roadmap preview",
        "Walked {first} through the Q1 roadmap. Most interested in row-level permissions and SCIM.",
    ),
    (
        "Executive sponsor call",
        "Short call with {first}. Happy with the ops dashboards; wants a "
        "board-ready KPI pack by Q1.",
    ),
    (
        "Adoption review",
        "Reviewed seat usage with {first}: 80% weekly active. Agreed to retire two "
        "legacy Excel reports.",
    ),
    (
        "Data quality call",
        "Worked through the duplicate-orders issue with {first}; root cause was "
        "the ERP export. They'll fix upstream.",
    ),
]
INBOUND_CALL_TOPICS = [
    (
        "Inbound: quick question",
        "{first} called about sharing a dashboard with a partner. Walked through guest links.",
    ),
    (
        "Inbound: billing question",
        "{first} called about the PO number on the last invoice. Billing will reissue.",
    ),
]
NOTES = [
    "Sponsor mentioned a budget review in Q1; keep an eye on the renewal.",
    "Champion is very engaged; good candidate for a customer story.",
    "Usage concentrated in ops; finance barely logs in. Nudge at next review.",
    "They are evaluating a warehouse migration next year; could affect connectors.",
    "Asked support to prioritise their connector ticket; it is blocking month-end reporting.",
    "Procurement changed contacts; updated billing details in the CRM.",
    "Good momentum after training; 12 new active users this month.",
    "Competitor (Tableau) came up in passing; they are happy with us for now.",
    "Exec sponsor wants a value recap before renewal; start the deck early.",
    "New analysts onboarded; most are using the templates gallery.",
]
CHATS_IN = [
    "Quick one: can viewers export to PDF, or only editors?",
    "Is the status page showing anything? Our dashboards look slow this morning.",
    "Where do I change the default date range on a dashboard?",
    "Thanks for the tip on filters, it worked!",
]
CHATS_OUT = [
    "Yes, viewers can export if the workspace setting allows it. I've switched it on for you.",
    "Nothing on the status page; it was a slow upstream query. Should be fine now.",
    "Dashboard settings → Defaults. Happy to screen-share if easier.",
]
MEETING_TITLES = {
    "strategic": [
        "Monthly success review",
        "Executive sponsor sync",
        "Roadmap preview",
        "Quarterly business review",
        "Adoption deep-dive",
    ],
    "standard": [
        "Quarterly check-in",
        "Adoption review",
        "Admin training",
        "Dashboard design session",
    ],
    "low_touch": ["Annual check-in"],
    "onboarding": [
        "Onboarding kickoff",
        "Data connector setup",
        "Dashboard build session",
        "Go-live readiness review",
        "Admin training",
    ],
}
NEXT_STEPS = [
    "Send the updated adoption report by Friday",
    "Schedule admin training for the new analysts",
    "Confirm the renewal owner on their side",
    "Share the roadmap for row-level permissions",
    "Book the dashboard-design session for the finance team",
    "Follow up with support on the connector ticket",
    "Draft the value recap for their exec sponsor",
    "Set up anomaly alerts on the fill-rate metric",
]
ACTION_ITEMS = [
    "Send recording and slides",
    "Open a support ticket for the export timeout",
    "Share the Lumen Academy learning path",
    "Draft the 2027 success plan",
    "Invite their admins to the beta program",
    "Send the usage report for the last 90 days",
]
TASK_TITLES = [
    "Prep QBR deck",
    "Send adoption report",
    "Confirm renewal paperwork with procurement",
    "Schedule admin training",
    "Review seat utilisation before true-up",
    "Follow up on support ticket",
    "Update success plan after review",
    "Share roadmap highlights",
]
VISITS = [
    (
        "On-site visit: {company}",
        "Visited {first} and the operations leads on site. Walked through the regional "
        "dashboards and the roll-out order for next year.",
        "Recap of the on-site visit: {first} wants the remaining sites live by Q2; they asked "
        "for a training day for new supervisors.",
    ),
    (
        "Lunch with {first}",
        "Lunch with {first} near their office. Talked priorities for next year and who owns "
        "the data platform after their reorg.",
        "Recap of lunch with {first}: reorg lands in January; our champion keeps the "
        "analytics budget. Good relationship.",
    ),
    (
        "Workshop: dashboard design",
        "Ran a half-day dashboard design workshop with {first}'s analysts.",
        "Recap of the design workshop: five dashboards redesigned; {first} will retire the "
        "old weekly Excel pack.",
    ),
]
DASHES = [
    "Regional Ops",
    "Inventory Health",
    "Weekly Sales",
    "Patient Flow",
    "Fleet Utilisation",
    "Executive KPI",
]


# --------------------------------------------------------------------------------------------
# Time helpers
# --------------------------------------------------------------------------------------------
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def acct_tz(a: Acct) -> str:
    if a.csm is None:
        return ORG_TZ
    return USER_TZ.get(a.csm) or ORG_TZ


def local(d: date, hh: int, mm: int, tz: str) -> datetime:
    """Wall clock ``hh:mm`` on ``d`` in ``tz``, as an aware UTC datetime."""
    return datetime(d.year, d.month, d.day, hh, mm, tzinfo=zone(tz)).astimezone(UTC)


def ref_day(tz: str) -> date:
    return REF.astimezone(zone(tz)).date()


def weekday_back(d: date) -> date:
    while d.isoweekday() > 5:
        d -= timedelta(days=1)
    return d


def weekday_fwd(d: date) -> date:
    while d.isoweekday() > 5:
        d += timedelta(days=1)
    return d


def day_ago(days: int, tz: str) -> date:
    """The weekday ``days`` before the reference date (earlier if that falls on a weekend)."""
    return weekday_back(ref_day(tz) - timedelta(days=days))


def workdays_before(d: date, n: int) -> date:
    for _ in range(n):
        d = weekday_back(d - timedelta(days=1))
    return d


def z(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def off(dt: datetime, tz: str) -> str:
    return dt.astimezone(zone(tz)).isoformat(timespec="seconds")


def naive(dt: datetime) -> str:
    """Org-local wall clock without an offset (the format reads it in the org's timezone)."""
    return dt.astimezone(zone(ORG_TZ)).replace(tzinfo=None).isoformat(timespec="seconds")


def parse(ts: str) -> datetime:
    if len(ts) == 10:
        return datetime.fromisoformat(ts).replace(tzinfo=zone(ORG_TZ)).astimezone(UTC)
    dt = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone(ORG_TZ))
    return dt.astimezone(UTC)


def ref_date_plus(days: int) -> str:
    return (REF.date() + timedelta(days=days)).isoformat()


# --------------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------------
class Gen:
    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.contacts: list[Record] = []
        self.contacts_by_acct: dict[str, list[Record]] = {}
        self.health: list[Record] = []
        self.activities: list[tuple[datetime, int, Record]] = []
        self.meetings: list[Record] = []
        self.tasks: list[Record] = []
        self.requests: list[Record] = []
        self.events: list[Record] = []
        self.h: dict[str, list[Record]] = {
            k: []
            for k in (
                "success_plans",
                "objectives",
                "kpis",
                "business_challenges",
                "playbooks",
                "playbook_tasks",
                "cases",
                "opportunities",
                "projects",
            )
        }
        self.seq = 0
        self.thread_no: dict[str, int] = {}
        self.meeting_no = 0
        self.task_no = 0
        self.used_names: set[str] = set()

    # ---- small utilities -------------------------------------------------------------------
    def pick(self, seq: list[Any]) -> Any:
        return seq[self.rng.randrange(len(seq))]

    def short(self, acct_id: str) -> str:
        return acct_id.removeprefix("acc-")

    def thread(self, acct_id: str) -> str:
        n = self.thread_no.get(acct_id, 0) + 1
        self.thread_no[acct_id] = n
        return f"th-{self.short(acct_id)}-{n:02d}"

    def contact(self, acct_id: str, role: str | None = None) -> Record:
        cs = self.contacts_by_acct[acct_id]
        for c in cs:
            if role is None or c["role"] == role:
                return c
        return cs[0]

    def first(self, c: Record) -> str:
        return str(c["name"]).split()[0]

    def our_user(self, a: Acct) -> str:
        return a.csm or "u-sam"

    def ctx(self, a: Acct, c: Record) -> dict[str, str]:
        return {
            "first": self.first(c),
            "csm": USER_FIRST[self.our_user(a)],
            "company": a.name,
            "dash": self.pick(DASHES),
            "inv": f"INV-{self.rng.randint(21000, 29999)}",
            "q": "3",
        }

    def stamp(self, dt: datetime, a: Acct, kind: str) -> str:
        """Mostly ``Z``; some offsets (non-New-York CSMs) and a few naive org-local stamps."""
        tz = acct_tz(a)
        r = self.rng.random()
        if kind == "note" and r < 0.12:
            return naive(dt)
        if tz != ORG_TZ and r < 0.3:
            return off(dt, tz)
        return z(dt)

    def add_activity(
        self, dt: datetime, rec: Record, a: Acct | None = None, style: str = "auto"
    ) -> Record:
        acct = a or ACC[rec["account"]]
        if style == "auto":
            rec["at"] = self.stamp(dt, acct, str(rec["kind"]))
        elif style == "z":
            rec["at"] = z(dt)
        elif style == "naive":
            rec["at"] = naive(dt)
        else:
            rec["at"] = off(dt, acct_tz(acct))
        self.seq += 1
        self.activities.append((dt, self.seq, rec))
        return rec

    def email(
        self,
        a: Acct,
        dt: datetime,
        direction: str,
        thread: str,
        subject: str,
        body: str,
        contact: Record | None,
        user: str | None = None,
        request: str | None = None,
        style: str = "auto",
    ) -> Record:
        rec: Record = {
            "account": a.id,
            "kind": "email",
            "direction": direction,
            "thread": thread,
            "subject": subject,
            "body": body,
            "user": user or self.our_user(a),
        }
        if contact is not None:
            rec["contact"] = contact["id"]
        if request:
            rec["request"] = request
        return self.add_activity(dt, rec, a, style)

    def call(
        self,
        a: Acct,
        dt: datetime,
        direction: str,
        outcome: str,
        subject: str,
        body: str,
        contact: Record,
    ) -> Record:
        rec: Record = {
            "account": a.id,
            "kind": "call",
            "direction": direction,
            "subject": subject,
            "body": body,
            "outcome": outcome,
            "user": self.our_user(a),
            "contact": contact["id"],
        }
        return self.add_activity(dt, rec, a)

    def note(
        self,
        a: Acct,
        dt: datetime,
        body: str,
        kind: str = "note",
        user: str | None = None,
        **links: str,
    ) -> Record:
        rec: Record = {
            "account": a.id,
            "kind": kind,
            "direction": "internal",
            "body": body,
            "user": user or self.our_user(a),
        }
        rec.update({k: v for k, v in links.items() if v})
        return self.add_activity(dt, rec, a)

    def task(
        self,
        a: Acct,
        title: str,
        due: str | None,
        priority: str = "normal",
        status: str = "open",
        created: str | None = None,
        completed: str | None = None,
        request: str | None = None,
        auto: bool = False,
        assignee: str | None = None,
    ) -> Record:
        self.task_no += 1
        rec: Record = {
            "id": f"t-{self.task_no:03d}",
            "account": a.id,
            "title": title,
            "due_at": due,
            "priority": priority,
            "status": status,
            "assignee": assignee or a.csm,
        }
        if created:
            rec["created_at"] = created
        if completed:
            rec["completed_at"] = completed
        if request:
            rec["request"] = request
        if auto:
            rec["auto_created"] = True
        if rec["assignee"] is None:
            del rec["assignee"]
        self.tasks.append(rec)
        return rec

    def meeting(
        self,
        a: Acct,
        start: datetime,
        title: str,
        minutes: int = 60,
        next_step: str | None = None,
        items: list[Record] | None = None,
        canceled: bool = False,
        attendees: list[str] | None = None,
        style: str = "z",
    ) -> Record:
        self.meeting_no += 1
        tz = acct_tz(a)
        if attendees is None:
            cs = self.contacts_by_acct[a.id]
            attendees = [self.our_user(a)] + [c["id"] for c in cs[: 1 + self.rng.randrange(2)]]
        fmt = {"z": z, "naive": naive}.get(style)
        rec: Record = {
            "id": f"m-{self.meeting_no:03d}",
            "account": a.id,
            "title": title,
            "starts_at": fmt(start) if fmt else off(start, tz),
        }
        if minutes != 60:
            end = start + timedelta(minutes=minutes)
            rec["ends_at"] = fmt(end) if fmt else off(end, tz)
        if canceled:
            rec["canceled"] = True
        rec["attendees"] = attendees
        rec["next_step"] = next_step
        rec["action_items"] = items or []
        self.meetings.append(rec)
        return rec

    # ---- contacts ------------------------------------------------------------------------
    def make_contacts(self, a: Acct) -> None:
        roles = list(ROLE_SETS[a.segment])
        if a.segment == "mid_market" and self.rng.random() < 0.35:
            roles.append("billing")
        if a.segment == "smb" and self.rng.random() < 0.4:
            roles.append("user")
        out: list[Record] = []
        for i, role in enumerate(roles, start=1):
            while True:
                name = f"{self.pick(FIRST_NAMES)} {self.pick(LAST_NAMES)}"
                if name not in self.used_names:
                    break
            self.used_names.add(name)
            title_key = "smb_champion" if (a.segment == "smb" and role == "champion") else role
            first, last = name.split(" ", 1)
            email_local = f"{first}.{last}".lower().replace("'", "").replace(" ", "")
            email_local = email_local.translate(str.maketrans("áéíóúøñ", "aeiouon"))
            rec: Record = {
                "id": f"c-{self.short(a.id)}-{i}",
                "account": a.id,
                "name": name,
                "email": f"{email_local}@{a.domain}",
                "title": self.pick(TITLES[title_key]),
                "role": role,
            }
            if a.last_touch is not None and role in ("champion", "user"):
                days = max(1, min(a.last_touch, 40) - self.rng.randrange(3))
                rec["last_active_at"] = z(local(day_ago(days, ORG_TZ), 14, 5 * i, ORG_TZ))
            out.append(rec)
        self.contacts_by_acct[a.id] = out
        self.contacts.extend(out)

    # ---- health ----------------------------------------------------------------------------
    def make_health(self, a: Acct) -> None:
        if a.health is None:
            return
        prev, latest = a.health
        created = parse(a.created)
        months = [datetime(2026, m, 1, 6, 0, tzinfo=UTC) for m in range(6, 12)]
        months = [m for m in months if m > created]
        scores: list[int] = [latest]
        if prev is not None:
            scores.insert(0, prev)
        while len(scores) < len(months):
            nxt = scores[0] + self.rng.randint(-5, 5)
            scores.insert(0, max(20, min(97, nxt)))
        scores = scores[-len(months) :]
        for at, score in zip(months, scores, strict=True):
            usage = round(score * 0.30)
            adoption = round(score * 0.25)
            support = round(score * 0.20)
            sentiment = round(score * 0.15)
            engagement = score - usage - adoption - support - sentiment
            self.health.append(
                {
                    "account": a.id,
                    "at": z(at),
                    "score": score,
                    "factors": {
                        "usage": usage,
                        "adoption": adoption,
                        "support": support,
                        "sentiment": sentiment,
                        "engagement": engagement,
                    },
                }
            )

    # ---- background history ----------------------------------------------------------------
    def history_start(self, a: Acct) -> int:
        """Days ago at which this account's activity history starts."""
        created = parse(a.created)
        age = (REF - created).days
        return min(HISTORY_DAYS, age - 2)

    def touch_cluster(self, a: Acct, d: date, final: bool) -> None:
        """One touchpoint (ending on day ``d``) with its surrounding messages."""
        tz = acct_tz(a)
        cs = self.contacts_by_acct[a.id]
        c = self.pick(cs[:2]) if len(cs) > 1 else cs[0]
        ctx = self.ctx(a, c)
        r = self.rng.random()
        hour = self.rng.randint(10, 15)
        end = local(d, hour, self.pick([0, 10, 20, 30, 40, 50]), tz)
        if r < 0.32:
            subj, q, ans = self.pick(INBOUND_THREADS)
            th = self.thread(a.id)
            subject = subj.format(**ctx)
            asked = end - timedelta(hours=self.rng.randint(1, 3), minutes=self.rng.randint(0, 50))
            self.email(a, asked, "inbound", th, subject, q.format(**ctx), c)
            self.email(a, end, "outbound", th, f"Re: {subject}", ans.format(**ctx), c)
        elif r < 0.58:
            subj, first_msg, reply, close = self.pick(OUTBOUND_THREADS)
            th = self.thread(a.id)
            subject = subj.format(**ctx)
            d0 = workdays_before(d, 2)
            d1 = workdays_before(d, 1)
            self.email(
                a,
                local(d0, self.rng.randint(9, 15), 15, tz),
                "outbound",
                th,
                subject,
                first_msg.format(**ctx),
                c,
            )
            self.email(
                a,
                local(d1, self.rng.randint(9, 16), 40, tz),
                "inbound",
                th,
                f"Re: {subject}",
                reply.format(**ctx),
                c,
            )
            self.email(
                a,
                end,
                "outbound",
                th,
                f"Re: {subject}",
                close.format(**ctx) + f"\n\n{ctx['csm']}",
                c,
            )
        elif r < 0.68 and not final:
            subj, body = self.pick(OUTBOUND_ONLY)
            self.email(
                a, end, "outbound", self.thread(a.id), subj.format(**ctx), body.format(**ctx), c
            )
        elif r < 0.78:
            # a missed call, then the call that connected
            self.call(
                a,
                local(workdays_before(d, 1), 16, 5, tz),
                "outbound",
                self.pick(["no_answer", "voicemail"]),
                "Follow-up call",
                f"Tried {ctx['first']}; will try again tomorrow.",
                c,
            )
            subj, body = self.pick(CALL_TOPICS)
            self.call(a, end, "outbound", "connected", subj, body.format(**ctx), c)
        elif r < 0.86:
            subj, body = self.pick(INBOUND_CALL_TOPICS)
            self.call(a, end, "inbound", "connected", subj, body.format(**ctx), c)
        else:
            subj, body = self.pick(CALL_TOPICS)
            self.call(a, end, "outbound", "connected", subj, body.format(**ctx), c)
        # sprinkle non-touch activity before the touch
        x = self.rng.random()
        if x < 0.25:
            self.note(a, end - timedelta(days=1, hours=2), self.pick(NOTES))
        elif x < 0.38:
            i = self.rng.randrange(len(CHATS_OUT))
            chat_at = end - timedelta(hours=5)
            self.add_activity(
                chat_at,
                {
                    "account": a.id,
                    "kind": "chat",
                    "direction": "inbound",
                    "body": CHATS_IN[i],
                    "user": self.our_user(a),
                    "contact": c["id"],
                },
                a,
            )
            self.add_activity(
                chat_at + timedelta(minutes=12),
                {
                    "account": a.id,
                    "kind": "chat",
                    "direction": "outbound",
                    "body": CHATS_OUT[i],
                    "user": self.our_user(a),
                    "contact": c["id"],
                },
                a,
            )

    def background_touches(self, a: Acct) -> None:
        if a.last_touch is None:
            return
        tz = acct_tz(a)
        step = {
            "strategic": (6, 10),
            "standard": (12, 22),
            "low_touch": (28, 42),
            "onboarding": (3, 5),
        }[a.touch]
        start = self.history_start(a)
        offsets: list[int] = []
        t = start - self.rng.randint(0, step[0])
        while t > a.last_touch + step[0] // 2:
            offsets.append(t)
            t -= self.rng.randint(*step)
        offsets.append(a.last_touch)
        for i, days in enumerate(offsets):
            self.touch_cluster(a, day_ago(days, tz), final=i == len(offsets) - 1)
            # now and then an in-person visit, logged as a meeting activity (only > 40 days
            # ago, so no recent-meeting rule depends on it; a post-meeting note follows)
            if days > 40 and a.segment != "smb" and self.rng.random() < 0.12:
                self.visit(a, day_ago(days, tz))

    def visit(self, a: Acct, d: date) -> None:
        tz = acct_tz(a)
        c = self.contact(a.id, "champion")
        subject, body, recap = self.pick(VISITS)
        ctx = self.ctx(a, c)
        start = local(d, 10, 0, tz)
        self.add_activity(
            start,
            {
                "account": a.id,
                "kind": "meeting",
                "direction": "outbound",
                "subject": subject.format(**ctx),
                "body": body.format(**ctx),
                "user": self.our_user(a),
                "contact": c["id"],
            },
            a,
        )
        self.note(a, start + timedelta(hours=5), recap.format(**ctx), kind="post_meeting_note")

    def background_meetings(self, a: Acct) -> None:
        if a.last_meeting is None:
            return
        tz = acct_tz(a)
        step = {
            "strategic": (20, 28),
            "standard": (38, 60),
            "low_touch": (80, 110),
            "onboarding": (6, 9),
        }[a.touch]
        start = self.history_start(a)
        offsets: list[int] = []
        t = start - self.rng.randint(0, step[0])
        while t > a.last_meeting + step[0] // 2:
            offsets.append(t)
            t -= self.rng.randint(*step)
        offsets.append(a.last_meeting)
        titles = MEETING_TITLES[a.touch]
        for i, days in enumerate(offsets):
            last = i == len(offsets) - 1
            special = SPECIAL_LAST_MEETING.get(a.id) if last else None
            if special:
                special(self, a)
                continue
            d = day_ago(days, tz)
            start_dt = local(d, self.pick([10, 11, 13, 14, 15]), self.pick([0, 30]), tz)
            minutes = self.pick([30, 45, 60, 60])
            title = (
                titles[i % len(titles)]
                if a.touch != "onboarding"
                else titles[min(i, len(titles) - 1)]
            )
            self.held_meeting(a, start_dt, title, minutes, days)

    def held_meeting(
        self,
        a: Acct,
        start_dt: datetime,
        title: str,
        minutes: int,
        days_ago: int,
        post_note: bool | None = None,
    ) -> Record:
        """A meeting that took place, with a next step, owned action items and maybe a note."""
        end = start_dt + timedelta(minutes=minutes)
        items: list[Record] = []
        owner = self.our_user(a)
        for _ in range(self.rng.randrange(3)):
            due = end + timedelta(days=self.rng.randint(3, 10))
            items.append(
                {
                    "text": self.pick(ACTION_ITEMS),
                    "owner": owner,
                    "done": due < REF - timedelta(days=2) or self.rng.random() < 0.3,
                    "due_at": z(due),
                }
            )
        recent = days_ago <= 35
        next_step = self.pick(NEXT_STEPS) if (recent or self.rng.random() < 0.85) else None
        style = "naive" if self.rng.random() < 0.08 else "z"
        m = self.meeting(a, start_dt, title, minutes, next_step, items, style=style)
        if post_note is None:
            post_note = self.rng.random() < 0.5
        if post_note:
            body = f"Recap of '{title}': covered adoption, open tickets and next quarter's goals."
            if next_step:
                body += f" Next step: {next_step}."
            self.note(
                a,
                end + timedelta(hours=self.rng.randint(1, 3)),
                body,
                kind="post_meeting_note",
                meeting=m["id"],
            )
        return m

    def background_tasks(self, a: Acct) -> None:
        tz = acct_tz(a)
        if a.last_touch is not None:
            for _ in range(self.rng.randint(1, 3)):
                days = self.rng.randint(max(a.last_touch + 3, 20), max(a.last_touch + 10, 150))
                days = min(days, self.history_start(a))
                due = local(day_ago(days, tz), 17, 0, tz)
                done = due - timedelta(days=self.rng.randint(0, 2), hours=3)
                self.task(
                    a,
                    self.pick(TASK_TITLES),
                    z(due),
                    self.pick(["normal", "high", "low"]),
                    "done",
                    created=z(due - timedelta(days=7)),
                    completed=z(done),
                )
            if self.rng.random() < 0.2:
                due = local(day_ago(min(a.last_touch + 15, self.history_start(a)), tz), 17, 0, tz)
                self.task(
                    a,
                    "Send case study deck",
                    z(due),
                    "low",
                    "canceled",
                    created=z(due - timedelta(days=10)),
                )
        if a.future_task:
            ahead = self.rng.randint(2, 16)
            d = weekday_fwd(ref_day(tz) + timedelta(days=ahead))
            due = local(d, 17, 0, tz)
            style = self.rng.random()
            due_s = naive(due) if style < 0.15 else (d.isoformat() if style < 0.25 else z(due))
            if due_s == d.isoformat() and d <= ref_day(ORG_TZ):
                due_s = z(due)
            self.task(
                a,
                self.pick(TASK_TITLES),
                due_s,
                self.pick(["normal", "normal", "high"]),
                created=z(REF - timedelta(days=self.rng.randint(3, 12))),
            )

    def upcoming_meeting(self, a: Acct) -> None:
        if a.upcoming is None:
            return
        tz = acct_tz(a)
        d = weekday_fwd(ref_day(tz) + timedelta(days=a.upcoming))
        title = (
            "Quarterly business review"
            if a.touch == "strategic"
            else ("Go-live readiness review" if a.touch == "onboarding" else "Quarterly check-in")
        )
        items: list[Record] = []
        if a.id == "acc-harborview":
            items = [
                {
                    "text": "Pull 2027 pricing options for the multi-year scenario",
                    "owner": None,
                    "done": False,
                    "due_at": z(local(d, 9, 0, tz)),
                }
            ]
        self.meeting(a, local(d, 11, 0, tz), title, 60, None, items)

    def product_events(self, a: Acct) -> None:
        tz = acct_tz(a)
        users = [c for c in self.contacts_by_acct[a.id] if c["role"] in ("champion", "user")]
        n = self.rng.randint(2, 5)
        for i in range(n):
            c = users[i % len(users)]
            d = day_ago(self.rng.randint(1, 14), tz)
            at = local(d, 9 + i, self.rng.randint(0, 59), tz)
            if i % 2 == 0:
                self.events.append(
                    {
                        "account": a.id,
                        "contact": c["id"],
                        "name": "login",
                        "at": z(at),
                        "properties": {"method": "sso"},
                    }
                )
            else:
                feature = self.pick(["dashboards", "alerts", "scheduled_reports", "csv_export"])
                self.events.append(
                    {
                        "account": a.id,
                        "contact": c["id"],
                        "name": "feature_used",
                        "at": z(at),
                        "properties": {"feature": feature, "count": i + 2},
                    }
                )

    # ---- account records -------------------------------------------------------------------
    def account_record(self, a: Acct) -> Record:
        latest = a.health[1] if a.health else 70
        rec: Record = {
            "id": a.id,
            "name": a.name,
            "mrr": a.mrr,
            "segment": a.segment,
            "touch_policy": a.touch,
            "status": a.status,
            "csm": a.csm,
            "created_at": a.created,
            "renewal_date": ref_date_plus(a.renew_days),
        }
        if a.csm_pulse:
            score, days = a.csm_pulse
            rec["csm_pulse"] = {
                "score": score,
                "note": PULSE_NOTES.get(a.id, DEFAULT_PULSE_NOTE[min(score, 9) // 3]),
                "set_at": z(local(day_ago(days, acct_tz(a)), 16, 30, acct_tz(a))),
                "set_by": a.csm,
            }
        if a.ai_pulse:
            score, days = a.ai_pulse
            rec["ai_pulse"] = {
                "score": score,
                "at": z(REF - timedelta(days=days, hours=7)),
                "rationale": AI_RATIONALE.get(a.id, DEFAULT_AI[min(score, 9) // 3]),
            }
        rec["usage_trend"] = a.extra.get(
            "usage_trend", round((latest - 72) / 250 + self.rng.uniform(-0.04, 0.04), 2)
        )
        rec["adoption"] = a.extra.get(
            "adoption", round(min(0.95, latest / 100 * self.rng.uniform(0.72, 0.95)), 2)
        )
        rec["csat"] = a.extra.get("csat", round(min(5.0, 2.6 + (latest - 50) / 22), 1))
        rec["open_issues"] = a.extra.get("open_issues", self.rng.choice([0, 0, 1]))
        rec["blocker"] = a.extra.get("blocker", "none")
        rec["crm_url"] = f"https://crm.lumen.example/accounts/{a.id}"
        rec["traits"] = {
            "region": a.region,
            "contract": a.contract,
            "industry": a.industry,
            "plan": {"enterprise": "Enterprise", "mid_market": "Growth", "smb": "Starter"}[
                a.segment
            ],
        }
        return rec


DEFAULT_PULSE_NOTE = [
    "Relationship is fragile; sponsor disengaged.",
    "Steady but not excited; adoption is uneven across teams.",
    "Good relationship; champion engaged and responsive.",
    "Strong advocates; likely to expand.",
]
DEFAULT_AI = [
    "Usage and sentiment both declining; support tone negative.",
    "Usage flat; mixed sentiment in recent emails.",
    "Healthy usage; positive tone in recent conversations.",
    "Usage growing; recent messages very positive.",
]
PULSE_NOTES = {
    "acc-quarry": "Exec sponsor is bullish: expansion to three new distribution centres planned "
    "for Q1.",
    "acc-meridian": "New CFO is reviewing every vendor over $500k and our champion is on leave "
    "until January. Worried.",
    "acc-copperleaf": "August outage hit their month-end close; they were furious.",
    "acc-northgate": "Best relationship in my book. Provost's office loves the enrolment "
    "dashboards.",
    "acc-redwood": "Lab ops team felt ignored during the spring migration.",
    "acc-westbrook": "Winding down; they are moving to a new document platform.",
    "acc-oldmill": "Closing two of three stores; cancellation likely.",
}
AI_RATIONALE = {
    "acc-quarry": "Weekly active users down 38% in 30 days; two escalated cases mention data "
    "latency; champion's last login was 19 days ago; negative tone in support "
    "threads.",
    "acc-meridian": "Usage flat; exec sponsor has not logged in this quarter; neutral tone.",
    "acc-redwood": "Usage dipped during the migration; support tone negative.",
    "acc-granite": "Usage down 21% since the core-banking migration; fewer scheduled reports.",
}

# The account-specific scenario builders, below, run after the background is generated.


# --------------------------------------------------------------------------------------------
# Scenario builders
# --------------------------------------------------------------------------------------------
def sc_harborview(g: Gen) -> None:
    a = ACC["acc-harborview"]
    tz = "America/New_York"
    dm = g.contact(a.id, "decision_maker")
    th = g.thread(a.id)
    g.email(
        a,
        local(date(2026, 11, 5), 11, 0, tz),
        "outbound",
        th,
        "2027 renewal proposal",
        f"Hi {g.first(dm)},\n\nAttached is our renewal proposal for 2027: the same 420 seats, "
        "the clinical-ops add-on, and a 3-year option with a 4% annual cap. Happy to walk "
        "your finance team through it.\n\nBest,\nAna",
        dm,
        style="z",
    )
    g.email(
        a,
        local(date(2026, 11, 10), 10, 0, tz),
        "inbound",
        th,
        "Re: 2027 renewal proposal",
        "Hi Ana,\n\nThanks for this. Two things before our finance committee meets on the 24th: "
        "(1) can the uplift cap be 3% on the multi-year option, and (2) can we get the "
        "clinical-ops add-on at the current per-seat price for all three years? We need "
        "an answer this week to make the budget cycle.\n\nBest,\n" + g.first(dm),
        dm,
        style="off",
    )


def sc_quarry(g: Gen) -> None:
    a = ACC["acc-quarry"]
    tz = "America/New_York"
    c = g.contact(a.id, "champion")
    g.email(
        a,
        local(date(2026, 11, 13), 10, 30, tz),
        "outbound",
        g.thread(a.id),
        "Okta SSO is live for Quarry Ridge",
        f"Hi {g.first(c)},\n\nGood news: Okta SSO shipped yesterday. Your IT team can switch "
        "it on under Settings → Security → Single sign-on; the setup guide is linked "
        "inside. I know your warehouse leads have been asking.\n\nAna",
        c,
        request="r-okta-sso",
        style="z",
    )
    g.note(
        a,
        local(date(2026, 11, 2), 9, 40, tz),
        "Health fell to 55: usage down 38% since their warehouse team moved to the new WMS "
        "and the inbound-shipments dashboard is stale. Two escalated cases on data latency.",
    )


def sc_meridian(g: Gen) -> None:
    a = ACC["acc-meridian"]
    g.note(
        a,
        local(date(2026, 11, 6), 16, 0, "America/New_York"),
        "Spoke to the deputy controller: new CFO wants a line-by-line vendor review before "
        "Q1. Our champion Raj is on parental leave until January. Need exec alignment.",
    )


def sc_ashford(g: Gen) -> None:
    a = ACC["acc-ashford"]
    c = g.contact(a.id, "champion")
    g.email(
        a,
        local(date(2026, 11, 13), 14, 0, "America/New_York"),
        "inbound",
        g.thread(a.id),
        "Adding two plant managers as viewers",
        "Hi Ana, could you add Pete and Dana (plant managers, Dayton) as viewers? Their "
        "emails are in the CC. No rush, Monday is fine.\n\nThanks,\n" + g.first(c),
        c,
        style="z",
    )


def sc_lighthouse(g: Gen) -> None:
    a = ACC["acc-lighthouse"]
    g.task(
        a,
        "Let Lighthouse Media Group know Bulk CSV export shipped",
        z(datetime(2026, 11, 18, 22, 0, tzinfo=UTC)),
        "normal",
        "open",
        created=z(SHIPPED["r-bulk-csv"]),
        request="r-bulk-csv",
        auto=True,
    )


def sc_vantage(g: Gen) -> None:
    a = ACC["acc-vantage"]
    g.note(
        a,
        local(date(2026, 11, 10), 15, 30, "America/New_York"),
        "Renewal in February. They're happy; nothing open right now.",
    )


def sc_tidewater(g: Gen) -> None:
    a = ACC["acc-tidewater"]
    tz = "America/Los_Angeles"
    c = g.contact(a.id, "champion")
    th = g.thread(a.id)
    g.email(
        a,
        local(date(2026, 11, 11), 15, 0, tz),
        "inbound",
        th,
        "Snowflake sync failing since Tuesday's update",
        "Hi Ben,\n\nOur nightly Snowflake sync has failed twice since Tuesday's update "
        "(error: 'warehouse TIDE_BI suspended'). The grid-ops dashboards are showing "
        "Monday's data and our morning dispatch meeting relies on them. Can someone look "
        "at this urgently?\n\n" + g.first(c),
        c,
        style="off",
    )
    g.email(
        a,
        local(date(2026, 11, 11), 16, 30, tz),
        "internal",
        th,
        "Fwd: Snowflake sync failing since Tuesday's update",
        "Support team: can you check the Snowflake sync logs for Tidewater? Looks related to "
        "the v4.2 connector change. Customer is blocked.",
        None,
        style="off",
    )
    g.email(
        a,
        local(date(2026, 8, 12), 10, 0, tz),
        "outbound",
        g.thread(a.id),
        "Salesforce connector v2 is live",
        f"Hi {g.first(c)}, the v2 Salesforce connector you asked for shipped today; it "
        "syncs custom objects and runs every 15 minutes.\n\nBen",
        c,
        request="r-sf-connector",
        style="z",
    )


def sc_cobaltline(g: Gen) -> None:
    a = ACC["acc-cobaltline"]
    g.task(
        a,
        "Let Cobaltline Systems know Okta SSO shipped",
        z(datetime(2026, 11, 19, 22, 0, tzinfo=UTC)),
        "normal",
        "open",
        created=z(SHIPPED["r-okta-sso"]),
        request="r-okta-sso",
        auto=True,
    )
    c = g.contact(a.id, "champion")
    g.email(
        a,
        local(date(2026, 6, 3), 11, 0, "America/Los_Angeles"),
        "inbound",
        g.thread(a.id),
        "SSO through Okta?",
        "Hi Ben, our security team is mandating Okta for every SaaS tool by year end. Is "
        "Okta SSO on your roadmap? It's becoming a blocker for adding more users.\n\n" + g.first(c),
        c,
        request="r-okta-sso",
        style="z",
    )
    g.email(
        a,
        local(date(2026, 6, 3), 14, 0, "America/Los_Angeles"),
        "outbound",
        f"th-{g.short(a.id)}-{g.thread_no[a.id]:02d}",
        "Re: SSO through Okta?",
        f"Hi {g.first(c)}, it is: I've added Cobaltline to the Okta SSO request and flagged "
        "your year-end deadline to product. I'll tell you as soon as it ships.\n\nBen",
        c,
        request="r-okta-sso",
        style="z",
    )


def sc_ironbridge(g: Gen) -> None:
    a = ACC["acc-ironbridge"]
    tz = "America/Los_Angeles"
    c = g.contact(a.id, "decision_maker")
    th = g.thread(a.id)
    g.email(
        a,
        local(date(2026, 9, 25), 9, 30, tz),
        "inbound",
        th,
        "Audit log export for our SOC 2",
        "Hi Ben, our auditors need a full export of user and permission changes in Lumen for "
        "the SOC 2 window. Where does the audit log API stand? This is on our critical path "
        "for January.\n\n" + g.first(c),
        c,
        request="r-audit-api",
        style="z",
    )
    g.email(
        a,
        local(date(2026, 9, 25), 13, 0, tz),
        "outbound",
        th,
        "Re: Audit log export for our SOC 2",
        f"Hi {g.first(c)}, understood. The audit log API is planned; I've raised its "
        "priority with product and will come back with a date.\n\nBen",
        c,
        request="r-audit-api",
        style="z",
    )


def sc_silverline(g: Gen, a: Acct) -> None:
    # The last meeting: Friday, no next step, no post-meeting note, owned action item.
    tz = "America/Los_Angeles"
    start = local(date(2026, 11, 13), 10, 0, tz)
    c = g.contact(a.id, "champion")
    g.meeting(
        a,
        start,
        "Q4 check-in: multi-location reporting",
        60,
        None,
        [
            {
                "text": "Send the multi-location dashboard template",
                "owner": "u-ben",
                "done": False,
                "due_at": z(local(date(2026, 11, 20), 12, 0, tz)),
            }
        ],
        attendees=["u-ben", c["id"], g.contact(a.id, "decision_maker")["id"]],
    )


def sc_summit(g: Gen) -> None:
    a = ACC["acc-summit"]
    tz = "America/Los_Angeles"
    c = g.contact(a.id, "champion")
    g.meeting(
        a,
        local(date(2026, 11, 11), 11, 0, tz),
        "Q4 quarterly business review",
        90,
        "Rebook the QBR once their new VP Ops starts",
        [],
        canceled=True,
        attendees=["u-ben", "u-maya", c["id"], g.contact(a.id, "executive_sponsor")["id"]],
    )
    g.add_activity(
        local(date(2026, 11, 10), 17, 20, tz),
        {
            "account": a.id,
            "kind": "chat",
            "direction": "inbound",
            "body": "Sorry Ben, we have to push tomorrow's QBR; our VP Ops just resigned. "
            "Will come back with dates.",
            "user": "u-ben",
            "contact": c["id"],
        },
        a,
    )
    g.task(
        a,
        "Rebook Summit Peak QBR with new VP Ops",
        z(local(date(2026, 11, 24), 17, 0, tz)),
        "high",
        "open",
        created=z(local(date(2026, 11, 10), 17, 40, tz)),
    )


def sc_granite(g: Gen) -> None:
    a = ACC["acc-granite"]
    g.note(
        a,
        local(date(2026, 11, 3), 11, 0, "America/New_York"),
        "Health dropped 78 → 61 after their core-banking migration; scheduled reports were "
        "paused for two weeks. Champion says they're turning them back on.",
    )


def sc_redwood(g: Gen) -> None:
    pass


def sc_pinecrest(g: Gen) -> None:
    a = ACC["acc-pinecrest"]
    c = g.contact(a.id, "champion")
    g.email(
        a,
        local(date(2026, 11, 13), 11, 0, "Europe/London"),
        "inbound",
        g.thread(a.id),
        "Fwd: <!channel> Q4 rollout & SSO cutover — need <@U123> sign-off",
        'Hi Chloe,\n\nPasting what our IT lead posted in our Slack: "<!channel> we cut over '
        'SSO for all 14 sites on the 23rd & need <@U123> to sign off on the Lumen side". '
        "Who is <@U123> on your end, and is everything ready for the 23rd? Residents' "
        "portal reports must keep running through the cutover.\n\nThanks,\n" + g.first(c),
        c,
        style="z",
    )


def sc_foxglove(g: Gen) -> None:
    a = ACC["acc-foxglove"]
    g.task(
        a,
        "Send revised order form before Foxglove's procurement deadline",
        z(local(date(2026, 11, 13), 12, 0, "Europe/London")),
        "urgent",
        "open",
        created=z(local(date(2026, 11, 9), 10, 0, "Europe/London")),
    )


def sc_lark(g: Gen) -> None:
    a = ACC["acc-lark"]
    c = g.contact(a.id, "champion")
    g.email(
        a,
        local(date(2026, 11, 11), 10, 0, "Europe/London"),
        "outbound",
        g.thread(a.id),
        "Bulk CSV export is live",
        f"Hi {g.first(c)}, the bulk CSV export you asked for in the spring is live: select "
        "any number of bookings reports and export them in one go from the Reports page."
        "\n\nChloe",
        c,
        request="r-bulk-csv",
        style="off",
    )
    g.task(
        a,
        "Let Larkspur Travel know Bulk CSV export shipped",
        z(datetime(2026, 11, 20, 17, 0, tzinfo=UTC)),
        "normal",
        "open",
        created=z(SHIPPED["r-bulk-csv"]),
        request="r-bulk-csv",
        auto=True,
    )


def sc_wren(g: Gen) -> None:
    a = ACC["acc-wren"]
    g.note(
        a,
        datetime(2026, 11, 6, 10, 30, tzinfo=UTC),
        "Sales handoff: 12-seat practice, moving off spreadsheets for matter billing. Owner "
        "wants billable-hours dashboards live before year end.",
    )
    g.task(
        a,
        "Wrenfield Legal: kickoff and data-connector setup",
        z(datetime(2026, 11, 18, 15, 0, tzinfo=UTC)),
        "high",
        "open",
        created=z(datetime(2026, 11, 6, 10, 30, tzinfo=UTC)),
    )


def sc_heron(g: Gen) -> None:
    a = ACC["acc-heron"]
    c = g.contact(a.id, "champion")
    g.email(
        a,
        local(date(2026, 9, 8), 10, 0, "Europe/London"),
        "inbound",
        g.thread(a.id),
        "Two-way sync with HubSpot?",
        "Hi Chloe, could Lumen write lead scores back into HubSpot instead of us exporting "
        "them by hand every week?\n\n" + g.first(c),
        c,
        request="r-hubspot-sync",
        style="z",
    )
    g.email(
        a,
        local(date(2026, 9, 8), 14, 0, "Europe/London"),
        "outbound",
        f"th-{g.short(a.id)}-{g.thread_no[a.id]:02d}",
        "Re: Two-way sync with HubSpot?",
        f"Hi {g.first(c)}, not yet, but I've logged it with product and will keep you "
        "posted.\n\nChloe",
        c,
        request="r-hubspot-sync",
        style="z",
    )


def sc_nimbus(g: Gen) -> None:
    a = ACC["acc-nimbus"]
    g.task(
        a,
        "Nimbus Yoga Studios: welcome call",
        z(datetime(2026, 11, 17, 15, 0, tzinfo=UTC)),
        "normal",
        "open",
        created=z(datetime(2026, 11, 13, 20, 5, tzinfo=UTC)),
    )


def sc_thornbury(g: Gen) -> None:
    a = ACC["acc-thornbury"]
    c = g.contact(a.id, "champion")
    th = g.thread(a.id)
    tz = "Europe/London"
    g.email(
        a,
        local(date(2026, 10, 21), 10, 0, tz),
        "outbound",
        th,
        "Attendance dashboard template",
        f"Hi {g.first(c)}, as promised here's the attendance dashboard template other trusts "
        "use; it imports straight into your workspace.\n\nChloe",
        c,
        style="z",
    )
    g.email(
        a,
        local(date(2026, 10, 22), 9, 15, tz),
        "inbound",
        th,
        "Re: Attendance dashboard template",
        "Thanks Chloe, that's perfect. The heads will love it.\n\n" + g.first(c),
        c,
        style="z",
    )


def sc_brambleberry(g: Gen) -> None:
    a = ACC["acc-brambleberry"]
    tz = "America/New_York"
    c = g.contact(a.id, "champion")
    g.call(
        a,
        local(date(2026, 11, 12), 15, 0, tz),
        "outbound",
        "voicemail",
        "Call about POS integration",
        f"Left {g.first(c)} a voicemail about connecting their Square POS data.",
        c,
    )
    g.call(
        a,
        local(date(2026, 11, 13), 16, 0, tz),
        "outbound",
        "no_answer",
        "Call about POS integration",
        f"No answer from {g.first(c)}; retry Monday.",
        c,
    )


def sc_orchard(g: Gen) -> None:
    a = ACC["acc-orchard"]
    g.task(
        a,
        "Countersign and return the HIPAA BAA",
        naive(local(date(2026, 11, 11), 17, 0, ORG_TZ)),
        "high",
        "open",
        created=naive(local(date(2026, 11, 4), 10, 0, ORG_TZ)),
    )


def sc_sparrow(g: Gen) -> None:
    a = ACC["acc-sparrow"]
    g.note(
        a,
        datetime(2026, 3, 19, 14, 0, tzinfo=UTC),
        "Self-serve upgrade from trial (Starter, monthly). No kickoff requested.",
    )


def sc_kestrel(g: Gen) -> None:
    a = ACC["acc-kestrel"]
    c = g.contact(a.id, "decision_maker")
    th = g.thread(a.id)
    tz = "America/New_York"
    g.email(
        a,
        local(date(2026, 8, 19), 10, 0, tz),
        "inbound",
        th,
        "Weekly PDF to the franchise owners",
        "Hi Dev, our franchise owners don't log in; could Lumen email them a PDF of the "
        "weekly jobs dashboard every Monday?\n\n" + g.first(c),
        c,
        request="r-pdf-reports",
        style="z",
    )
    g.email(
        a,
        local(date(2026, 8, 19), 15, 0, tz),
        "outbound",
        th,
        "Re: Weekly PDF to the franchise owners",
        f"Hi {g.first(c)}, scheduled PDF delivery isn't there yet; I've added you to the "
        "request and will let you know what product decides.\n\nDev",
        c,
        request="r-pdf-reports",
        style="z",
    )


def sc_marigold(g: Gen) -> None:
    a = ACC["acc-marigold"]
    g.note(
        a,
        local(date(2026, 11, 12), 15, 0, "America/Chicago"),
        "Product confirmed Scheduled PDF reports for Q1. Told their ops director on "
        "Teams; she'll wait rather than build a workaround.",
        request="r-pdf-reports",
    )


def sc_saffron(g: Gen) -> None:
    a = ACC["acc-saffron"]
    g.task(
        a,
        "Let Saffron Street Restaurants know Bulk CSV export shipped",
        z(datetime(2026, 11, 17, 22, 0, tzinfo=UTC)),
        "normal",
        "done",
        created=z(SHIPPED["r-bulk-csv"]),
        completed=z(local(date(2026, 11, 12), 10, 0, "America/Chicago")),
        request="r-bulk-csv",
        auto=True,
    )


def sc_fennel(g: Gen) -> None:
    a = ACC["acc-fennel"]
    g.task(
        a,
        "Let Fennel Health Clinics know Bulk CSV export shipped",
        z(datetime(2026, 11, 18, 22, 0, tzinfo=UTC)),
        "normal",
        "open",
        created=z(SHIPPED["r-bulk-csv"]),
        request="r-bulk-csv",
        auto=True,
    )


def sc_juniper(g: Gen) -> None:
    a = ACC["acc-juniper"]
    g.task(
        a,
        "Share seat utilisation report ahead of the true-up",
        z(local(date(2026, 11, 12), 17, 0, "America/Chicago")),
        "normal",
        "open",
        created=z(local(date(2026, 11, 2), 9, 0, "America/Chicago")),
    )


def sc_thistle(g: Gen) -> None:
    a = ACC["acc-thistle"]
    g.task(
        a,
        "Update billing contact after Sofia's departure",
        "2026-11-06",
        "low",
        "open",
        created=z(local(date(2026, 10, 28), 11, 0, "America/Chicago")),
    )


def sc_alder(g: Gen, a: Acct) -> None:
    tz = "America/Chicago"
    start = local(date(2026, 11, 10), 10, 0, tz)
    c = g.contact(a.id, "champion")
    dm = g.contact(a.id, "decision_maker")
    m = g.meeting(
        a,
        start,
        "Analytics add-on scoping",
        45,
        "Alder to confirm add-on budget by Nov 20",
        [
            {
                "text": "Share add-on pricing sheet",
                "owner": "u-erin",
                "done": True,
                "due_at": z(local(date(2026, 11, 11), 17, 0, tz)),
            },
            {
                "text": "Send updated SOW with the analytics add-on",
                "owner": None,
                "done": False,
                "due_at": z(local(date(2026, 11, 13), 17, 0, tz)),
            },
        ],
        attendees=["u-erin", c["id"], dm["id"]],
    )
    g.note(
        a,
        start + timedelta(hours=2),
        "Scoping went well: they want the merchandising add-on for 40 store managers. "
        "Nobody took the SOW; sales engineering or me?",
        kind="post_meeting_note",
        meeting=m["id"],
    )


def sc_hollis(g: Gen) -> None:
    pass


def sc_driftwood(g: Gen) -> None:
    a = ACC["acc-driftwood"]
    g.note(
        a,
        datetime(2026, 10, 16, 18, 0, tzinfo=UTC),
        "Sam left Lumen; Driftwood not yet reassigned. Fallback CSM covers alerts.",
        user="u-maya",
    )


def sc_oldmill(g: Gen) -> None:
    a = ACC["acc-oldmill"]
    c = g.contact(a.id, "champion")
    g.email(
        a,
        local(date(2026, 11, 12), 10, 0, ORG_TZ),
        "inbound",
        g.thread(a.id),
        "Please confirm our cancellation",
        "Hi Dev, following up on our notice from September: please confirm the account is "
        "closed and send the final data export.\n\n" + g.first(c),
        c,
        style="z",
    )
    g.task(
        a,
        "Send final data export to Old Mill Hardware",
        z(local(date(2026, 11, 9), 17, 0, ORG_TZ)),
        "high",
        "open",
        created=z(local(date(2026, 10, 1), 10, 0, ORG_TZ)),
    )


def sc_papyrus(g: Gen) -> None:
    a = ACC["acc-papyrus"]
    g.task(
        a,
        "Check whether Papyrus wants to reactivate after the holidays",
        z(local(date(2026, 10, 30), 17, 0, "America/Chicago")),
        "low",
        "open",
        created=z(local(date(2026, 9, 1), 10, 0, "America/Chicago")),
    )


def sc_westbrook(g: Gen) -> None:
    a = ACC["acc-westbrook"]
    c = g.contact(a.id, "champion")
    g.email(
        a,
        local(date(2026, 11, 11), 10, 0, "Europe/London"),
        "inbound",
        g.thread(a.id),
        "Decommission date for the legacy scanners",
        "Hi Chloe, can you confirm the date the legacy scanner integration is switched off? "
        "We're planning the move to our new platform.\n\n" + g.first(c),
        c,
        style="z",
    )
    g.task(
        a,
        "Confirm decommission date for legacy scanners",
        z(local(date(2026, 10, 23), 17, 0, "Europe/London")),
        "normal",
        "open",
        created=z(local(date(2026, 10, 1), 10, 0, "Europe/London")),
    )


SCENARIO_BUILDERS = [
    sc_harborview,
    sc_quarry,
    sc_meridian,
    sc_ashford,
    sc_lighthouse,
    sc_vantage,
    sc_tidewater,
    sc_cobaltline,
    sc_ironbridge,
    sc_summit,
    sc_granite,
    sc_redwood,
    sc_pinecrest,
    sc_foxglove,
    sc_lark,
    sc_wren,
    sc_heron,
    sc_nimbus,
    sc_thornbury,
    sc_brambleberry,
    sc_orchard,
    sc_sparrow,
    sc_kestrel,
    sc_marigold,
    sc_saffron,
    sc_fennel,
    sc_juniper,
    sc_thistle,
    sc_hollis,
    sc_driftwood,
    sc_oldmill,
    sc_papyrus,
    sc_westbrook,
]
SPECIAL_LAST_MEETING = {"acc-silverline": sc_silverline, "acc-alder": sc_alder}

# --------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------
SHIPPED = {
    "r-okta-sso": datetime(2026, 11, 12, 17, 0, tzinfo=UTC),
    "r-bulk-csv": datetime(2026, 11, 10, 16, 0, tzinfo=UTC),
    "r-sf-connector": datetime(2026, 8, 12, 15, 0, tzinfo=UTC),
    "r-teams-alerts": datetime(2026, 10, 8, 15, 0, tzinfo=UTC),
}
REQUESTS: list[Record] = [
    {
        "id": "r-okta-sso",
        "accounts": ["acc-cobaltline", "acc-quarry"],
        "title": "Okta SSO",
        "impact": "high",
        "status": "shipped",
        "created_at": "2026-06-03T18:10:00Z",
        "updated_at": z(SHIPPED["r-okta-sso"]),
        "shipped_at": z(SHIPPED["r-okta-sso"]),
    },
    {
        "id": "r-bulk-csv",
        "accounts": ["acc-lighthouse", "acc-lark", "acc-saffron", "acc-fennel"],
        "title": "Bulk CSV export",
        "impact": "medium",
        "status": "shipped",
        "created_at": "2026-04-21T14:00:00Z",
        "updated_at": z(SHIPPED["r-bulk-csv"]),
        "shipped_at": z(SHIPPED["r-bulk-csv"]),
    },
    {
        "id": "r-audit-api",
        "accounts": ["acc-ironbridge"],
        "title": "Audit log API",
        "impact": "high",
        "status": "planned",
        "created_at": "2026-05-14T16:00:00Z",
        "updated_at": "2026-10-02T18:00:00Z",
    },
    {
        "id": "r-pdf-reports",
        "accounts": ["acc-kestrel", "acc-marigold"],
        "title": "Scheduled PDF reports",
        "impact": "medium",
        "status": "planned",
        "created_at": "2026-08-19T19:05:00Z",
        "updated_at": "2026-11-11T15:00:00Z",
        "discussed_at": "2026-11-11T15:00:00Z",
    },
    {
        "id": "r-hubspot-sync",
        "accounts": ["acc-heron"],
        "title": "HubSpot two-way sync",
        "impact": "medium",
        "status": "open",
        "created_at": "2026-09-08T13:30:00Z",
        "updated_at": "2026-11-13T16:00:00Z",
        "discussed_at": "2026-11-13T16:00:00Z",
    },
    {
        "id": "r-eu-residency",
        "accounts": ["acc-pinecrest", "acc-thornbury", "acc-redwood"],
        "title": "EU data residency",
        "impact": "high",
        "status": "in_progress",
        "created_at": "2026-02-10T10:00:00Z",
        "updated_at": "2026-11-10T11:20:00Z",
        "discussed_at": "2026-09-29T14:00:00Z",
    },
    {
        "id": "r-sf-connector",
        "accounts": ["acc-harborview", "acc-tidewater", "acc-granite", "acc-ashford"],
        "title": "Salesforce connector v2",
        "impact": "medium",
        "status": "shipped",
        "created_at": "2026-01-15T15:00:00Z",
        "updated_at": z(SHIPPED["r-sf-connector"]),
        "shipped_at": z(SHIPPED["r-sf-connector"]),
    },
    {
        "id": "r-row-level",
        "accounts": ["acc-harborview", "acc-meridian", "acc-northgate"],
        "title": "Row-level permissions",
        "impact": "high",
        "status": "in_progress",
        "created_at": "2026-03-02T15:00:00Z",
        "updated_at": "2026-11-04T20:00:00Z",
    },
    {
        "id": "r-dark-mode",
        "accounts": ["acc-quill", "acc-maple"],
        "title": "Dark mode",
        "impact": "low",
        "status": "open",
        "created_at": "2026-01-08T15:00:00Z",
        "updated_at": "2026-04-20T15:00:00Z",
    },
    {
        "id": "r-onprem",
        "accounts": ["acc-meridian"],
        "title": "On-prem deployment",
        "impact": "high",
        "status": "declined",
        "created_at": "2026-02-17T15:00:00Z",
        "updated_at": "2026-07-15T15:00:00Z",
    },
    {
        "id": "r-sandbox",
        "accounts": ["acc-tidewater", "acc-summit"],
        "title": "Sandbox workspace for testing",
        "impact": "medium",
        "status": "open",
        "created_at": "2026-05-05T15:00:00Z",
        "updated_at": "2026-09-20T15:00:00Z",
        "discussed_at": "2026-09-20T15:00:00Z",
    },
    {
        "id": "r-scim",
        "accounts": ["acc-quarry", "acc-copperleaf", "acc-redwood"],
        "title": "SCIM user provisioning",
        "impact": "high",
        "status": "planned",
        "created_at": "2026-04-01T15:00:00Z",
        "updated_at": "2026-10-30T19:00:00Z",
    },
    {
        "id": "r-teams-alerts",
        "accounts": ["acc-summit", "acc-northgate"],
        "title": "Microsoft Teams alerts",
        "impact": "medium",
        "status": "shipped",
        "created_at": "2026-03-20T15:00:00Z",
        "updated_at": z(SHIPPED["r-teams-alerts"]),
        "shipped_at": z(SHIPPED["r-teams-alerts"]),
    },
    {
        "id": "r-white-label",
        "accounts": ["acc-cobaltline"],
        "title": "White-label embedded dashboards",
        "impact": "low",
        "status": "open",
        "created_at": "2026-07-01T15:00:00Z",
        "updated_at": "2026-07-01T15:00:00Z",
    },
]


def old_request_tasks(g: Gen) -> None:
    """Auto-created follow-up tasks for requests that shipped before the news window."""
    for rid, accts, states in (
        (
            "r-sf-connector",
            ["acc-harborview", "acc-tidewater", "acc-granite", "acc-ashford"],
            ["done", "done", "done", "done"],
        ),
        ("r-teams-alerts", ["acc-summit", "acc-northgate"], ["canceled", "done"]),
    ):
        shipped = SHIPPED[rid]
        title = next(r["title"] for r in REQUESTS if r["id"] == rid)
        for acct_id, state in zip(accts, states, strict=True):
            a = ACC[acct_id]
            due = shipped + timedelta(days=3)
            g.task(
                a,
                f"Let {a.name} know {title} shipped",
                z(due),
                "normal",
                state,
                created=z(shipped),
                completed=z(shipped + timedelta(days=1, hours=2)) if state == "done" else None,
                request=rid,
                auto=True,
            )


# --------------------------------------------------------------------------------------------
# Account-summary hierarchy
# --------------------------------------------------------------------------------------------
OBJECTIVES = [
    (
        "Give regional managers self-serve reporting",
        [
            ("Hours per week on manual reports", "hours/week", 40, 10),
            ("Regional managers active weekly", "%", 35, 90),
        ],
    ),
    (
        "Consolidate BI tooling onto Lumen",
        [
            ("Legacy dashboards retired", "dashboards", 0, 120),
            ("BI licence spend", "USD/yr", 410000, 250000),
        ],
    ),
    (
        "Real-time operational visibility",
        [
            ("Data freshness", "minutes", 240, 15),
            ("Exceptions caught before SLA breach", "%", 40, 85),
        ],
    ),
    ("Board-ready executive KPI pack", [("Board pack preparation time", "days", 6, 1)]),
    ("Roll out to every site", [("Sites live on Lumen", "sites", 3, 24)]),
    ("Improve trust in the numbers", [("Data-quality incidents per month", "incidents", 14, 3)]),
]
CHALLENGES = [
    ("Fragmented reporting", "Each site keeps its own spreadsheets; month-end numbers disagree."),
    ("Thin analytics team", "Two analysts support 300 managers; every ad-hoc request queues."),
    ("Legacy warehouse migration", "Moving from on-prem SQL Server to Snowflake during 2026."),
    ("Executive visibility", "Leadership sees KPIs only in a monthly slide deck."),
    ("Security review pressure", "IT requires SSO, SCIM and audit logs for every SaaS tool."),
]
PLAYBOOKS = [
    (
        "Renewal readiness (120 days)",
        [
            "Confirm renewal decision-maker",
            "Build value recap deck",
            "Send renewal proposal",
            "Exec alignment call",
        ],
    ),
    (
        "Executive alignment",
        ["Map the buying committee", "Schedule exec sponsor call", "Share the value recap"],
    ),
    (
        "Adoption recovery",
        ["Identify inactive teams", "Run targeted training", "Re-check usage after 30 days"],
    ),
    (
        "Onboarding 30/60/90",
        [
            "Kickoff and success criteria",
            "Connect data sources",
            "First dashboards live",
            "Admin training",
        ],
    ),
]
CASES = [
    "Scheduled report timezone off by one hour",
    "SSO login loop for contractors",
    "Dashboard export truncates at 10k rows",
    "Connector times out on large tables",
    "Permission error on shared folder",
    "Alert emails landing in spam",
]
PROJECTS = [
    "Executive dashboard rollout",
    "Snowflake migration",
    "SSO rollout",
    "Site-by-site rollout",
    "Data-quality programme",
]
KPI_STATUS = ["on_track", "completed", "off_track", "not_started", "blocked"]
HIER_SPECIFIC: dict[str, dict[str, Any]] = {
    "acc-quarry": {
        "cases": [
            ("Data latency on inbound-shipments dashboard", "escalated", "high"),
            ("Fill-rate alert not firing", "open", "normal"),
        ],
        "projects": [("WMS data-feed cutover", "red")],
        "playbook": 2,
    },
    "acc-tidewater": {
        "cases": [("Snowflake sync failing after v4.2 connector update", "escalated", "urgent")],
        "projects": [("Grid-ops real-time dashboards", "amber")],
    },
    "acc-harborview": {"playbook": 0, "projects": [("Clinical-ops add-on rollout", "green")]},
    "acc-summit": {"projects": [("Store-ops dashboards", "amber")], "playbook": 1},
    "acc-bluefin": {"playbook": 3, "projects": [("Onboarding", "green")]},
    "acc-onyx": {"playbook": 3, "projects": [("Onboarding", "amber")]},
    "acc-meridian": {"playbook": 1},
    "acc-ironbridge": {"cases": [("Audit trail export needed for SOC 2", "open", "high")]},
}


def make_hierarchy(g: Gen, a: Acct, serial: int) -> None:
    s = g.short(a.id)
    tz = acct_tz(a)
    spec = HIER_SPECIFIC.get(a.id, {})
    onboarding = a.touch == "onboarding"
    sp_id = f"sp-{s}"
    g.h["success_plans"].append(
        {
            "id": sp_id,
            "account": a.id,
            "title": f"{'Onboarding plan' if onboarding else '2026 success plan'}: {a.name}",
            "status": "active",
            "starts_on": (parse(a.created).date() if onboarding else date(2026, 1, 15)).isoformat(),
            "ends_on": ref_date_plus(a.renew_days) if not onboarding else "2027-01-31",
        }
    )
    obj_ids: list[str] = []
    kpi_ids: list[str] = []
    for j in range(2):
        title, kpis = OBJECTIVES[(serial * 2 + j) % len(OBJECTIVES)]
        oid = f"obj-{s}-{j + 1}"
        obj_ids.append(oid)
        g.h["objectives"].append(
            {
                "id": oid,
                "success_plan": sp_id,
                "title": title,
                "status": "in_progress"
                if j == 0
                else "at_risk"
                if a.id in ("acc-quarry", "acc-tidewater")
                else "in_progress",
            }
        )
        for k, (name, unit, base, target) in enumerate(kpis):
            status = KPI_STATUS[(serial + j * 2 + k) % len(KPI_STATUS)]
            if a.id == "acc-quarry" and j == 0:
                status = "off_track"
            frac = {
                "on_track": 0.6,
                "completed": 1.0,
                "off_track": 0.15,
                "not_started": 0.0,
                "blocked": 0.1,
            }[status]
            current = round(base + (target - base) * frac, 1)
            kid = f"kpi-{s}-{j + 1}{k + 1}"
            kpi_ids.append(kid)
            g.h["kpis"].append(
                {
                    "id": kid,
                    "objective": oid,
                    "name": name,
                    "status": status,
                    "baseline": base,
                    "target": target,
                    "current": None if status == "not_started" else current,
                    "unit": unit,
                    "updated_at": z(local(day_ago(5 + 7 * k + j * 3, tz), 16, 0, tz)),
                }
            )
    for j in range(1 + serial % 2):
        title, desc = CHALLENGES[(serial + j) % len(CHALLENGES)]
        rec: Record = {
            "id": f"bc-{s}-{j + 1}",
            "account": a.id,
            "title": title,
            "description": desc,
        }
        if j == 0:
            rec["success_plan"] = sp_id
        g.h["business_challenges"].append(rec)
    pb_name, pb_tasks = PLAYBOOKS[spec.get("playbook", serial % 3)]
    pb_id = f"pb-{s}"
    g.h["playbooks"].append({"id": pb_id, "account": a.id, "name": pb_name, "status": "active"})
    pt_ids: list[str] = []
    for k, title in enumerate(pb_tasks):
        done = k < len(pb_tasks) // 2
        due = local(
            day_ago(30 - 10 * k, tz)
            if 30 - 10 * k > 0
            else weekday_fwd(ref_day(tz) + timedelta(days=10 * k - 25)),
            17,
            0,
            tz,
        )
        pid = f"pt-{s}-{k + 1}"
        pt_ids.append(pid)
        g.h["playbook_tasks"].append(
            {
                "id": pid,
                "playbook": pb_id,
                "title": title,
                "status": "done" if done else "open",
                "due_at": z(due),
                "completed_at": z(due - timedelta(days=1)) if done else None,
            }
        )
    cases = spec.get("cases") or [
        (CASES[serial % len(CASES)], ["open", "closed"][serial % 2], "normal")
    ]
    cases = [*cases, (CASES[(serial + 3) % len(CASES)], "closed", "low")]
    for k, (title, status, prio) in enumerate(cases):
        opened = local(day_ago(12 + 17 * k, tz), 11, 0, tz)
        g.h["cases"].append(
            {
                "id": f"case-{s}-{k + 1}",
                "account": a.id,
                "title": title,
                "status": status,
                "priority": prio,
                "opened_at": z(opened),
                "closed_at": z(opened + timedelta(days=4)) if status == "closed" else None,
            }
        )
    if not onboarding:
        g.h["opportunities"].append(
            {
                "id": f"opp-{s}-renewal",
                "account": a.id,
                "title": f"{a.name} renewal",
                "kind": "renewal",
                "stage": "Negotiation" if a.renew_days < 90 else "Discovery",
                "status": "open",
                "amount": round(a.mrr * 12),
                "close_date": ref_date_plus(a.renew_days),
            }
        )
    exp_status = ["open", "won", "lost"][serial % 3]
    g.h["opportunities"].append(
        {
            "id": f"opp-{s}-expansion",
            "account": a.id,
            "title": "Add 25 analyst seats"
            if serial % 2
            else "Clinical-ops add-on"
            if a.id == "acc-harborview"
            else "Expand to finance team",
            "kind": "expansion",
            "stage": {"open": "Proposal", "won": "Closed won", "lost": "Closed lost"}[exp_status],
            "status": exp_status,
            "amount": round(a.mrr * 12 * 0.2),
            "close_date": ref_date_plus(40 + serial * 9) if exp_status == "open" else "2026-09-30",
        }
    )
    if a.id == "acc-redwood":
        g.h["opportunities"].append(
            {
                "id": "opp-redwood-embedded",
                "account": a.id,
                "title": "Lumen Embedded for partner portal",
                "kind": "new",
                "stage": "Qualification",
                "status": "open",
                "amount": 96000,
                "close_date": "2027-03-31",
            }
        )
    projects = spec.get("projects") or [
        (PROJECTS[serial % len(PROJECTS)], ["green", "amber", "closed"][serial % 3])
    ]
    for k, (name, status) in enumerate(projects):
        g.h["projects"].append(
            {"id": f"proj-{s}-{k + 1}", "account": a.id, "name": name, "status": status}
        )
    # CS activities linked into the hierarchy (internal notes, before the last touch)
    base = (a.last_touch or 1) + 3
    cap = g.history_start(a)
    g.note(
        a,
        local(day_ago(min(base + 20, cap), tz), 16, 15, tz),
        f"Success plan review: '{g.h['objectives'][-2]['title']}' is progressing; agreed "
        "targets with the champion.",
        success_plan=sp_id,
        objective=obj_ids[0],
    )
    g.note(
        a,
        local(day_ago(min(base + 6, cap), tz), 15, 45, tz),
        "KPI check-in: updated current values from this month's usage export.",
        kpi=kpi_ids[0],
        objective=obj_ids[0],
    )
    g.note(
        a,
        local(day_ago(min(base + 2, cap), tz), 11, 20, tz),
        f"Playbook step done: {pb_tasks[0]}.",
        playbook_task=pt_ids[0],
    )


# --------------------------------------------------------------------------------------------
# Build
# --------------------------------------------------------------------------------------------
def build() -> tuple[Record, Record]:
    g = Gen()
    for a in ACCOUNTS:
        g.make_contacts(a)
    accounts = [g.account_record(a) for a in ACCOUNTS]
    for a in ACCOUNTS:
        g.make_health(a)
        g.background_touches(a)
        g.background_meetings(a)
        g.background_tasks(a)
        g.upcoming_meeting(a)
    for builder in SCENARIO_BUILDERS:
        builder(g)
    old_request_tasks(g)
    serial = 0
    for a in ACCOUNTS:
        if a.hierarchy:
            make_hierarchy(g, a, serial)
            serial += 1
    for a in ACCOUNTS:
        if a.last_touch is not None and a.last_touch <= 40 and a.status != "churned":
            g.product_events(a)
    sparrow = ACC["acc-sparrow"]
    g.product_events(sparrow)

    activities: list[Record] = []
    for n, (_, _, rec) in enumerate(sorted(g.activities, key=lambda t: (t[0], t[1])), start=1):
        activities.append({"id": f"a-{n:04d}", **rec})
    meetings = sorted(g.meetings, key=lambda m: (parse(m["starts_at"]), m["id"]))
    events = sorted(g.events, key=lambda e: (e["at"], e["account"]))

    portfolio: Record = {
        "format": "followup-portfolio/1",
        "reference_time": z(REF),
        "org": ORG,
        "teams": TEAMS,
        "users": USERS,
        "accounts": accounts,
        "contacts": g.contacts,
        "health_scores": g.health,
        "activities": activities,
        "meetings": meetings,
        "tasks": g.tasks,
        "requests": REQUESTS,
        "product_events": events,
        **g.h,
        "exclusions": [
            {"account": "acc-westbrook", "reason": "Legacy account in wind-down", "until": None}
        ],
    }
    scenarios: Record = {
        "reference_time": z(REF),
        "expected": [{"account": acc, "signal": sig, "lane": lane} for acc, sig, lane in EXPECTED],
        "never_flagged": NEVER_FLAGGED,
        "suppressed": [
            {"account": acc, "signal": sig, "request": req} for acc, sig, req in SUPPRESSED
        ],
    }
    return portfolio, scenarios


def write_json(path: Path, data: Record) -> None:
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def main() -> None:
    portfolio, scenarios = build()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    init = OUT_DIR / "__init__.py"
    if not init.exists():
        init.write_text("", encoding="utf-8")
    write_json(OUT_DIR / "sample_portfolio.json", portfolio)
    write_json(OUT_DIR / "sample_scenarios.json", scenarios)
    counts = ", ".join(f"{k}={len(v)}" for k, v in portfolio.items() if isinstance(v, list))
    print(f"wrote {OUT_DIR / 'sample_portfolio.json'} ({counts})")


if __name__ == "__main__":
    main()
