"""Per-section activity budgets.

Each section that reads activities has a budget of prompt characters (``SECTION_BUDGET``).
The section's other data (its KPIs, cases, contacts …, as prompt lines) is counted first;
what is left goes to the most recent activities that matter to that section, newest first,
until the budget is spent. The section's ``notice`` then says from which date activities are
included, or that none could be. The prompt is bounded by the sum of the budgets (plus the
capped record lists) however large the account.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.engine.summary.data import AccountData
from bot.engine.summary.lines import (
    activity_line,
    case_line,
    day,
    kpi_line,
    objective_line,
    opportunity_line,
    person_line,
    playbook_task_line,
    project_line,
)
from bot.engine.summary.records import ActivityRow
from bot.engine.summary.sections import SectionId

SECTION_BUDGET = 10_000  # characters of prompt lines per section (about 2,500 tokens)
MAX_RECORD_LINES = 40  # of one kind of record in a section's data
CUSTOMER_FACING = ("email", "call", "meeting", "chat")


def _customer_facing(a: ActivityRow) -> bool:
    return (a.kind in CUSTOMER_FACING and a.direction in ("inbound", "outbound")) or (
        a.kind == "meeting"
    )


def _with_people(a: ActivityRow) -> bool:
    return a.contact_id is not None or a.user_id is not None


def _linked(a: ActivityRow) -> bool:
    return bool(a.links)


def _has_text(a: ActivityRow) -> bool:
    return bool(a.text or a.subject)


# Which activities matter to each section that reads them.
RELEVANT: dict[SectionId, Callable[[ActivityRow], bool]] = {
    SectionId.KEY_STAKEHOLDERS: _with_people,
    SectionId.KPI_PROGRESS: _linked,
    SectionId.RELATIONAL_HEALTH: _customer_facing,
    SectionId.RISKS_AND_BLOCKERS: _has_text,
    SectionId.EXPANSION_OPPORTUNITIES: _has_text,
    SectionId.STRATEGIC_VALUE_ACHIEVEMENTS: _has_text,
}


@dataclass(slots=True)
class SectionActivities:
    rows: list[ActivityRow]
    lines: list[str]
    notice: str | None


def who(data: AccountData, a: ActivityRow) -> str | None:
    names = []
    for pid in (a.user_id, a.contact_id):
        p = data.person(pid)
        if p is not None:
            names.append(f"{p.name} ({p.id})")
    return ", ".join(names) or None


def capped(lines: list[str], limit: int = MAX_RECORD_LINES) -> list[str]:
    if len(lines) <= limit:
        return lines
    return [*lines[:limit], f"(+{len(lines) - limit} more not shown)"]


def section_data_lines(data: AccountData, section: SectionId) -> list[str]:
    """The prompt lines of a section's own (non-activity) data, each kind capped."""
    return capped(_data_lines(data, section), MAX_RECORD_LINES * 2)


def _data_lines(data: AccountData, section: SectionId) -> list[str]:
    if section is SectionId.KEY_STAKEHOLDERS:
        return [person_line(p) for p in (*data.contacts, *data.users.values())]
    if section is SectionId.KPI_PROGRESS:
        return [kpi_line(k) for k in data.kpis]
    if section is SectionId.STRATEGIC_VALUE_ACHIEVEMENTS:
        return [kpi_line(k) for k in data.kpis if k.significant] + [
            objective_line(o) for o in data.objectives
        ]
    if section is SectionId.RISKS_AND_BLOCKERS:
        return (
            [case_line(c) for c in data.cases if c.status != "closed"]
            + [project_line(p) for p in data.projects if p.status in ("red", "amber")]
            + [kpi_line(k) for k in data.kpis if k.status not in ("on_track", "completed")]
            + [playbook_task_line(t) for t in data.playbook_tasks if not t.done]
        )
    if section is SectionId.EXPANSION_OPPORTUNITIES:
        return [opportunity_line(o) for o in data.opportunities]
    return []


def allot(data: AccountData, section: SectionId, budget: int = SECTION_BUDGET) -> SectionActivities:
    """The activities ``section`` may use, newest first, within its budget."""
    relevant = RELEVANT.get(section)
    if relevant is None:
        return SectionActivities([], [], None)
    left = budget - sum(len(line) + 1 for line in section_data_lines(data, section))
    matching = [a for a in data.activities.rows if relevant(a)]
    rows: list[ActivityRow] = []
    lines: list[str] = []
    for a in matching:
        line = activity_line(a, who(data, a))
        if len(line) + 1 > left:
            break
        rows.append(a)
        lines.append(line)
        left -= len(line) + 1
    return SectionActivities(rows, lines, _notice(data, matching, rows))


def _notice(
    data: AccountData, matching: Sequence[ActivityRow], used: Sequence[ActivityRow]
) -> str | None:
    window = data.activities
    if len(used) == len(matching) and window.complete:
        return None
    if not matching and window.complete:
        return None
    if not used and matching:
        return (
            "No activities could be included in this section: the account's other data for "
            "it fills the section's budget."
        )
    if not used:
        return (
            f"Only the most recent activities (from {day(window.rows[-1].at)} on) were read, "
            "and none of them bear on this section."
        )
    return (
        f"Includes activities from {day(used[-1].at)} on (the most recent {len(used)} that "
        f"matter here, of {window.total} in the period); older ones were left out to keep "
        "the summary bounded."
    )


def allot_all(
    data: AccountData, sections: Sequence[SectionId]
) -> dict[SectionId, SectionActivities]:
    return {s: allot(data, s) for s in sections}
