"""The ten sections of an account summary (cli.md ids, the summary seed's content rules).

``EXECUTIVE_FEEDS`` and ``NEXT_STEPS_FEEDS`` name the sections the executive summary and the
strategic next steps are built from: when an admin hides every one of them, that section says
there is not enough data instead of being written.
"""

from __future__ import annotations

from enum import StrEnum


class SectionId(StrEnum):
    ACCOUNT_HIGHLIGHTS = "account_highlights"
    KEY_STAKEHOLDERS = "key_stakeholders"
    EXECUTIVE_SUMMARY = "executive_summary"
    KPI_PROGRESS = "kpi_progress"
    RELATIONAL_HEALTH = "relational_health"
    RISKS_AND_BLOCKERS = "risks_and_blockers"
    EXPANSION_OPPORTUNITIES = "expansion_opportunities"
    STRATEGIC_VALUE_ACHIEVEMENTS = "strategic_value_achievements"
    STRATEGIC_NEXT_STEPS = "strategic_next_steps"
    IMMEDIATE_ACTIONS = "immediate_actions"

    @property
    def label(self) -> str:
        """The section's title (``title`` is str's own method)."""
        return TITLES[self]


SECTION_ORDER: tuple[SectionId, ...] = tuple(SectionId)

TITLES: dict[SectionId, str] = {
    SectionId.ACCOUNT_HIGHLIGHTS: "Account Highlights",
    SectionId.KEY_STAKEHOLDERS: "Key Stakeholders",
    SectionId.EXECUTIVE_SUMMARY: "Executive Summary",
    SectionId.KPI_PROGRESS: "KPI Progress",
    SectionId.RELATIONAL_HEALTH: "Relational Health",
    SectionId.RISKS_AND_BLOCKERS: "Risks and Blockers",
    SectionId.EXPANSION_OPPORTUNITIES: "Suggested Expansion Opportunities",
    SectionId.STRATEGIC_VALUE_ACHIEVEMENTS: "Strategic Value Achievements",
    SectionId.STRATEGIC_NEXT_STEPS: "Strategic Next Steps",
    SectionId.IMMEDIATE_ACTIONS: "Immediate Actions",
}

EXECUTIVE_FEEDS: tuple[SectionId, ...] = (
    SectionId.ACCOUNT_HIGHLIGHTS,
    SectionId.KPI_PROGRESS,
    SectionId.RELATIONAL_HEALTH,
    SectionId.RISKS_AND_BLOCKERS,
    SectionId.STRATEGIC_VALUE_ACHIEVEMENTS,
)
NEXT_STEPS_FEEDS: tuple[SectionId, ...] = (
    SectionId.KEY_STAKEHOLDERS,
    SectionId.KPI_PROGRESS,
    SectionId.RISKS_AND_BLOCKERS,
    SectionId.EXPANSION_OPPORTUNITIES,
    SectionId.IMMEDIATE_ACTIONS,
)
FEEDS: dict[SectionId, tuple[SectionId, ...]] = {
    SectionId.EXECUTIVE_SUMMARY: EXECUTIVE_FEEDS,
    SectionId.STRATEGIC_NEXT_STEPS: NEXT_STEPS_FEEDS,
}
# Sections whose content is facts our code computes (numbers, the obligation queue): never
# written by the AI.
COMPUTED: frozenset[SectionId] = frozenset(
    {SectionId.ACCOUNT_HIGHLIGHTS, SectionId.IMMEDIATE_ACTIONS}
)


def insufficient(section: SectionId, hidden: frozenset[SectionId]) -> bool:
    """Whether ``section`` is built from other sections and every one of them is hidden."""
    feeds = FEEDS.get(section)
    return feeds is not None and all(f in hidden for f in feeds)


def insufficient_message(section: SectionId) -> str:
    names = ", ".join(s.label for s in FEEDS[section])
    return (
        f"Insufficient data: this section is built from {names}, and an admin has hidden all "
        "of them."
    )


def parse_hidden(values: object) -> frozenset[SectionId]:
    """The stored hidden-section list, ignoring anything that is not a section id."""
    if not isinstance(values, list | tuple | set | frozenset):
        return frozenset()
    known = {s.value: s for s in SectionId}
    return frozenset(known[v] for v in values if isinstance(v, str) and v in known)
