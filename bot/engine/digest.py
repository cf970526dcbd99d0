"""Digest selection: what one reader's daily DM holds (followup-rules.md "Sensitivity")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.engine.alerts import AlertState
from bot.engine.facts import OrgFacts, UserFacts
from bot.engine.queue import AlertView, with_states
from bot.engine.results import Card, iso_z
from bot.engine.rules import LANE_ORDER, Lane, Severity
from bot.engine.sweep import SweepResult

SENSITIVITY_FLOOR = {
    "important": Severity.HIGH,
    "standard": Severity.MEDIUM,
    "comprehensive": Severity.LOW,
}


@dataclass(frozen=True, slots=True)
class Handled:
    """A card of a day's list whose every reason was handled since the DM was sent: how (the
    latest change), by whom, when, and the alerts that change moved (what Undo reopens)."""

    state: AlertState
    by: str | None
    at: datetime | None
    until: datetime | None
    alert_ids: tuple[int, ...]


@dataclass(slots=True)
class Digest:
    user: UserFacts
    result: SweepResult
    sensitivity: str
    lanes: dict[Lane, list[Card]] = field(default_factory=dict)
    more: dict[Lane, int] = field(default_factory=dict)
    skipped: str | None = None  # "opt_out" | "digest_off"
    # A day's list re-rendered: the cards (by account id) handled since it was sent.
    handled: dict[str, Handled] = field(default_factory=dict)
    # The reader's cards whose reasons all fall below their noise level (not in the JSON).
    hidden: list[Card] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(len(cards) for cards in self.lanes.values())

    def cards(self) -> list[Card]:
        """Every card of the digest, in the order it shows them."""
        return [card for lane in LANE_ORDER for card in self.lanes.get(lane, [])]

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


def handled_by(card: Card, alerts: Mapping[int, AlertView]) -> Handled:
    """How a card whose reasons are all off it was handled: its latest change."""
    moved = [alerts[i] for i in card.alert_ids.values() if i in alerts]
    if not moved:
        return Handled(AlertState.DONE, None, None, None, ())
    latest = max(moved, key=lambda a: (a.changed_at is not None, a.changed_at or 0, a.id))
    same = tuple(a.id for a in moved if a.state is latest.state)
    return Handled(latest.state, latest.changed_by, latest.changed_at, latest.snooze_until, same)


def day_list(
    user: UserFacts,
    result: SweepResult,
    sensitivity: str,
    cards: Sequence[Card],
    more: Mapping[Lane, int],
    alerts: Mapping[int, AlertView],
    now: datetime,
) -> Digest:
    """A day's list as it stands at ``now`` (followup-rules.md "Surfaces"): the ``cards`` the DM
    showed, in its order, each with the reasons still on it; a card with none left is kept in
    its place and marked handled."""
    digest = Digest(user, result, sensitivity, {lane: [] for lane in LANE_ORDER}, dict(more))
    for card in cards:
        current = with_states(card, alerts, now)
        if current is None:
            digest.handled[card.account] = handled_by(card, alerts)
            current = card
        digest.lanes[card.lane].append(current)
    return digest
