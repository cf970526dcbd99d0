"""Every listener declares who may use it, and everyone else is refused before it runs.

Walks every action id, modal callback id, slash command and event the app listens to (through
Bolt's own matchers): each has exactly one declared permission, the one this file expects; and
for each, a signed request over HTTP from a caller without the right — a Slack user who is not
one of ours, another CSM on Ana's card, a CSM where an admin is needed — is answered with a
refusal the caller sees, and changes nothing in the database or in Slack.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_bolt import App, BoltRequest, BoltResponse
from sqlalchemy import Engine, func, insert, select

from bot.db.models import (
    Account,
    ActionRun,
    Alert,
    AuditLog,
    Escalation,
    Exclusion,
    Org,
    QueueCard,
    Task,
    User,
)
from bot.handlers.access import Allow, Permission
from bot.ids import ActionId, CallbackId, Command, Event
from tests.bot_harness import Bot, add_fake_users, running_bot
from tests.slack_fakes import TEAM_ID, FakeSlack
from tests.test_listeners import NOT_SUBMITTED, block_action, command, event, modal_inputs
from tests.test_listeners import view_submission as submission

CARD, MEMBER, ADMIN, ANYONE, APPROVER, MANAGER = (
    Permission.CARD,
    Permission.MEMBER,
    Permission.ADMIN,
    Permission.ANYONE,
    Permission.APPROVER,
    Permission.MANAGER,
)
EXPECTED: dict[str, Permission] = {
    ActionId.CARD_DONE: CARD,
    ActionId.CARD_SNOOZE: CARD,
    ActionId.CARD_DISMISS: CARD,
    ActionId.UNDO: CARD,
    ActionId.CHECKIN_MARK_SENT: CARD,
    ActionId.SUMMARY_CREATE_OPPORTUNITY: CARD,
    ActionId.CARD_DO_ACTION: CARD,
    CallbackId.OPPORTUNITY_MODAL: CARD,
    CallbackId.SNOOZE_PICK_DATE: CARD,
    CallbackId.DISMISS_MODAL: CARD,
    ActionId.CARD_SUMMARY: MEMBER,
    ActionId.HOME_FILTER_LANE: MEMBER,
    ActionId.HOME_FILTER_SEVERITY: MEMBER,
    ActionId.HOME_FILTER_SIGNAL: MEMBER,
    ActionId.HOME_REFRESH: MEMBER,
    ActionId.HOME_OPEN_SETTINGS: MEMBER,
    CallbackId.SETTINGS_MODAL: MEMBER,
    ActionId.SUMMARY_SAVE: MEMBER,
    ActionId.SUMMARY_SHARE: MEMBER,
    ActionId.SUMMARY_PICK_ACCOUNT: MEMBER,
    Command.ACCOUNT_SUMMARY: MEMBER,
    Command.FOLLOWUP: MEMBER,
    ActionId.SUMMARY_PERIOD: MEMBER,
    ActionId.SUMMARY_OPEN_SAVED: MEMBER,
    ActionId.APPROVAL_APPROVE: APPROVER,
    ActionId.APPROVAL_REJECT: APPROVER,
    CallbackId.APPROVAL_REJECT_MODAL: APPROVER,
    ActionId.SUMMARY_PREP: MEMBER,
    ActionId.HOME_OPEN_ORG_SETTINGS: ADMIN,
    CallbackId.ORG_SETTINGS_MODAL: ADMIN,
    ActionId.HOME_OPEN_SUMMARY_SECTIONS: ADMIN,
    CallbackId.SUMMARY_SECTIONS_MODAL: ADMIN,
    Event.APP_HOME_OPENED: ANYONE,
    ActionId.ESCALATION_ACK: MANAGER,
    ActionId.ESCALATION_REASSIGN: MANAGER,
    ActionId.ESCALATION_NUDGE: MANAGER,
    CallbackId.ESCALATION_REASSIGN_MODAL: MANAGER,
}


def requests() -> Iterator[tuple[str, dict[str, Any]]]:
    """(id, a body Bolt would match) for every id Slack can send the app."""
    inputs = modal_inputs()
    for action_id in ActionId:
        if action_id not in inputs:
            yield action_id.value, block_action(action_id)
    for callback_id in CallbackId:
        if callback_id not in NOT_SUBMITTED:
            yield callback_id.value, submission(callback_id)
    for name in Command:
        yield name.value, command(name)
    for kind in Event:
        yield kind.value, event(kind)


def rule_of(app: App, body: dict[str, Any]) -> list[Allow]:
    request = BoltRequest(body=body, mode="socket_mode")
    response = BoltResponse(status=200)
    rules = []
    for listener in app._listeners:
        if listener.matches(req=request, resp=response):
            for middleware in listener.middleware:
                rule = getattr(getattr(middleware, "func", None), "allow", None)
                if isinstance(rule, Allow):
                    rules.append(rule)
    return rules


# ------------------------------------------------------------------ declarations


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        add_fake_users(server)
        yield server


@pytest.fixture
def bot(sqlite_url: str, tmp_path: Path, fake: FakeSlack) -> Iterator[Bot]:
    with running_bot(sqlite_url, tmp_path, fake) as served:
        yield served


def app_of(bot: Bot) -> App:
    from bot.app import build_app

    return build_app(bot.settings, bot.engine, token_verification=False)


def test_every_listener_declares_the_expected_permission(bot: Bot) -> None:
    app = app_of(bot)
    found = {key: [r.permission for r in rule_of(app, body)] for key, body in requests()}
    assert found == {key: [permission] for key, permission in EXPECTED.items()}
    undeclared = [
        listener.ack_function.__name__
        for listener in app._listeners
        if not any(hasattr(getattr(m, "func", None), "allow") for m in listener.middleware)
    ]
    assert undeclared == []


# ------------------------------------------------------------------ refusals


def snapshot(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {
            "alerts": conn.execute(select(Alert.id, Alert.state).order_by(Alert.id)).all(),
            "audit": conn.execute(select(func.count()).select_from(AuditLog)).scalar(),
            "org": conn.execute(select(Org.digest, Org.automation_level)).all(),
            "users": conn.execute(select(User.id, User.digest).order_by(User.id)).all(),
            "tasks": conn.execute(select(Task.id, Task.status).order_by(Task.id)).all(),
            "exclusions": conn.execute(select(func.count()).select_from(Exclusion)).scalar(),
            "queue": conn.execute(select(func.count()).select_from(QueueCard)).scalar(),
            "accounts": conn.execute(select(Account.id, Account.csm_id).order_by(Account.id)).all(),
            "escalations": conn.execute(
                select(Escalation.id, Escalation.acknowledged_at, Escalation.reassigned_to)
            ).all(),
        }


CARD_VALUE = json.dumps({"v": 1, "account": "acc-1", "alerts": [1]})
SNOOZE_VALUE = json.dumps({"v": 1, "snooze": "tomorrow", "account": "acc-1", "alerts": [1]})
UNDO_VALUE = json.dumps({"v": 1, "op": "done", "account": "acc-1", "alerts": [1]})
DO_IT = json.dumps({"v": 1, "account": "acc-1", "action": "create_support_task"})
DRAFT = json.dumps({"v": 1, "account": "acc-1", "title": "More seats"})
CARD_META = json.dumps({"v": 1, "card": json.loads(CARD_VALUE)})
Build = Callable[[Bot, str], dict[str, Any]]


def escalation_of_globex(bot: Bot) -> str:
    """An escalation of Ana's Globex (as a round would have stored it); its button value."""
    with bot.engine.begin() as conn:
        alert_id = conn.execute(
            select(Alert.id).where(Alert.account_id == "acc-1").order_by(Alert.id).limit(1)
        ).scalar()
        found = conn.execute(select(Escalation.id).where(Escalation.alert_id == alert_id)).scalar()
        if found is None:
            found = conn.execute(
                insert(Escalation)
                .values(
                    alert_id=alert_id,
                    account_id="acc-1",
                    csm_id="u-ana",
                    reason="sla",
                    recipients=["u-mgr"],
                    messages=[],
                    card={},
                    created_at=bot.now,
                )
                .returning(Escalation.id)
            ).scalar()
    return json.dumps({"v": 1, "escalation": found})


def on_escalation(action_id: str) -> Build:
    def build(bot: Bot, user: str) -> dict[str, Any]:
        return clicked(action_id, escalation_of_globex(bot))(bot, user)

    return build


def escalation_modal(bot: Bot, user: str) -> dict[str, Any]:
    body = submitted(CallbackId.ESCALATION_REASSIGN_MODAL, escalation_of_globex(bot))(bot, user)
    body["view"]["state"]["values"] = {
        "escalation_reassign_to": {
            "escalation_reassign_to": {
                "type": "static_select",
                "selected_option": {"value": "u-bob"},
            }
        }
    }
    return body


def clicked(action_id: str, value: str, *, select: bool = False) -> Build:
    def build(bot: Bot, user: str) -> dict[str, Any]:
        action: dict[str, Any] = {"action_id": action_id, "block_id": "card_actions:acc-1"}
        if select:
            action |= {"type": "static_select", "selected_option": {"value": value}}
        else:
            action |= {"type": "button", "value": value}
        return {
            "type": "block_actions",
            "user": {"id": user, "team_id": TEAM_ID},
            "trigger_id": "trigger-x",
            "container": {"type": "message", "message_ts": "1.1", "channel_id": "D0X"},
            "channel": {"id": "D0X"},
            "response_url": bot.response_url(),
            "actions": [action],
        }

    return build


def submitted(callback_id: str, meta: str) -> Build:
    def build(bot: Bot, user: str) -> dict[str, Any]:
        return {
            "type": "view_submission",
            "user": {"id": user, "team_id": TEAM_ID},
            "view": {
                "id": "V0X",
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": meta,
                "state": {"values": {}},
            },
        }

    return build


HOME = json.dumps({"v": 1})
SUMMARY = json.dumps({"v": 1, "account": "acc-1"})
PERIOD = json.dumps({"v": 1, "account": "acc-1", "period": "90"})
SAVED = json.dumps({"v": 1, "account": "acc-1", "saved": 1})
SETTINGS_META = json.dumps({"v": 1, "scope": "org", "user": "u-ada"})
RUN = json.dumps({"v": 1, "run": 1})
# The request of each refused id, and who sends it without the right.
REFUSED: dict[str, tuple[Build, str]] = {
    ActionId.CARD_DONE: (clicked(ActionId.CARD_DONE, CARD_VALUE), "U0BOB"),
    ActionId.CARD_SNOOZE: (clicked(ActionId.CARD_SNOOZE, SNOOZE_VALUE, select=True), "U0BOB"),
    ActionId.CARD_DISMISS: (clicked(ActionId.CARD_DISMISS, CARD_VALUE), "U0BOB"),
    ActionId.UNDO: (clicked(ActionId.UNDO, UNDO_VALUE), "U0BOB"),
    ActionId.CHECKIN_MARK_SENT: (clicked(ActionId.CHECKIN_MARK_SENT, "1"), "U0BOB"),
    ActionId.SUMMARY_CREATE_OPPORTUNITY: (
        clicked(ActionId.SUMMARY_CREATE_OPPORTUNITY, DRAFT),
        "U0BOB",
    ),
    CallbackId.OPPORTUNITY_MODAL: (submitted(CallbackId.OPPORTUNITY_MODAL, DRAFT), "U0BOB"),
    ActionId.CARD_DO_ACTION: (clicked(ActionId.CARD_DO_ACTION, DO_IT, select=True), "U0BOB"),
    CallbackId.SNOOZE_PICK_DATE: (submitted(CallbackId.SNOOZE_PICK_DATE, CARD_META), "U0BOB"),
    CallbackId.DISMISS_MODAL: (submitted(CallbackId.DISMISS_MODAL, CARD_META), "U0BOB"),
    ActionId.CARD_SUMMARY: (clicked(ActionId.CARD_SUMMARY, SUMMARY), "U0STRANGER"),
    ActionId.HOME_FILTER_LANE: (
        clicked(ActionId.HOME_FILTER_LANE, HOME, select=True),
        "U0STRANGER",
    ),
    ActionId.HOME_FILTER_SEVERITY: (
        clicked(ActionId.HOME_FILTER_SEVERITY, HOME, select=True),
        "U0STRANGER",
    ),
    ActionId.HOME_FILTER_SIGNAL: (
        clicked(ActionId.HOME_FILTER_SIGNAL, HOME, select=True),
        "U0STRANGER",
    ),
    ActionId.HOME_REFRESH: (clicked(ActionId.HOME_REFRESH, HOME), "U0STRANGER"),
    ActionId.HOME_OPEN_SETTINGS: (clicked(ActionId.HOME_OPEN_SETTINGS, ""), "U0STRANGER"),
    CallbackId.SETTINGS_MODAL: (submitted(CallbackId.SETTINGS_MODAL, SETTINGS_META), "U0STRANGER"),
    ActionId.SUMMARY_SAVE: (clicked(ActionId.SUMMARY_SAVE, SUMMARY), "U0STRANGER"),
    ActionId.SUMMARY_SHARE: (clicked(ActionId.SUMMARY_SHARE, SUMMARY), "U0STRANGER"),
    ActionId.SUMMARY_PICK_ACCOUNT: (
        clicked(ActionId.SUMMARY_PICK_ACCOUNT, SUMMARY, select=True),
        "U0STRANGER",
    ),
    ActionId.SUMMARY_PERIOD: (
        clicked(ActionId.SUMMARY_PERIOD, PERIOD, select=True),
        "U0STRANGER",
    ),
    ActionId.SUMMARY_OPEN_SAVED: (clicked(ActionId.SUMMARY_OPEN_SAVED, SAVED), "U0STRANGER"),
    # Every role on a real approval: tests/test_approvals.py.
    ActionId.APPROVAL_APPROVE: (clicked(ActionId.APPROVAL_APPROVE, RUN), "U0STRANGER"),
    ActionId.APPROVAL_REJECT: (clicked(ActionId.APPROVAL_REJECT, RUN), "U0STRANGER"),
    CallbackId.APPROVAL_REJECT_MODAL: (
        submitted(CallbackId.APPROVAL_REJECT_MODAL, RUN),
        "U0STRANGER",
    ),
    ActionId.SUMMARY_PREP: (clicked(ActionId.SUMMARY_PREP, SUMMARY), "U0STRANGER"),
    ActionId.HOME_OPEN_ORG_SETTINGS: (clicked(ActionId.HOME_OPEN_ORG_SETTINGS, ""), "U0ANA"),
    ActionId.HOME_OPEN_SUMMARY_SECTIONS: (
        clicked(ActionId.HOME_OPEN_SUMMARY_SECTIONS, ""),
        "U0ANA",
    ),
    CallbackId.SUMMARY_SECTIONS_MODAL: (
        submitted(CallbackId.SUMMARY_SECTIONS_MODAL, SETTINGS_META),
        "U0ANA",
    ),
    CallbackId.ORG_SETTINGS_MODAL: (
        submitted(CallbackId.ORG_SETTINGS_MODAL, SETTINGS_META),
        "U0ANA",
    ),
    # Ana is the CSM of the escalated account: only her manager or an admin may act on it.
    ActionId.ESCALATION_ACK: (on_escalation(ActionId.ESCALATION_ACK), "U0ANA:manager"),
    ActionId.ESCALATION_REASSIGN: (on_escalation(ActionId.ESCALATION_REASSIGN), "U0ANA:manager"),
    ActionId.ESCALATION_NUDGE: (on_escalation(ActionId.ESCALATION_NUDGE), "U0ANA:manager"),
    CallbackId.ESCALATION_REASSIGN_MODAL: (escalation_modal, "U0ANA:manager"),
}
REFUSED_COMMANDS = {Command.ACCOUNT_SUMMARY: "globex", Command.FOLLOWUP: "today"}
WHY = {
    "U0BOB": "Ana CSM's card",
    "U0STRANGER": "not set up",
    "U0ANA": "Only an admin",
    "U0ANA:manager": "Only their manager or an admin",
}
WRITES = ("chat.update", "chat.postMessage", "views.publish", "views.open", "views.update")


def test_every_permission_but_anyone_is_tested_here() -> None:
    refused = set(REFUSED) | set(REFUSED_COMMANDS)
    assert refused == {key for key, p in EXPECTED.items() if p is not Permission.ANYONE}


@pytest.mark.parametrize("key", sorted(REFUSED))
def test_a_caller_without_the_right_is_refused_and_nothing_changes(bot: Bot, key: str) -> None:
    build, why = REFUSED[key]
    user = why.split(":")[0]
    bot.deliver()
    with bot.engine.begin() as conn:  # a check-in draft of Ana's account (run 1)
        conn.execute(
            insert(ActionRun).values(
                id=1,
                key="acc-1:send_checkin_email:x",
                account_id="acc-1",
                action="send_checkin_email",
                evidence="x",
                status="executed",
                priority="normal",
                created_at=bot.now,
                result={},
            )
        )
    body = build(bot, user)
    before = snapshot(bot.engine)
    seen = {m: len(bot.fake.calls_to(m)) for m in WRITES}

    answer = bot.slack.interactive(body)

    assert answer.status == 200
    if key in set(CallbackId):
        told = json.loads(answer.body)
        assert told["response_action"] == "update"  # the modal turns into the refusal
        text = json.dumps(told["view"])
    else:
        text = str(bot.wait("response_url")[0].params["text"])
    assert WHY[why] in text
    bot.settle()
    assert snapshot(bot.engine) == before
    assert {m: len(bot.fake.calls_to(m)) for m in WRITES} == seen


@pytest.mark.parametrize("name", sorted(REFUSED_COMMANDS))
def test_a_slack_user_who_is_not_ours_cannot_use_the_commands(bot: Bot, name: str) -> None:
    before = snapshot(bot.engine)
    answer = bot.command(name, REFUSED_COMMANDS[name], user="U0STRANGER")
    assert answer.status == 200 and answer.body == ""
    assert "not set up" in bot.wait("response_url")[0].params["text"]
    bot.settle()
    assert snapshot(bot.engine) == before
    assert bot.fake.calls_to("views.open") == []


def test_a_slack_user_who_is_not_ours_cannot_get_a_meeting_prep(bot: Bot) -> None:
    answer = bot.command(Command.FOLLOWUP, "prep globex", user="U0STRANGER")
    assert answer.status == 200 and answer.body == ""
    told = bot.wait("response_url")[0].params
    assert "not set up" in told["text"] and "Meeting prep" not in json.dumps(told)
