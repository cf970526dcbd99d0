"""Recommended actions on cards: with the org at automation level ``recommend``, each card shows
up to :data:`MAX_SUGGESTED` of the actions recommended for its account in a "Do it…" menu
(:func:`bot.service.actions.take_action` follows the segment matrix when one is chosen)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, Engine, select

from bot.blocks import mrkdwn as m
from bot.db.models import Account
from bot.engine.actions import recommend
from bot.engine.assessment import assess, load_profiles
from bot.engine.policy import ACTIONS, AutomationLevel, Status, org_level
from bot.engine.queue import alert_views, stored_card, with_states
from bot.engine.results import Card
from bot.service.actions import take_action
from bot.service.people import People

MAX_SUGGESTED = 3


def attach_suggestions(
    conn: Connection, people: People, cards: Sequence[Card], now: datetime
) -> None:
    """Fill each card's ``suggested`` (action id, title): the actions recommended to the CSM.
    Only the ``recommend`` level leaves actions for the CSM to start; the others run them."""
    level = org_level(people.org.automation_level)
    if level is not AutomationLevel.RECOMMEND or not cards:
        return
    users = dict(people.users)
    profiles = load_profiles(conn, [c.account for c in cards], now, people.org, users)
    for card in cards:
        profile = profiles.get(card.account)
        if profile is None:
            continue
        assessment = assess(profile, people.org.rules.for_team(profile.team_id), now)
        recs = recommend(assessment, card.reasons, level, people.org.fallback_csm_id)
        card.suggested = [
            (r.action.id, r.action.title) for r in recs if r.status is Status.RECOMMENDED
        ][:MAX_SUGGESTED]


def do_suggested(engine: Engine, account_id: str, action_id: str, actor: str, now: datetime) -> str:
    """A CSM chose "Do it" on a recommended action: take it as the matrix says; what happened,
    in their words (mrkdwn, customer text escaped)."""
    with engine.connect() as conn:
        card = stored_card(conn, account_id)
        if card is not None:
            card = with_states(card, alert_views(conn, card.alert_ids.values()), now)
        name = str(conn.execute(select(Account.name).where(Account.id == account_id)).scalar())
    title = m.fit(m.one_line(name), 150)
    outcome = take_action(
        engine, account_id, action_id, card.reasons if card else [], actor=actor, now=now
    )
    what = ACTIONS[action_id].title if action_id in ACTIONS else action_id
    if outcome is None:
        return (
            f":information_source: *{what}* on *{title}* was taken already, or the account no "
            "longer calls for it. Nothing more was done."
        )
    if outcome.status == "executed":
        return f":white_check_mark: *{what}* on *{title}*: done."
    if outcome.status == "pending_approval":
        return (
            f":hourglass_flowing_sand: *{what}* on *{title}* needs a manager's approval: it is "
            "posted in the approvals channel, and runs once approved."
        )
    detail = f" ({m.esc(m.fit(outcome.detail, 300))})" if outcome.detail else ""
    return f":warning: *{what}* on *{title}* could not be done{detail}. It was logged."
