"""Slash commands over real HTTP: ``/account-summary`` (acknowledged at once however slow the
summary, an id, a name or the one name containing the text, the picker, the closest names,
usage; Save and Share) and ``/followup today|settings|help``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from bot.db.models import QueueCard, SavedSummary, User
from bot.engine.summary.saved import saved_summaries
from bot.ids import ActionId, CallbackId, Command
from tests.bot_harness import (
    Bot,
    add_fake_users,
    card_accounts,
    find_element,
    option_value,
    portfolio,
    running_bot,
)
from tests.portfolio import Portfolio
from tests.slack_fakes import FakeSlack

SLOW = 3.5  # seconds: longer than Slack waits for an answer


def with_acmes() -> Portfolio:
    p = portfolio()
    p.quiet_account("acc-4", name="Acme Analytics", csm="u-bob")
    p.quiet_account("acc-5", name="Acme Logistics", csm="u-bob")
    return p


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        add_fake_users(server)
        yield server


@pytest.fixture
def bot(sqlite_url: str, tmp_path: Path, fake: FakeSlack) -> Iterator[Bot]:
    with running_bot(sqlite_url, tmp_path, fake, with_acmes()) as served:
        yield served


def reply(bot: Bot, count: int = 1) -> dict[str, Any]:
    """The ``count``-th message sent to a response_url (later ones may have come already)."""
    return bot.wait("response_url", count)[count - 1].params


def header(params: dict[str, Any]) -> str:
    first = params["blocks"][0]
    assert first["type"] == "header", first
    return str(first["text"]["text"])


# ------------------------------------------------------------- /account-summary


def test_the_command_is_acknowledged_at_once_however_slow_the_summary(
    db_url: str, tmp_path: Path, fake: FakeSlack
) -> None:
    with running_bot(db_url, tmp_path, fake, with_acmes()) as bot:
        # Nobody gave Ana's time zone: the summary asks Slack (users.info), which is slow.
        with bot.engine.begin() as conn:
            conn.execute(
                update(User).where(User.id == "u-ana").values(timezone=None, slack_timezone=None)
            )
        fake.delay("users.info", SLOW)

        started = time.monotonic()
        answer = bot.command(Command.ACCOUNT_SUMMARY, "globex")
        answered = time.monotonic() - started

        assert answer.status == 200 and answer.body == ""
        assert answered < 1.5, f"answered after {answered:.2f}s"  # Slack waits 3 s
        assert fake.calls_to("response_url") == []  # the summary is still being made …
        summary = reply(bot)  # … and arrives afterwards, through the response_url
        assert time.monotonic() - started >= SLOW
        assert summary["response_type"] == "ephemeral"
        assert "Globex" in header(summary)
        assert fake.calls_to("users.info")[0].params["user"] == "U0ANA"


def test_an_id_a_name_or_the_only_name_containing_it_finds_the_account(bot: Bot) -> None:
    bot.command(Command.ACCOUNT_SUMMARY, "UMBRELLA corp")
    whole = reply(bot)
    assert "Umbrella Corp" in header(whole) and "No account is named" not in json.dumps(whole)
    bot.command(Command.ACCOUNT_SUMMARY, "brella")
    part = reply(bot, 2)
    assert "Umbrella Corp" in header(part)  # the reply says which account it took, and why
    assert "No account is named *brella*; *Umbrella Corp* is the only one" in json.dumps(part)
    bot.command(Command.ACCOUNT_SUMMARY, "acc-1")
    summary = reply(bot, 3)
    assert "Globex" in header(summary)
    # Its current card (why it is flagged) is part of it.
    assert "Send Globex the renewal quote" in json.dumps(summary["blocks"])
    find_element(summary["blocks"], ActionId.SUMMARY_SHARE)


def test_several_matches_offer_a_picker_whose_choice_answers(bot: Bot) -> None:
    bot.command(Command.ACCOUNT_SUMMARY, "acme")
    picker = reply(bot)
    assert picker["response_type"] == "ephemeral"
    _, select = find_element(picker["blocks"], ActionId.SUMMARY_PICK_ACCOUNT)
    assert [o["text"]["text"] for o in select["options"]] == ["Acme Analytics", "Acme Logistics"]
    assert "Several accounts match *acme*" in json.dumps(picker["blocks"])

    bot.click(
        picker,
        ActionId.SUMMARY_PICK_ACCOUNT,
        option=option_value("account", "acc-5"),
        ephemeral=True,
    )
    summary = reply(bot, 2)
    assert summary["replace_original"] is True  # the picker becomes the summary
    assert "Acme Logistics" in header(summary)


def test_a_misspelt_name_offers_the_closest_instead_of_guessing(bot: Bot) -> None:
    bot.command(Command.ACCOUNT_SUMMARY, "umbrela")
    answer = reply(bot)
    assert answer["blocks"][0]["type"] != "header"  # no summary of a guessed account
    assert "No account matches *umbrela*. The closest: *Umbrella Corp*" in json.dumps(answer)
    _, select = find_element(answer["blocks"], ActionId.SUMMARY_PICK_ACCOUNT)
    assert [o["text"]["text"] for o in select["options"]] == ["Umbrella Corp"]

    bot.command(Command.ACCOUNT_SUMMARY, "Zzyzx Holdings")
    nothing = json.dumps(reply(bot, 2))
    assert "No account matches *Zzyzx Holdings*." in nothing and "The closest" not in nothing


def test_no_match_lists_the_closest_names(bot: Bot) -> None:
    bot.command(Command.ACCOUNT_SUMMARY, "Glowbox <!channel>")
    answer = reply(bot)
    text = json.dumps(answer["blocks"])
    assert "No account matches" in text and "*Globex*" in text
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text  # the query is escaped
    _, select = find_element(answer["blocks"], ActionId.SUMMARY_PICK_ACCOUNT)
    assert select["options"][0]["text"]["text"] == "Globex"


def test_no_text_answers_with_the_usage(bot: Bot) -> None:
    answer = bot.command(Command.ACCOUNT_SUMMARY, "  ")
    assert answer.status == 200
    usage = answer.json()
    assert usage["response_type"] == "ephemeral" and "/account-summary ACCOUNT" in usage["text"]
    bot.settle()
    assert bot.fake.calls_to("response_url") == []


def test_an_unknown_slack_user_is_told_to_ask_an_admin(bot: Bot) -> None:
    answer = bot.command(Command.ACCOUNT_SUMMARY, "globex", user="U0STRANGER")
    assert answer.status == 200
    text = reply(bot)["text"]
    assert "not set up in Followup Bot" in text and "ask an admin" in text.lower()
    bot.command(Command.FOLLOWUP, "today", user="U0STRANGER")
    assert "not set up in Followup Bot" in reply(bot, 2)["text"]


def test_save_stores_a_new_version_of_the_summary(bot: Bot) -> None:
    bot.command(Command.ACCOUNT_SUMMARY, "globex")
    summary = reply(bot)
    bot.click(summary, ActionId.SUMMARY_SAVE, ephemeral=True)
    assert "Saved the summary of *Globex* (version 1)" in json.dumps(reply(bot, 2)["blocks"])
    bot.click(summary, ActionId.SUMMARY_SAVE, ephemeral=True)
    assert "(version 2)" in json.dumps(reply(bot, 3)["blocks"])
    first, _ = bot.audit("summary.saved")
    assert first[:2] == ("u-ana", "account:acc-1")
    assert first[2]["account_name"] == "Globex" and first[2]["generator"] == "rules"
    with bot.engine.connect() as conn:
        saved = saved_summaries(conn, "acc-1")
        content = conn.execute(select(SavedSummary.content)).scalars().first()
    assert [s.version for s in saved] == [2, 1]  # earlier versions are kept
    assert saved[0].saved_by == "u-ana" and saved[0].generator == "rules"
    assert content is not None
    assert content["sections"][0]["id"] == "account_highlights"


def test_the_period_choice_re_renders_the_summary_in_place(bot: Bot) -> None:
    bot.command(Command.ACCOUNT_SUMMARY, "globex")
    summary = reply(bot)
    ids = [b.get("block_id", "") for b in summary["blocks"]]
    sections = [i.split(":", 1)[1] for i in ids if i.startswith("summary_section:")]
    assert sections[0] == "account_highlights" and sections[-1] == "immediate_actions"
    assert len(sections) == 10
    bot.click(summary, ActionId.SUMMARY_PERIOD, option=option_value("period", "30"), ephemeral=True)
    again = reply(bot, 2)
    assert again["replace_original"] is True
    select = find_element(again["blocks"], ActionId.SUMMARY_PERIOD)[1]
    assert select["initial_option"]["text"]["text"] == "Last 30 days"
    assert "Covers activity from" in json.dumps(again["blocks"])


def test_share_posts_the_summary_in_the_channel(bot: Bot) -> None:
    bot.command(Command.ACCOUNT_SUMMARY, "globex", user="U0MGR")
    summary = reply(bot)
    bot.click(summary, ActionId.SUMMARY_SHARE, ephemeral=True, user="U0MGR")
    shared = reply(bot, 2)
    assert shared["response_type"] == "in_channel" and shared["replace_original"] is False
    assert "Globex" in header(shared)
    text = json.dumps(shared["blocks"])
    assert "Shared by Mia Manager" in text
    assert ActionId.SUMMARY_SAVE not in text and "only you can see" not in text


# ----------------------------------------------------------------------- /followup


def test_followup_today_shows_my_lanes_now(bot: Bot) -> None:
    answer = bot.command(Command.FOLLOWUP, "today")
    assert answer.status == 200 and answer.body == ""
    lanes = reply(bot)
    assert lanes["response_type"] == "ephemeral"
    assert "Your follow-ups for Mon, Nov 16" in json.dumps(lanes["blocks"][0])
    assert card_accounts(lanes["blocks"]) == ["acc-1", "acc-2"]  # the stored queue


def test_followup_today_shows_the_stored_queue_without_sweeping(bot: Bot) -> None:
    with bot.engine.begin() as conn:  # the queue's cards as the last sweep stored them
        conn.execute(delete(QueueCard).where(QueueCard.account_id == "acc-2"))
    bot.command(Command.FOLLOWUP, "today")
    assert card_accounts(reply(bot)["blocks"]) == ["acc-1"]


def test_followup_today_after_opting_out_still_shows_the_lanes(bot: Bot) -> None:
    with bot.engine.begin() as conn:
        conn.execute(update(User).where(User.id == "u-bob").values(digest={"opt_out": True}))
    bot.command(Command.FOLLOWUP, "today", user="U0BOB")
    assert card_accounts(reply(bot)["blocks"]) == ["acc-3"]


def test_a_click_on_the_today_ephemeral_replaces_it(bot: Bot) -> None:
    bot.command(Command.FOLLOWUP, "today")
    lanes = reply(bot)
    bot.click({**lanes, "channel": "C0GENERAL"}, ActionId.CARD_DONE, "acc-2", ephemeral=True)
    replaced = reply(bot, 2)
    assert replaced["replace_original"] is True
    assert card_accounts(replaced["blocks"]) == ["acc-1"]
    assert "marked done" in reply(bot, 3)["text"]
    assert bot.states("acc-2") == ["done"]  # its alerts were recorded for the click


def test_followup_settings_opens_the_settings_modal(bot: Bot) -> None:
    answer = bot.command(Command.FOLLOWUP, "settings")
    assert answer.status == 200
    [opened] = bot.wait("views.open")
    assert opened.params["view"]["callback_id"] == CallbackId.SETTINGS_MODAL
    assert opened.params["trigger_id"].startswith("trigger-")


@pytest.mark.parametrize("text", ["help", "", "frobnicate"])
def test_followup_help_and_unknown_text(bot: Bot, text: str) -> None:
    answer = bot.command(Command.FOLLOWUP, text)
    body = answer.json()["text"]
    assert "/followup today" in body and "/account-summary" in body
    assert ("I don't know `/followup frobnicate`" in body) is (text == "frobnicate")
