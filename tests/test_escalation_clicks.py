"""An escalation's buttons through signed requests into the served app: Acknowledge (who and
when shown on the message, the reminder stopped), Reassign (the picker of the team's CSMs, the
account moves, both CSMs told), Nudge CSM (one DM per click, even when Slack retries it) — and
the CSM, another CSM or a stranger refused with nothing changed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.db.models import Account, Escalation
from bot.ids import ActionId, BlockId
from bot.service.escalations import EscalationReport, remind_due
from bot.service.rounds import run_round
from bot.slack.client import make_client
from tests.bot_harness import (
    FAST,
    Bot,
    _action,
    add_fake_users,
    find_element,
    portfolio,
    running_bot,
)
from tests.portfolio import NOW, iso
from tests.slack_fakes import TEAM_ID, FakeSlack

DAY = timedelta(days=1)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        add_fake_users(server)
        yield server


@pytest.fixture
def bot(db_url: str, tmp_path: Path, fake: FakeSlack) -> Iterator[Bot]:
    """Globex (Ana's) dropped from healthy to needs attention: escalated to Mia at once."""
    p = portfolio()
    p.add("health_scores", account="acc-1", at=iso(NOW - timedelta(days=10)), score=85)
    p.add("health_scores", account="acc-1", at=iso(NOW - timedelta(days=1)), score=65)
    with running_bot(db_url, tmp_path, fake, p) as served:
        now = served.now
        report = run_round(
            served.engine, make_client(served.settings), now, pacing=FAST, clock=lambda: now
        )
        assert report.failed == {} and len(report.escalations.escalated) == 1, report.lines()
        yield served


def escalation(bot: Bot, slack_user: str = "U0MGR") -> dict[str, Any]:
    """The escalation message as Slack shows it now in ``slack_user``'s DM."""
    found = [
        m
        for m in bot.fake.dms(slack_user)
        if str((m.get("metadata") or {}).get("event_payload", {}).get("key", "")).startswith(
            "escalation:"
        )
    ]
    assert len(found) == 1, found
    return found[0]


def escalation_row(bot: Bot) -> Any:
    with bot.engine.connect() as conn:
        return conn.execute(select(Escalation.__table__)).one()


def told(bot: Bot, count: int = 1) -> str:
    return str(bot.wait("response_url", count)[count - 1].params["text"])


def buttons(message: dict[str, Any]) -> list[str]:
    return [
        e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]


def test_acknowledge_shows_who_and_stops_the_reminder(bot: Bot) -> None:
    message = escalation(bot)
    assert buttons(message)[:3] == [
        ActionId.ESCALATION_ACK,
        ActionId.ESCALATION_REASSIGN,
        ActionId.ESCALATION_NUDGE,
    ]
    bot.click(message, ActionId.ESCALATION_ACK, user="U0MGR")
    assert "no reminder will follow" in told(bot)
    bot.wait("chat.update")
    now = escalation(bot)
    assert "Acknowledged by *Mia Manager*" in json.dumps(now["blocks"])
    assert ActionId.ESCALATION_ACK not in buttons(now)
    row = escalation_row(bot)
    assert row.acknowledged_by == "u-mgr" and row.acknowledged_at == bot.now
    assert [a.actor for a in bot.audit("escalation.acknowledged")] == ["u-mgr"]

    report = EscalationReport()
    remind_due(bot.engine, bot.now + 7 * DAY, report)
    assert report.reminded == []

    bot.click(message, ActionId.ESCALATION_ACK, user="U0ADA")  # an admin, after Mia
    assert "Mia Manager already acknowledged" in told(bot, 2)


@pytest.mark.parametrize("user", ["U0ANA", "U0BOB"])
def test_the_csm_and_another_csm_may_not_act_on_it(bot: Bot, user: str) -> None:
    message = escalation(bot)
    for action_id in (ActionId.ESCALATION_ACK, ActionId.ESCALATION_NUDGE):
        before = len(bot.fake.calls_to("response_url"))
        bot.click(message, action_id, user=user)
        text = told(bot, before + 1)
        assert "Only their manager or an admin" in text and "Ana CSM's card" in text
    bot.click(message, ActionId.ESCALATION_REASSIGN, user=user)
    bot.settle()
    assert bot.fake.calls_to("views.open") == []
    row = escalation_row(bot)
    assert row.acknowledged_at is None
    assert bot.fake.calls_to("chat.update") == []
    assert bot.audit("escalation.nudged") == []


def test_an_admin_may_acknowledge(bot: Bot) -> None:
    bot.click(escalation(bot), ActionId.ESCALATION_ACK, user="U0ADA")
    assert "no reminder will follow" in told(bot)
    assert escalation_row(bot).acknowledged_by == "u-ada"


def test_nudge_dms_the_csm_once_per_click(bot: Bot) -> None:
    message = escalation(bot)
    block, element = find_element(message["blocks"], ActionId.ESCALATION_NUDGE)
    payload = {
        "type": "block_actions",
        "user": {"id": "U0MGR", "team_id": TEAM_ID},
        "trigger_id": "trigger-nudge",
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": "D0MGR"},
        "channel": {"id": "D0MGR"},
        "message": {"ts": message["ts"], "blocks": message["blocks"]},
        "actions": [_action(block, element, None)],
        "response_url": bot.response_url(),
    }
    bot.slack.interactive(payload)
    assert "Nudged Ana CSM" in told(bot)
    bot.slack.interactive(payload)  # Slack retries the same click
    told(bot, 2)

    def nudges() -> list[dict[str, Any]]:
        return [m for m in bot.fake.dms("U0ANA") if "asks you to look at" in str(m["text"])]

    [dm] = nudges()
    assert "Mia Manager" in dm["text"] and "Globex" in dm["text"]
    bot.click(message, ActionId.ESCALATION_NUDGE, user="U0MGR")  # a new click: a new nudge
    told(bot, 3)
    assert len(nudges()) == 2
    assert len(bot.audit("escalation.nudged")) == 2


def test_reassign_moves_the_account_and_tells_both_csms(bot: Bot) -> None:
    bot.click(escalation(bot), ActionId.ESCALATION_REASSIGN, user="U0MGR")
    view = bot.wait("views.open")[0].params["view"]
    options = json.dumps(view["blocks"])
    assert "Bob CSM" in options and "Ana CSM" in options and "Mia Manager" not in options

    refused = bot.submit(view, pick("u-bob"), user="U0BOB")
    assert "Only their manager" in json.dumps(json.loads(refused.body))

    answer = bot.submit(view, pick("u-bob"), user="U0MGR")
    assert answer.status == 200
    bot.wait("chat.update")
    told_mia = bot.wait("chat.postEphemeral")[-1].params
    assert told_mia["user"] == "U0MGR" and "now belongs to Bob CSM" in told_mia["text"]
    with bot.engine.connect() as conn:
        assert conn.execute(select(Account.csm_id).where(Account.id == "acc-1")).scalar() == (
            "u-bob"
        )
    assert any("moved *Globex* to you" in str(m["blocks"]) for m in bot.fake.dms("U0BOB"))
    assert any("moved *Globex* to *Bob CSM*" in str(m["blocks"]) for m in bot.fake.dms("U0ANA"))
    assert "Reassigned to *Bob CSM* by Mia Manager" in json.dumps(escalation(bot)["blocks"])
    [(actor, subject, details)] = bot.audit("account.reassigned")
    assert (actor, subject) == ("u-mgr", "account:acc-1")
    assert details["from"] == "u-ana" and details["to"] == "u-bob"


def pick(user_id: str) -> dict[str, Any]:
    return {
        BlockId.ESCALATION_REASSIGN_TO: {
            ActionId.ESCALATION_REASSIGN_TO: {
                "type": "static_select",
                "selected_option": {"value": user_id},
            }
        }
    }
