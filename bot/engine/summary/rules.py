"""The ``rules`` writer: deterministic, always available, readable prose.

:func:`write_rules` builds every visible section from :class:`AccountData`; the executive
summary and the strategic next steps are built last, from the other visible sections, and say
there is not enough data when an admin hid every section that feeds them.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.engine.summary import rules_facts as facts
from bot.engine.summary import rules_narrative as narrative
from bot.engine.summary.budget import SectionActivities, allot
from bot.engine.summary.data import AccountData
from bot.engine.summary.model import Bullet, Section
from bot.engine.summary.records import ActivityRow
from bot.engine.summary.sections import (
    FEEDS,
    SECTION_ORDER,
    SectionId,
    insufficient,
    insufficient_message,
)

Builder = Callable[[AccountData, list[ActivityRow]], list[Bullet]]
BUILDERS: dict[SectionId, Builder] = {
    SectionId.ACCOUNT_HIGHLIGHTS: lambda d, _: facts.highlights(d),
    SectionId.KEY_STAKEHOLDERS: facts.stakeholders,
    SectionId.KPI_PROGRESS: facts.kpi_progress,
    SectionId.RELATIONAL_HEALTH: narrative.relational_health,
    SectionId.RISKS_AND_BLOCKERS: narrative.risks,
    SectionId.EXPANSION_OPPORTUNITIES: narrative.expansion,
    SectionId.STRATEGIC_VALUE_ACHIEVEMENTS: facts.value_achievements,
    SectionId.IMMEDIATE_ACTIONS: lambda d, _: facts.immediate_actions(d),
}


def _problems_notice(data: AccountData) -> str | None:
    if not data.problems:
        return None
    return "Data problems: " + "; ".join(data.problems) + "."


def write_rules(
    data: AccountData,
    hidden: frozenset[SectionId] = frozenset(),
    allotted: dict[SectionId, SectionActivities] | None = None,
) -> list[Section]:
    """Every section not in ``hidden``, in the order of cli.md."""
    built: dict[SectionId, Section] = {}
    for sid, builder in BUILDERS.items():
        if sid in hidden:
            continue
        share = (allotted or {}).get(sid) or allot(data, sid)
        section = Section(sid, builder(data, share.rows), notice=share.notice)
        if sid is SectionId.ACCOUNT_HIGHLIGHTS:
            section.notice = _problems_notice(data)
        built[sid] = section
    for sid in FEEDS:
        if sid in hidden:
            continue
        if insufficient(sid, hidden):
            built[sid] = Section(sid, [], notice=insufficient_message(sid))
            continue
        feeding = {f: built[f] for f in FEEDS[sid] if f in built}
        write = (
            narrative.executive_summary
            if sid is SectionId.EXECUTIVE_SUMMARY
            else narrative.next_steps
        )
        built[sid] = Section(sid, write(data, feeding))
    return [built[s] for s in SECTION_ORDER if s in built]
