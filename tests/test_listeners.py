"""The bot's interactive surface is wired exactly once: every ``ActionId`` that Slack can send
as a ``block_actions`` has one listener (the modal inputs, read from ``view.state`` on
submission, have none), every modal ``CallbackId`` one ``view_submission`` listener, every
slash command and event one listener. Matching goes through Bolt's own listener matchers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk.models.views import View

from bot.app import build_app
from bot.blocks.approvals import Approval, reject_modal
from bot.blocks.opportunities import opportunity_modal
from bot.blocks.summary import summary_sections_modal
from bot.blocks.values import CardRef, EscalationRef, OpportunityDraft
from bot.blocks.views import (
    dismiss_modal,
    org_settings_modal,
    reassign_modal,
    settings_modal,
    snooze_modal,
)
from bot.db.session import make_engine
from bot.engine.business_time import BusinessHours
from bot.engine.facts import OrgFacts, UserFacts
from bot.engine.rules import RulesBook
from bot.ids import ActionId, CallbackId, Command, Event
from bot.settings import Settings
from tests.slack_fakes import SIGNING_SECRET, TEAM_ID, TOKEN

# The App Home is published, never submitted.
NOT_SUBMITTED = {CallbackId.HOME}


@pytest.fixture
def app(sqlite_url: str) -> Iterator[App]:
    settings = Settings(
        DATABASE_URL=sqlite_url, SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET
    )
    engine = make_engine(sqlite_url)
    yield build_app(settings, engine, token_verification=False)
    engine.dispose()


def modal_inputs() -> set[str]:
    """The action ids of every input element in the bot's modals (they send no block_actions)."""
    user = UserFacts("u-1", "Ana", None, "U1", "admin", None, None, "America/New_York", True, {})
    org = OrgFacts(
        "Org", "UTC", BusinessHours(), RulesBook(None, {}), None, {}, "assisted", None, None
    )
    ref = CardRef(account="acc-1", alerts=(1,))
    views: list[View] = [
        snooze_modal(ref, "Globex", today=date(2026, 11, 16)),
        dismiss_modal(ref, "Globex", ["why"]),
        settings_modal(user, org),
        org_settings_modal(user, org),
        summary_sections_modal("u-1", frozenset()),
        reject_modal(
            Approval(
                1,
                "acc-1",
                "Globex",
                "send_checkin_email",
                "high",
                "why",
                None,
                None,
                "pending_approval",
                datetime(2026, 11, 16, tzinfo=UTC),
            )
        ),
        reassign_modal(EscalationRef(escalation=1), "Globex", [("u-1", "Ana")], None),
        opportunity_modal(OpportunityDraft(account="acc-1", title="More seats"), "Globex"),
    ]
    found = set()
    for view in views:
        for block in view.to_dict()["blocks"]:
            if block["type"] == "input":
                found.add(block["element"]["action_id"])
    return found


def matching(app: App, body: dict[str, Any]) -> list[str]:
    """The names of the app's listeners that match a request with ``body``."""
    request = BoltRequest(body=body, mode="socket_mode")
    response = BoltResponse(status=200)
    return [
        listener.ack_function.__name__
        for listener in app._listeners
        if listener.matches(req=request, resp=response)
    ]


def block_action(action_id: str) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "team": {"id": TEAM_ID},
        "user": {"id": "U1", "team_id": TEAM_ID},
        "actions": [{"action_id": action_id, "block_id": "b", "type": "button"}],
    }


def view_submission(callback_id: str) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID},
        "user": {"id": "U1"},
        "view": {"callback_id": callback_id, "type": "modal", "state": {"values": {}}},
    }


def command(name: str) -> dict[str, Any]:
    return {"command": name, "text": "", "team_id": TEAM_ID, "user_id": "U1"}


def event(kind: str) -> dict[str, Any]:
    return {"type": "event_callback", "team_id": TEAM_ID, "event": {"type": kind, "user": "U1"}}


def test_the_modal_inputs_are_action_ids() -> None:
    inputs = modal_inputs()
    assert inputs <= {a.value for a in ActionId}
    assert ActionId.SNOOZE_DATE in inputs and ActionId.ORG_SETTINGS_MAX_PER_LANE in inputs


def test_every_action_has_exactly_one_listener(app: App) -> None:
    inputs = modal_inputs()
    problems = {}
    for action_id in ActionId:
        found = matching(app, block_action(action_id))
        wanted = 0 if action_id in inputs else 1
        if len(found) != wanted:
            problems[action_id.value] = found
    assert problems == {}, f"action_id → listeners (want one each, none for inputs): {problems}"


def test_every_modal_has_exactly_one_submission_listener(app: App) -> None:
    problems = {}
    for callback_id in CallbackId:
        found = matching(app, view_submission(callback_id))
        if len(found) != (0 if callback_id in NOT_SUBMITTED else 1):
            problems[callback_id.value] = found
    assert problems == {}


def test_every_command_and_event_has_exactly_one_listener(app: App) -> None:
    for name in Command:
        assert len(matching(app, command(name))) == 1, name
    for kind in Event:
        assert len(matching(app, event(kind))) == 1, kind


def test_a_duplicate_or_a_missing_listener_is_caught(app: App) -> None:
    @app.action(ActionId.CARD_DONE)
    def card_done_again(ack: Any) -> None:
        ack()

    assert matching(app, block_action(ActionId.CARD_DONE)) == ["card_done", "card_done_again"]
    assert matching(app, block_action("no_such_action")) == []
    with pytest.raises(AssertionError, match="card_done"):
        test_every_action_has_exactly_one_listener(app)
