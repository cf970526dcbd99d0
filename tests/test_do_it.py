"""Recommended actions on cards (automation level ``recommend``): each card offers the actions
recommended for its account in a "Do it…" menu; the one a CSM chooses follows the segment
matrix — done now in their name, or sent for a manager's approval — over signed HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.db.models import ActionRun, Org
from bot.engine.queue import stored_card
from bot.ids import ActionId
from bot.service.actions import take_action
from tests.bot_harness import Bot, add_fake_users, find_element, portfolio, running_bot
from tests.portfolio import NOW, Portfolio
from tests.slack_fakes import FakeSlack

TROUBLED = {"usage_trend": -0.35, "adoption": 0.3, "open_issues": 6, "csat": 2.8}


def troubled(level: str = "recommend") -> Portfolio:
    p = portfolio()
    p.data["org"]["automation_level"] = level
    for account in p.data["accounts"]:
        if account["id"] == "acc-1":
            account.update(segment="smb", **TROUBLED)
    return p


@pytest.fixture
def bot(db_url: str, tmp_path: Path) -> Iterator[Bot]:
    with FakeSlack() as fake:
        add_fake_users(fake)
        with running_bot(db_url, tmp_path, fake, troubled()) as served:
            yield served


def do_it_options(view: dict[str, Any], account: str) -> dict[str, str]:
    """Action id → option text of the card's "Do it…" menu."""
    _, select_ = find_element(view["blocks"], ActionId.CARD_DO_ACTION, account)
    return {json.loads(o["value"])["action"]: o["text"]["text"] for o in select_["options"]}


def test_a_card_offers_its_recommended_actions_and_one_chosen_is_done(bot: Bot) -> None:
    home = bot.open_home()
    offered = do_it_options(home, "acc-1")
    assert offered and len(offered) <= 3
    assert "create_support_task" in offered  # six open issues: support burden

    bot.click_home(
        ActionId.CARD_DO_ACTION,
        "acc-1",
        option=lambda o: json.loads(o["value"])["action"] == "create_support_task",
    )
    told = bot.wait("chat.postEphemeral")[0].params["text"]
    assert "done" in told and "Globex" in told
    with bot.engine.connect() as conn:
        run = conn.execute(
            select(ActionRun.status, ActionRun.decided_by).where(
                ActionRun.account_id == "acc-1", ActionRun.action == "create_support_task"
            )
        ).one()
    assert tuple(run) == ("executed", "u-ana")  # in Ana's name, not automatic
    [entry] = [
        e for e in bot.audit("action.executed") if e.details["action"] == "create_support_task"
    ]
    assert entry.actor == "u-ana" and entry.details["automatic"] is False

    bot.click_home(
        ActionId.CARD_DO_ACTION,
        "acc-1",
        option=lambda o: json.loads(o["value"])["action"] == "create_support_task",
    )
    assert "taken already" in bot.wait("chat.postEphemeral", 2)[1].params["text"]


def test_an_action_the_matrix_gates_goes_for_approval(bot: Bot) -> None:
    with bot.engine.connect() as conn:
        card = stored_card(conn, "acc-1")
    assert card is not None
    outcome = take_action(
        bot.engine, "acc-1", "send_checkin_email", card.reasons, actor="u-ana", now=NOW
    )
    assert outcome is not None and outcome.status == "pending_approval"


def test_at_other_levels_the_bot_acts_and_cards_offer_nothing(bot: Bot) -> None:
    with bot.engine.begin() as conn:
        conn.execute(update(Org).values(automation_level="assisted"))
    home = bot.open_home()
    assert "card_do_action" not in json.dumps(home)
