"""The daily DM is that day's list (followup-rules.md "Surfaces"), over real HTTP into the served
app with the fake Slack Web API: a click changes the card clicked and nothing else — the date,
the other cards and their order stay, whenever the click comes; the App Home renders from the
stored queue ("as of" its sweep) and its Refresh sweeps the reader's accounts again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, update

from bot.db.locks import try_lock
from bot.db.models import Delivery, DeliveryCard, OutboxMessage, Task
from bot.ids import ActionId
from bot.service import refresh_queue
from tests.bot_harness import (
    Bot,
    add_fake_users,
    card_accounts,
    handled_accounts,
    portfolio,
    running_bot,
)
from tests.portfolio import NOW
from tests.slack_fakes import FakeSlack

D = timedelta(days=1)
LATER = NOW + 19 * D  # Sat, Dec 5: the day the user clicked


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        add_fake_users(server)
        yield server


@pytest.fixture
def bot(db_url: str, tmp_path: Path, fake: FakeSlack) -> Iterator[Bot]:
    p = portfolio()
    p.quiet_account("acc-4", name="Hooli")  # nothing to do there on Nov 16
    p.add("tasks", id="t-hooli", account="acc-4", title="Call back", due_at="2026-11-20T15:00:00Z")
    with running_bot(db_url, tmp_path, fake, p, now=LATER) as served:
        yield served


def header(message: dict[str, Any]) -> str:
    return str(message["blocks"][0]["text"]["text"])


def test_a_click_weeks_later_changes_that_card_only(bot: Bot, fake: FakeSlack) -> None:
    dm = bot.deliver(as_of=NOW)
    assert header(dm) == ":sunrise: Your follow-ups for Mon, Nov 16"
    assert card_accounts(dm["blocks"]) == ["acc-1", "acc-2"]

    bot.click(dm, ActionId.CARD_DONE, "acc-2")

    [update_] = bot.wait("chat.update")
    blocks = update_.params["blocks"]
    assert header(update_.params) == ":sunrise: Your follow-ups for Mon, Nov 16"
    assert card_accounts(blocks) == ["acc-1"]  # not today's queue (Hooli), not re-scored
    assert handled_accounts(blocks) == ["acc-2"]
    assert "Initech~  Done by Ana CSM" in json.dumps(blocks)
    # The cards that were not clicked are exactly as they were sent.
    before = {b["block_id"]: b for b in dm["blocks"] if "acc-1" in str(b.get("block_id"))}
    after = {b["block_id"]: b for b in blocks if "acc-1" in str(b.get("block_id"))}
    assert before == after
    assert "*1* owe them something" in json.dumps(blocks[1])  # the lane counts follow


def test_undo_on_the_collapsed_line_brings_the_card_back_in_its_place(
    bot: Bot, fake: FakeSlack
) -> None:
    dm = bot.deliver(as_of=NOW)
    bot.click(dm, ActionId.CARD_DONE, "acc-1")
    [collapsed] = bot.wait("chat.update")

    bot.click({**dm, "blocks": collapsed.params["blocks"]}, ActionId.UNDO, "acc-1")

    second = bot.wait("chat.update", 2)[1]
    assert card_accounts(second.params["blocks"]) == ["acc-1", "acc-2"]
    assert second.params["blocks"] == dm["blocks"]
    assert bot.states("acc-1") == ["open"]


def test_a_click_on_yesterdays_dm_changes_that_dm_only(bot: Bot, fake: FakeSlack) -> None:
    yesterday = bot.deliver(as_of=NOW)
    today = bot.deliver(as_of=NOW + D)
    assert yesterday["ts"] != today["ts"]
    assert header(today) == ":sunrise: Your follow-ups for Tue, Nov 17"

    bot.click(yesterday, ActionId.CARD_DONE, "acc-1")

    [update_] = bot.wait("chat.update")
    assert (update_.params["channel"], update_.params["ts"]) == (
        yesterday["channel"],
        yesterday["ts"],
    )
    assert header(update_.params) == ":sunrise: Your follow-ups for Mon, Nov 16"
    bot.wait("response_url")  # the receipt: the click's work is done
    bot.settle()
    assert len(fake.calls_to("chat.update")) == 1  # today's DM is left as it was


def test_a_click_on_a_dm_whose_delivery_is_gone_changes_the_card_and_no_message(
    bot: Bot, fake: FakeSlack
) -> None:
    dm = bot.deliver(as_of=NOW)
    with bot.engine.begin() as conn:
        conn.execute(delete(DeliveryCard))
        conn.execute(delete(OutboxMessage).where(OutboxMessage.delivery_id.is_not(None)))
        conn.execute(delete(Delivery))

    bot.click(dm, ActionId.CARD_DONE, "acc-1")

    receipt = bot.wait("response_url")[0].params
    assert "marked done" in receipt["text"]
    assert bot.states("acc-1") == ["done"]
    assert fake.calls_to("chat.update") == []  # nothing to render it from: left as it is


def test_the_home_is_the_stored_queue_as_of_its_sweep(bot: Bot, fake: FakeSlack) -> None:
    home = bot.open_home()
    status = json.dumps(home["blocks"][1])
    assert "As of Sat, Dec 5 at 15:00" in status or "As of today at 15:00" in status
    assert card_accounts(home["blocks"]) == ["acc-1", "acc-2", "acc-4"]
    assert "Call back" in json.dumps(home["blocks"])  # Hooli's overdue task
    with bot.engine.begin() as conn:  # Hooli's task is done in the CRM: the queue is stale
        conn.execute(update(Task).where(Task.id == "t-hooli").values(status="done"))
    assert "Call back" in json.dumps(bot.open_home()["blocks"])

    bot.click_home(ActionId.HOME_REFRESH)

    during, after = (c.params["view"] for c in bot.wait("views.publish", 4)[2:])
    assert "refreshing" in json.dumps(during["blocks"][1])
    assert "Call back" not in json.dumps(after["blocks"])
    assert "refreshing" not in json.dumps(after["blocks"][1])


def test_a_refresh_while_one_runs_is_told_so(bot: Bot, fake: FakeSlack) -> None:
    bot.open_home()
    with refresh_queue.refreshing(bot.engine, "u-ana"):
        bot.click_home(ActionId.HOME_REFRESH)
        answer = bot.wait("chat.postEphemeral")[0].params
    assert "being refreshed already" in answer["text"]


def test_a_refresh_running_in_another_process_counts_too(bot: Bot, fake: FakeSlack) -> None:
    bot.open_home()
    with try_lock(bot.engine, "refresh-u-ana") as taken:  # what another replica's Refresh holds
        assert taken
        bot.click_home(ActionId.HOME_REFRESH)
        answer = bot.wait("chat.postEphemeral")[0].params
    assert "being refreshed already" in answer["text"]
