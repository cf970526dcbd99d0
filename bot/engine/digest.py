"""Digest selection: what one reader's daily DM holds (followup-rules.md "Sensitivity")."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.engine.facts import OrgFacts, UserFacts
from bot.engine.results import Card, iso_z
from bot.engine.rules import LANE_ORDER, Lane, Severity
from bot.engine.sweep import SweepResult

SENSITIVITY_FLOOR = {
    "important": Severity.HIGH,
    "standard": Severity.MEDIUM,
    "comprehensive": Severity.LOW,
}


@dataclass(slots=True)
class Digest:
    user: UserFacts
    result: SweepResult
    sensitivity: str
    lanes: dict[Lane, list[Card]] = field(default_factory=dict)
    more: dict[Lane, int] = field(default_factory=dict)
    skipped: str | None = None  # "opt_out" | "digest_off"
    # The reader's cards whose reasons all fall below their noise level (not in the JSON).
    hidden: list[Card] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(len(cards) for cards in self.lanes.values())

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "user": self.user.id,
            "as_of": iso_z(self.result.as_of),
            "sensitivity": self.sensitivity,
            "lanes": {lane.value: [c.to_json() for c in self.lanes[lane]] for lane in LANE_ORDER},
            "more": {lane.value: self.more.get(lane, 0) for lane in LANE_ORDER},
        }
        if self.skipped:
            out["skipped"] = self.skipped
        return out


def owns_card(user: UserFacts, card: Card, org: OrgFacts) -> bool:
    """The reader of a card: its CSM, or the org's fallback CSM for accounts with none."""
    if card.csm is not None:
        return card.csm == user.id
    return org.fallback_csm_id == user.id


def user_sensitivity(user: UserFacts, org: OrgFacts) -> str:
    own = user.digest.get("sensitivity")
    return str(own or org.digest.get("sensitivity") or "standard")


def select_digest(result: SweepResult, user: UserFacts, org: OrgFacts) -> Digest:
    """The cards of ``user``'s digest from a sweep, after their settings and the org's."""
    sensitivity = user_sensitivity(user, org)
    digest = Digest(user, result, sensitivity, {lane: [] for lane in LANE_ORDER})
    if not org.digest.get("enabled", True):
        digest.skipped = "digest_off"
        return digest
    if user.digest.get("opt_out"):
        digest.skipped = "opt_out"
        return digest
    floor = SENSITIVITY_FLOOR[sensitivity].rank
    cap = int(org.digest.get("max_per_lane", 5))
    for card in result.cards:  # already ranked by lane, then action score
        if not owns_card(user, card, org):
            continue
        if all(r.severity.rank < floor for r in card.reasons):
            digest.hidden.append(card)
            continue
        lane_cards = digest.lanes[card.lane]
        if len(lane_cards) < cap:
            lane_cards.append(card)
        else:
            digest.more[card.lane] = digest.more.get(card.lane, 0) + 1
    return digest
