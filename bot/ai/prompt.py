"""The prompt: static instructions (prompt-cached, the same for every account) and one
account's data as id-first lines (``bot.engine.summary.lines``), bounded by the per-section
activity budgets and the capped record lists.

Token count: ``estimate_tokens`` counts one token per 4 characters of UTF-8 text (rounded up),
the usual rule of thumb for English with Claude's tokenizer; it is what the budget
``PROMPT_TOKEN_BUDGET`` and ``bench/bench_summary.py`` are stated in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from bot.engine.summary.budget import SectionActivities, capped, who
from bot.engine.summary.data import AccountData
from bot.engine.summary.lines import (
    activity_line,
    case_line,
    challenge_line,
    clean,
    kpi_line,
    num,
    objective_line,
    opportunity_line,
    person_line,
    plan_line,
    playbook_line,
    playbook_task_line,
    project_line,
)
from bot.engine.summary.records import ActivityRow
from bot.engine.summary.sections import SectionId

PROMPT_TOKEN_BUDGET = 24_000
PROMPT_VERSION = "1"

INSTRUCTIONS = """\
You write account summaries for customer-success managers (CSMs) preparing a business review.
You are given the data of ONE customer account as lines that each start with a record id.
Answer only by calling the tool write_account_summary, with bullets for every section asked.

Rules — follow all of them:
1. Use only the account data given. Never invent people, companies, products, dates, numbers
   or events. Do not use outside knowledge about the customer.
2. Every bullet cites, in "refs", the ids of the records it rests on (e.g. "kpi-12",
   "act-204", "c-7"). Cite only ids that appear in the data. A bullet without a valid id is
   discarded.
3. Do not compute numbers. Repeat a number only exactly as it appears in the data (progress
   percentages, amounts and counts are given). Write dates as they appear (YYYY-MM-DD).
4. Plain text only: no markdown, no headings, no bullet characters. One or two sentences per
   bullet, at most 8 bullets per section, most important first.
5. Be honest: when the data does not support a section, say so in one bullet citing the
   account id.

Sections:
- key_stakeholders: the important people on the customer's side and ours, their roles, and
  who must be involved in the follow-up discussions and why.
- executive_summary: a quick overview of the account's health, main challenges, relational
  health and performance trends, built from the other sections.
- kpi_progress: objective KPIs recently completed or progressed, with their measurable
  progress toward the customer's objectives.
- relational_health: the strength of the relationship: active collaboration, executive
  engagement, sentiment in communication.
- risks_and_blockers: current problems or possible issues stopping progress or threatening
  the relationship.
- expansion_opportunities: areas for expansion, each from a specific signal in the activity
  notes (cite the activity).
- strategic_value_achievements: successes realised by the customer: business outcomes,
  financial expansion and usage, lifecycle achievements. Use only KPIs whose status is
  on_track or completed AND that show significant progress; never cite a KPI that is
  off_track, not_started or blocked here.
- strategic_next_steps: the plan for the next few months to meet the customer's goals,
  built from the other sections.
"""


def estimate_tokens(*texts: str) -> int:
    return sum(math.ceil(len(t.encode("utf-8")) / 4) for t in texts)


def _account_line(data: AccountData) -> str:
    a = data.account
    traits = "; ".join(
        f"{clean(str(k), 40)}={clean(str(v), 60)}" for k, v in list(a.traits.items())[:12]
    )
    parts = [
        f"{a.id} | {clean(a.name, 120)}",
        f"status={a.status}",
        f"segment={a.segment or '?'}",
        f"mrr={num(a.mrr)}",
        f"renewal={a.renewal_date.isoformat() if a.renewal_date else '?'}",
        f"health={num(a.health)} (previous {num(a.health_prev)})",
        f"csm_pulse={a.csm_pulse if a.csm_pulse is not None else '?'}",
        f"usage_trend={num(a.usage_trend)}",
        f"adoption={num(a.adoption)}",
        f"blocker={a.blocker or 'none'}",
    ]
    if a.csm_pulse_note:
        parts.append(f"csm_pulse_note={clean(a.csm_pulse_note, 200)}")
    if traits:
        parts.append(f"traits: {traits}")
    return " | ".join(parts)


def build_prompt(
    data: AccountData,
    allotted: dict[SectionId, SectionActivities],
    sections: Sequence[SectionId],
) -> str:
    """The account's data, for the sections asked (``sections``)."""
    out = [
        f"Summary as of {data.now.date().isoformat()}. Sections to write: "
        + ", ".join(s.value for s in sections)
        + ".",
        "",
        "# Account",
        _account_line(data),
    ]

    def block(title: str, lines: list[str], *, cap: bool = True) -> None:
        if lines:
            out.extend(["", f"# {title}", *(capped(lines) if cap else lines)])

    block("Customer contacts", [person_line(p) for p in data.contacts])
    block("Our team", [person_line(p) for p in data.users.values()])
    block("Success plans", [plan_line(p) for p in data.plans])
    block("Objectives", [objective_line(o) for o in data.objectives])
    block("Objective KPIs", [kpi_line(k) for k in data.kpis])
    block("Business challenges", [challenge_line(c) for c in data.challenges])
    block("Playbooks", [playbook_line(p) for p in data.playbooks])
    block("Playbook tasks", [playbook_task_line(t) for t in data.playbook_tasks])
    block("Cases", [case_line(c) for c in data.cases])
    block("Opportunities", [opportunity_line(o) for o in data.opportunities])
    block("Projects", [project_line(p) for p in data.projects])
    block(
        "Open obligations (the immediate actions)",
        [
            f"{','.join(ob.refs) or data.account.id} | {ob.severity} | {clean(ob.text)}"
            for ob in data.obligations
        ],
    )
    used: dict[str, list[str]] = {}
    rows: dict[str, ActivityRow] = {}
    for sid in sections:
        share = allotted.get(sid)
        if share is None:
            continue
        for row in share.rows:
            used.setdefault(row.id, []).append(sid.value)
            rows[row.id] = row
    ordered = sorted(rows.values(), key=lambda r: (r.at, r.id), reverse=True)
    block(
        f"Activities (newest first; {len(ordered)} of {data.activities.total} in the period)",
        [f"{activity_line(r, who(data, r))} | for={','.join(used[r.id])}" for r in ordered],
        cap=False,  # bounded by the sections' budgets
    )
    if data.problems:
        block("Data problems", list(data.problems))
    return "\n".join(out)
