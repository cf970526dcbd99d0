"""A card's buttons over real HTTP: signed block_actions / view_submission payloads into the
served app, the fake Slack Web API on the other side, state read back from the database.

Each change: the alerts in the database, the ``chat.update`` of the stored DM with blocks
rendered again from the database, the receipt with Undo, the App Home published again.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.db.models import Delivery, OutboxMessage
from bot.engine import triage
from bot.ids import ActionId, CallbackId
from tests.bot_harness import (
    Bot,
    add_fake_users,
    card_accounts,
    find_element,
    handled_accounts,
    option_value,
    portfolio,
    running_bot,
)
from tests.portfolio import NOW
from tests.slack_fakes import FakeSlack

NY = ZoneInfo("America/New_York")


def ny(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        add_fake_users(server)
        yield server


@pytest.fixture
def bot(db_url: str, tmp_path: Path, fake: FakeSlack) -> Iterator[Bot]:
    with running_bot(db_url, tmp_path, fake) as served:
        yield served


@pytest.fixture
def sqlite_bot(sqlite_url: str, tmp_path: Path, fake: FakeSlack) -> Iterator[Bot]:
    with running_bot(sqlite_url, tmp_path, fake) as served:
        yield served


def stored_dm(bot: Bot, user_id: str = "u-ana") -> tuple[str, str]:
    with bot.engine.connect() as conn:
        row = conn.execute(
            select(OutboxMessage.channel, OutboxMessage.ts)
            .join(Delivery, Delivery.id == OutboxMessage.delivery_id)
            .where(Delivery.user_id == user_id, OutboxMessage.position.is_not(None))
        ).one()
    return str(row.channel), str(row.ts)


def last_reply(bot: Bot, count: int = 1) -> dict[str, Any]:
    """The ``count``-th answer through a response_url (later ones may have come already)."""
    return bot.wait("response_url", count)[count - 1].params


def reply_text(params: dict[str, Any]) -> str:
    return str(params.get("text", "")) + json.dumps(params.get("blocks", []))


# ------------------------------------------------------------------------ Done


def test_done_changes_the_alerts_and_rerenders_the_stored_dm(bot: Bot, fake: FakeSlack) -> None:
    dm = bot.deliver()
    assert card_accounts(dm["blocks"]) == ["acc-1", "acc-2"]
    channel, ts = stored_dm(bot)
    assert (dm["channel"], dm["ts"]) == (channel, ts)

    bot.click(dm, ActionId.CARD_DONE, "acc-1")

    [update] = bot.wait("chat.update")
    assert (update.params["channel"], update.params["ts"]) == (channel, ts)
    [expected] = bot.expected_dm()
    assert update.params["blocks"] == expected["blocks"]  # rendered again from the database
    assert card_accounts(update.params["blocks"]) == ["acc-2"]
    # The acted-on card keeps its place as one line: who did what, with Undo.
    assert handled_accounts(update.params["blocks"]) == ["acc-1"]
    handled = reply_text({"blocks": update.params["blocks"][:6]})
    assert "Globex" in handled and "Done by Ana CSM at 15:00" in handled
    assert update.params["blocks"][0] == dm["blocks"][0]  # the same day's header
    assert fake.dms("U0ANA")[0]["blocks"] == expected["blocks"]

    [alert] = bot.alerts("acc-1")
    assert (alert.state, alert.state_changed_by) == ("done", "u-ana")
    assert bot.task_status("t-acc-1") == "done"  # Done on an overdue task completes it
    assert bot.states("acc-2") == ["open"]

    receipt = last_reply(bot)
    assert receipt["response_type"] == "ephemeral" and receipt["replace_original"] is False
    assert "Globex" in receipt["text"] and "marked done" in receipt["text"]
    undo = find_element(receipt["blocks"], ActionId.UNDO)[1]
    assert json.loads(undo["value"]) == {
        "v": 1,
        "op": "done",
        "account": "acc-1",
        "alerts": [alert.id],
    }
    assert fake.calls_to("views.publish") == []  # a Home is rendered when it is opened:
    assert card_accounts(bot.open_home()["blocks"]) == ["acc-2"]  # without the card done


def test_undo_reopens_exactly_what_the_click_changed(bot: Bot, fake: FakeSlack) -> None:
    dm = bot.deliver()
    original = dm["blocks"]
    bot.click(dm, ActionId.CARD_DONE, "acc-1")
    receipt = last_reply(bot)
    bot.wait("chat.update")

    bot.click(receipt, ActionId.UNDO, ephemeral=True)

    bot.wait("chat.update", 2)
    assert bot.states("acc-1") == ["open"]
    assert bot.task_status("t-acc-1") == "open"  # what Done recorded is taken back too
    assert fake.dms("U0ANA")[0]["blocks"] == original  # the DM is as it was
    confirmation = last_reply(bot, 2)
    assert confirmation["replace_original"] is True  # the receipt becomes the confirmation
    assert "back in your queue" in confirmation["text"]
    assert "undo" not in json.dumps(confirmation["blocks"])

    # A second Undo of the same receipt: nothing left to undo, nothing changes.
    bot.click(receipt, ActionId.UNDO, ephemeral=True)
    assert "changed since" in reply_text(last_reply(bot, 3))
    assert bot.states("acc-1") == ["open"]


# ---------------------------------------------------------------------- Snooze


@pytest.mark.parametrize(
    ("choice", "wakes"),
    [
        ("tomorrow", ny(2026, 11, 17, 9, 0)),  # NOW is Monday Nov 16, 15:00 in New York
        ("3_business_days", ny(2026, 11, 19, 9, 0)),
        ("next_monday", ny(2026, 11, 23, 9, 0)),
    ],
)
def test_snooze_choices_wake_at_the_csms_local_time(
    sqlite_bot: Bot, choice: str, wakes: datetime
) -> None:
    dm = sqlite_bot.deliver()
    sqlite_bot.click(dm, ActionId.CARD_SNOOZE, "acc-1", option=option_value("snooze", choice))
    update = sqlite_bot.wait("chat.update")[0]
    assert card_accounts(update.params["blocks"]) == ["acc-2"]
    [alert] = sqlite_bot.alerts("acc-1")
    assert alert.state == "snoozed" and alert.snooze_until == wakes
    assert "snoozed" in last_reply(sqlite_bot)["text"]


def test_snooze_times_follow_a_dst_change(sqlite_url: str, tmp_path: Path, fake: FakeSlack) -> None:
    friday = ny(2026, 10, 30, 15, 0)  # New York leaves DST on Sunday, Nov 1
    with running_bot(sqlite_url, tmp_path, fake, portfolio(friday), now=friday) as bot:
        dm = bot.deliver()
        for account, choice in (("acc-1", "next_monday"), ("acc-2", "3_business_days")):
            bot.click(dm, ActionId.CARD_SNOOZE, account, option=option_value("snooze", choice))
        bot.wait("response_url", 2)
        # (The quiet accounts' activities lie in this clock's future: more reasons fire.)
        [monday] = {(a.state, a.snooze_until) for a in bot.alerts("acc-1")}
        [wednesday] = {(a.state, a.snooze_until) for a in bot.alerts("acc-2")}
    assert monday[0] == wednesday[0] == "snoozed"
    monday, wednesday = monday[1], wednesday[1]
    assert monday == ny(2026, 11, 2, 9, 0)
    assert monday.utcoffset() == timedelta(0)  # stored as UTC …
    assert monday.hour == 14  # … 09:00 EST is 14:00 UTC (it was 13:00 before the change)
    assert wednesday == ny(2026, 11, 4, 9, 0)


def test_pick_a_date_opens_the_modal_and_its_submission_snoozes(bot: Bot, fake: FakeSlack) -> None:
    dm = bot.deliver()
    channel, ts = stored_dm(bot)
    bot.click(dm, ActionId.CARD_SNOOZE, "acc-1", option=option_value("snooze", "pick_date"))

    [opened] = bot.wait("views.open")
    view = opened.params["view"]
    assert opened.params["trigger_id"].startswith("trigger-")
    assert view["callback_id"] == CallbackId.SNOOZE_PICK_DATE
    picker = find_element(view["blocks"], ActionId.SNOOZE_DATE)[1]
    assert picker["type"] == "datepicker" and picker["initial_date"] == "2026-11-17"
    assert bot.states("acc-1") == ["open"]  # opening the modal changes nothing

    answer = bot.submit(
        view,
        {"snooze_date": {"snooze_date": {"type": "datepicker", "selected_date": "2026-11-25"}}},
    )
    assert answer.status == 200 and answer.body == ""  # the modal closes

    update = bot.wait("chat.update")[0]
    [alert] = bot.alerts("acc-1")
    assert alert.state == "snoozed" and alert.snooze_until == ny(2026, 11, 25, 9, 0)
    assert (update.params["channel"], update.params["ts"]) == (channel, ts)
    assert card_accounts(update.params["blocks"]) == ["acc-2"]
    receipt = bot.wait("chat.postEphemeral")[0].params  # a modal has no response_url
    assert receipt["channel"] == channel and receipt["user"] == "U0ANA"
    assert "Globex" in receipt["text"] and "snoozed" in receipt["text"]


def test_pick_a_date_rejects_a_past_date(sqlite_bot: Bot) -> None:
    dm = sqlite_bot.deliver()
    sqlite_bot.click(dm, ActionId.CARD_SNOOZE, "acc-1", option=option_value("snooze", "pick_date"))
    view = sqlite_bot.wait("views.open")[0].params["view"]
    for day in ("2026-11-16", "2026-11-01"):  # today (09:00 has passed) and the past
        answer = sqlite_bot.submit(
            view, {"snooze_date": {"snooze_date": {"type": "datepicker", "selected_date": day}}}
        )
        body = answer.json()
        assert body["response_action"] == "errors"
        assert "after today" in body["errors"]["snooze_date"]
    sqlite_bot.settle()
    assert sqlite_bot.states("acc-1") == ["open"]
    assert sqlite_bot.fake.calls_to("chat.update") == []


def test_an_expired_trigger_id_is_explained(sqlite_bot: Bot, fake: FakeSlack) -> None:
    dm = sqlite_bot.deliver()
    fake.fail("views.open", "expired_trigger_id")
    sqlite_bot.click(dm, ActionId.CARD_DISMISS, "acc-1")
    text = reply_text(last_reply(sqlite_bot))
    assert "3 seconds" in text and "click again" in text
    assert "Traceback" not in text
    assert sqlite_bot.states("acc-1") == ["open"]


# --------------------------------------------------------------------- Dismiss


def test_dismiss_with_a_reason(bot: Bot, fake: FakeSlack) -> None:
    dm = bot.deliver()
    channel, ts = stored_dm(bot)
    bot.click(dm, ActionId.CARD_DISMISS, "acc-1")
    view = bot.wait("views.open")[0].params["view"]
    assert view["callback_id"] == CallbackId.DISMISS_MODAL
    assert "Send Globex the renewal quote" in json.dumps(view)  # the card's reasons
    assert bot.states("acc-1") == ["open"]

    reason = "Handled on a call <@U0MGR> & agreed"
    bot.submit(
        view,
        {"dismiss_reason": {"dismiss_reason": {"type": "plain_text_input", "value": reason}}},
    )

    update = bot.wait("chat.update")[0]
    [alert] = bot.alerts("acc-1")
    assert (alert.state, alert.dismiss_reason, alert.state_changed_by) == (
        "dismissed",
        reason,
        "u-ana",
    )
    assert (update.params["channel"], update.params["ts"]) == (channel, ts)
    assert card_accounts(update.params["blocks"]) == ["acc-2"]
    receipt = bot.wait("chat.postEphemeral")[0].params
    assert "dismissed" in receipt["text"]
    undo = find_element(receipt["blocks"], ActionId.UNDO)[1]
    assert json.loads(undo["value"])["op"] == "dismiss"


def test_a_modal_opens_at_once_while_other_clicks_are_still_being_worked_on(
    sqlite_url: str, tmp_path: Path, fake: FakeSlack
) -> None:
    """Slack honours a trigger_id for 3 s: opening a modal does not queue behind the work
    (re-rendering, a slow Slack) of the clicks before it."""
    with running_bot(sqlite_url, tmp_path, fake, work_slots=1) as bot:
        dm = bot.deliver()
        fake.delay("chat.update", 3.0)  # Done's re-render of the DM holds the only work slot
        bot.click(dm, ActionId.CARD_DONE, "acc-2")
        bot.settle(0.3)
        clicked = time.monotonic()
        bot.click(dm, ActionId.CARD_DISMISS, "acc-1")
        view = bot.wait("views.open")[0].params["view"]
        assert time.monotonic() - clicked < 1.5
        assert view["callback_id"] == CallbackId.DISMISS_MODAL
        assert not fake.calls_to("chat.update")  # Done's work was still going on
        bot.wait("chat.update", timeout=10)
        assert bot.states("acc-2") == ["done"]


def test_undo_of_a_dismiss_brings_the_card_back(sqlite_bot: Bot, fake: FakeSlack) -> None:
    dm = sqlite_bot.deliver()
    sqlite_bot.click(dm, ActionId.CARD_DISMISS, "acc-2")
    view = sqlite_bot.wait("views.open")[0].params["view"]
    sqlite_bot.submit(view, {"dismiss_reason": {"dismiss_reason": {"value": None}}})
    receipt = sqlite_bot.wait("chat.postEphemeral")[0].params
    assert sqlite_bot.alerts("acc-2")[0].dismiss_reason is None  # the reason is optional
    sqlite_bot.click({**receipt, "ts": None}, ActionId.UNDO, ephemeral=True)
    sqlite_bot.wait("chat.update", 2)
    assert sqlite_bot.states("acc-2") == ["open"]
    assert card_accounts(fake.dms("U0ANA")[0]["blocks"]) == ["acc-1", "acc-2"]


# ------------------------------------------------------------------- who may act


def test_another_csm_is_refused_and_nothing_changes(bot: Bot, fake: FakeSlack) -> None:
    dm = bot.deliver()
    bot.click(dm, ActionId.CARD_DONE, "acc-1", user="U0BOB")
    refusal = last_reply(bot)
    assert refusal["response_type"] == "ephemeral"
    assert "Ana CSM's card" in refusal["text"] and "nothing was changed" in refusal["text"]
    bot.settle()
    assert bot.states("acc-1") == ["open"]
    assert fake.calls_to("chat.update") == [] and fake.calls_to("views.publish") == []


@pytest.mark.parametrize("who", [("U0MGR", "u-mgr"), ("U0ADA", "u-ada")])
def test_the_managers_or_an_admins_click_is_allowed(
    sqlite_bot: Bot, fake: FakeSlack, who: tuple[str, str]
) -> None:
    slack_id, user_id = who
    dm = sqlite_bot.deliver()
    sqlite_bot.click(dm, ActionId.CARD_DONE, "acc-1", user=slack_id)
    update = sqlite_bot.wait("chat.update")[0]
    [alert] = sqlite_bot.alerts("acc-1")
    assert (alert.state, alert.state_changed_by) == ("done", user_id)
    assert card_accounts(update.params["blocks"]) == ["acc-2"]  # Ana's DM is re-rendered
    assert "marked done" in last_reply(sqlite_bot)["text"]  # the receipt goes to the clicker
    assert card_accounts(sqlite_bot.open_home("U0ANA")["blocks"]) == ["acc-2"]  # Ana's Home too


def test_an_unknown_slack_user_is_told_to_ask_an_admin(sqlite_bot: Bot) -> None:
    dm = sqlite_bot.deliver()
    sqlite_bot.click(dm, ActionId.CARD_DONE, "acc-1", user="U0STRANGER")
    assert "not set up in Followup Bot" in last_reply(sqlite_bot)["text"]
    assert sqlite_bot.states("acc-1") == ["open"]


def test_a_refused_pick_a_date_opens_no_modal(sqlite_bot: Bot) -> None:
    dm = sqlite_bot.deliver()
    sqlite_bot.click(
        dm, ActionId.CARD_SNOOZE, "acc-1", user="U0BOB", option=option_value("snooze", "pick_date")
    )
    assert "Ana CSM's card" in last_reply(sqlite_bot)["text"]
    assert sqlite_bot.fake.calls_to("views.open") == []
    # A forged submission of the date modal is refused as well: the modal says so.
    meta = {"v": 1, "card": {"v": 1, "account": "acc-1", "alerts": [1]}}
    forged = {
        "type": "modal",
        "callback_id": CallbackId.SNOOZE_PICK_DATE.value,
        "private_metadata": json.dumps(meta),
    }
    answer = sqlite_bot.submit(
        forged, {"snooze_date": {"snooze_date": {"selected_date": "2026-11-25"}}}, user="U0BOB"
    )
    assert answer.status == 200
    assert json.loads(answer.body)["response_action"] == "update"
    assert "Ana CSM's card" in answer.body
    assert sqlite_bot.states("acc-1") == ["open"]


# ----------------------------------------------------------------- stale cards


def test_a_card_handled_meanwhile_says_by_whom_and_is_rerendered(bot: Bot, fake: FakeSlack) -> None:
    dm = bot.deliver()
    [alert] = bot.alerts("acc-1")
    with bot.engine.begin() as conn:  # Mia dismisses it from elsewhere
        triage.dismiss(conn, alert.id, actor="u-mgr", now=NOW, reason="duplicate")

    bot.click(dm, ActionId.CARD_DONE, "acc-1")

    text = last_reply(bot)["text"]
    assert "already handled by Mia Manager (dismissed)" in text
    assert "Traceback" not in text and "wrong" not in text
    update = bot.wait("chat.update")[0]
    assert card_accounts(update.params["blocks"]) == ["acc-2"]  # the message shows the truth
    assert [(a.state, a.state_changed_by) for a in bot.alerts("acc-1")] == [("dismissed", "u-mgr")]


def test_a_double_click_is_handled_once(sqlite_bot: Bot) -> None:
    dm = sqlite_bot.deliver()
    sqlite_bot.click(dm, ActionId.CARD_DONE, "acc-1")
    sqlite_bot.wait("response_url")
    sqlite_bot.click(dm, ActionId.CARD_DONE, "acc-1")
    assert "already handled by you (marked done)" in last_reply(sqlite_bot, 2)["text"]
    assert len(sqlite_bot.audit("alert.done")) == 1


def test_two_clicks_at_once_have_one_winner(bot: Bot) -> None:
    dm = bot.deliver()
    barrier = threading.Barrier(2)

    def click(user: str) -> None:
        barrier.wait()
        bot.click(dm, ActionId.CARD_DONE, "acc-1", user=user)

    threads = [threading.Thread(target=click, args=(u,)) for u in ("U0ANA", "U0MGR")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    texts = [c.params["text"] for c in bot.wait("response_url", 2)]
    assert len(bot.audit("alert.done")) == 1
    [alert] = bot.alerts("acc-1")
    winner = {"u-ana": "Ana CSM", "u-mgr": "Mia Manager"}[alert.state_changed_by]
    [won] = [t for t in texts if t.endswith("marked done. Nice work.")]
    [lost] = [t for t in texts if t != won]
    assert f"already handled by {winner} (marked done)" in lost


def test_message_not_found_on_update_is_not_an_error(sqlite_bot: Bot, fake: FakeSlack) -> None:
    dm = sqlite_bot.deliver()
    fake.forget_message(dm["channel"], dm["ts"])  # the user deleted the DM
    sqlite_bot.click(dm, ActionId.CARD_DONE, "acc-1")
    [update] = sqlite_bot.wait("chat.update")
    assert update.response["error"] == "message_not_found"
    receipt = last_reply(sqlite_bot)
    assert "marked done" in receipt["text"]
    assert sqlite_bot.states("acc-1") == ["done"]
    sqlite_bot.settle()
    assert len(sqlite_bot.fake.calls_to("response_url")) == 1  # no error message after it


def test_a_value_from_an_older_version_is_explained(sqlite_bot: Bot) -> None:
    dm = sqlite_bot.deliver()
    _, button = find_element(dm["blocks"], ActionId.CARD_DONE, "acc-1")
    button["value"] = json.dumps({"v": 0, "account": "acc-1", "alerts": [1]})
    sqlite_bot.click(dm, ActionId.CARD_DONE, "acc-1")
    assert "older than this version" in last_reply(sqlite_bot)["text"]
    assert sqlite_bot.states("acc-1") == ["open"]


# ------------------------------------------------------- summary and App Home


def test_the_summary_button_answers_with_the_account_summary(sqlite_bot: Bot) -> None:
    dm = sqlite_bot.deliver()
    sqlite_bot.click(dm, ActionId.CARD_SUMMARY, "acc-1", user="U0MGR")
    summary = last_reply(sqlite_bot)
    assert summary["response_type"] == "ephemeral"
    assert (
        summary["blocks"][0]["type"] == "header"
        and "Globex" in summary["blocks"][0]["text"]["text"]
    )
    assert "Send Globex the renewal quote" in json.dumps(summary["blocks"])
    find_element(summary["blocks"], ActionId.SUMMARY_SAVE)  # Save / Share buttons


def test_done_in_the_app_home_and_wake_now(sqlite_bot: Bot, fake: FakeSlack) -> None:
    sqlite_bot.deliver()
    sqlite_bot.slack.app_home_opened("U0ANA", event_id="EvH1")
    sqlite_bot.wait("views.publish")
    sqlite_bot.click_home(ActionId.CARD_SNOOZE, "acc-1", option=option_value("snooze", "tomorrow"))
    home = sqlite_bot.wait("views.publish", 2)[-1].params["view"]
    assert card_accounts(home["blocks"]) == ["acc-2"]
    assert "wakes tomorrow at 09:00" in json.dumps(home)
    # No response_url in the App Home: the receipt goes to the user's DM with the app.
    receipt = sqlite_bot.wait("chat.postEphemeral")[0].params
    assert receipt["channel"] == "D0ANA" and "snoozed" in receipt["text"]
    assert card_accounts(fake.dms("U0ANA")[0]["blocks"]) == ["acc-2"]  # today's DM as well

    sqlite_bot.click_home(ActionId.UNDO, "acc-1")  # "Wake now"
    home = sqlite_bot.wait("views.publish", 3)[-1].params["view"]
    assert card_accounts(home["blocks"]) == ["acc-1", "acc-2"]
    assert sqlite_bot.states("acc-1") == ["open"]
    assert "awake" in sqlite_bot.wait("chat.postEphemeral", 2)[-1].params["text"]


def test_dismiss_from_the_app_home_needs_no_message(sqlite_bot: Bot) -> None:
    sqlite_bot.slack.app_home_opened("U0ANA", event_id="EvH2")
    sqlite_bot.wait("views.publish")
    sqlite_bot.click_home(ActionId.CARD_DISMISS, "acc-2")
    view = sqlite_bot.wait("views.open")[0].params["view"]
    meta = json.loads(view["private_metadata"])
    assert meta["card"]["account"] == "acc-2" and "ts" not in meta
    sqlite_bot.submit(view, {"dismiss_reason": {"dismiss_reason": {"value": "churning"}}})
    sqlite_bot.wait("views.publish", 2)
    assert sqlite_bot.states("acc-2") == ["dismissed"]
