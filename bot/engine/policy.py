"""The action policy (followup-rules.md, "Action policy"): the ten actions, their sensitivity
and kind, the segment matrix, and how the org's automation level and an account's blocker turn
the matrix into each action's status.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class AutomationLevel(StrEnum):
    RECOMMEND = "recommend"
    ASSISTED = "assisted"
    AUTONOMOUS = "autonomous"

    @property
    def description(self) -> str:
        return LEVEL_DESCRIPTIONS[self]


LEVEL_DESCRIPTIONS = {
    AutomationLevel.RECOMMEND: "Mostly recommendations: every action is shown to the CSM.",
    AutomationLevel.ASSISTED: "Low-risk actions can be created automatically; "
    "higher-sensitivity actions go to review.",
    AutomationLevel.AUTONOMOUS: "Most actions can be created automatically; "
    "sensitive actions still go to review.",
}
DEFAULT_LEVEL = AutomationLevel.ASSISTED


class Status(StrEnum):
    AUTO = "auto"  # the bot creates it now
    NEEDS_APPROVAL = "needs_approval"  # posted for a manager; created once approved
    RECOMMENDED = "recommended"  # shown to the CSM with a button


class Sensitivity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


SEGMENTS = ("smb", "mid_market", "enterprise")
SEGMENT_LABELS = {"smb": "SMB", "mid_market": "Mid-market", "enterprise": "Enterprise"}
# An account with no segment takes the strictest column (every cell at least as restrictive).
UNKNOWN_SEGMENT = "enterprise"
BLOCKERS = ("none", "minor", "major")
KINDS = (
    "task",
    "message",
    "email",
    "sequence",
    "escalation",
    "ownership",
    "discount",
    "health_score",
)


@dataclass(frozen=True, slots=True)
class ActionSpec:
    id: str
    title: str
    kind: str
    sensitivity: Sensitivity
    matrix: dict[str, Status]  # segment → baseline: AUTO or NEEDS_APPROVAL ("approve")

    @property
    def order(self) -> int:
        return ACTION_ORDER[self.id]


def _spec(
    action_id: str, title: str, kind: str, sensitivity: str, smb: str, mid: str, ent: str
) -> ActionSpec:
    cell = {"auto": Status.AUTO, "approve": Status.NEEDS_APPROVAL}
    matrix = {"smb": cell[smb], "mid_market": cell[mid], "enterprise": cell[ent]}
    return ActionSpec(action_id, title, kind, Sensitivity(sensitivity), matrix)


_ACTIONS = (
    _spec("create_discount_request", "Create discount request", "discount", "high",
          "approve", "approve", "approve"),
    _spec("reassign_ownership", "Reassign ownership", "ownership", "high",
          "approve", "approve", "approve"),
    _spec("send_checkin_email", "Send check-in email", "email", "high",
          "approve", "approve", "approve"),
    _spec("add_to_onboarding_recovery", "Add to onboarding recovery sequence", "sequence",
          "medium", "auto", "approve", "approve"),
    _spec("create_support_task", "Create support task", "task", "medium",
          "auto", "approve", "approve"),
    _spec("escalate_to_specialist", "Escalate to specialist", "escalation", "medium",
          "auto", "auto", "auto"),
    _spec("add_to_low_adoption_nurture", "Add to low-adoption nurture campaign", "sequence",
          "low", "auto", "auto", "approve"),
    _spec("notify_owner_slack", "Notify owner (Slack)", "message", "low",
          "auto", "auto", "approve"),
    _spec("schedule_checkpoint_7d", "Schedule checkpoint (7 days)", "task", "low",
          "auto", "auto", "approve"),
    _spec("update_csm_health_score", "Update CSM health score", "health_score", "low",
          "auto", "auto", "approve"),
)  # fmt: skip
ACTIONS: dict[str, ActionSpec] = {a.id: a for a in _ACTIONS}
ACTION_ORDER = {a.id: i for i, a in enumerate(_ACTIONS)}


def action_status(
    action: ActionSpec, segment: str | None, level: AutomationLevel, blocker: str | None
) -> Status:
    """The status of ``action`` for an account of ``segment`` with ``blocker``, at ``level``.

    ``recommend``: always recommended. ``assisted``: low-sensitivity actions take the matrix
    value, medium and high ones need approval. ``autonomous``: the matrix value. A major blocker
    then turns ``auto`` into ``needs_approval`` (never the reverse); a minor one changes nothing.
    """
    if level is AutomationLevel.RECOMMEND:
        return Status.RECOMMENDED
    status = action.matrix[segment if segment in action.matrix else UNKNOWN_SEGMENT]
    if level is AutomationLevel.ASSISTED and action.sensitivity is not Sensitivity.LOW:
        status = Status.NEEDS_APPROVAL
    if blocker == "major" and status is Status.AUTO:
        status = Status.NEEDS_APPROVAL
    return status


@dataclass(frozen=True, slots=True)
class Policy:
    """The effective policy at one automation level for accounts with one blocker value."""

    level: AutomationLevel
    blocker: str

    def statuses(self, action: ActionSpec) -> dict[str, Status]:
        return {seg: action_status(action, seg, self.level, self.blocker) for seg in SEGMENTS}

    def to_json(self) -> dict[str, Any]:
        return {
            "automation_level": self.level.value,
            "blocker": self.blocker,
            "actions": [
                {
                    "action": a.id,
                    "sensitivity": a.sensitivity.value,
                    "statuses": {seg: s.value for seg, s in self.statuses(a).items()},
                }
                for a in _ACTIONS
            ],
        }


def parse_level(value: str) -> AutomationLevel:
    """``value`` as an automation level; ValueError naming it and the choices otherwise."""
    try:
        return AutomationLevel(value.strip().lower())
    except ValueError:
        choices = ", ".join(level.value for level in AutomationLevel)
        raise ValueError(f"unknown automation level '{value}' (choose {choices})") from None


def org_level(value: str | None) -> AutomationLevel:
    """The org's stored ``automation_level`` (``assisted`` when there is none)."""
    try:
        return AutomationLevel(value or DEFAULT_LEVEL)
    except ValueError:
        return DEFAULT_LEVEL


def parse_blocker(value: str) -> str:
    text = value.strip().lower()
    if text not in BLOCKERS:
        raise ValueError(f"unknown blocker '{value}' (choose {', '.join(BLOCKERS)})")
    return text
