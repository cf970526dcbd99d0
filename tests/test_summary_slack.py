"""The account summary's Slack surfaces beyond the command: an admin chooses the sections in
the App Home (others are refused), and ``/account-summary`` leaves the hidden ones out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.db.models import Opportunity
from bot.engine.summary.sections import SectionId
from bot.engine.summary.visibility import hidden_sections
from bot.ids import ActionId, CallbackId, Command
from tests.bot_harness import Bot, add_fake_users, find_element, portfolio, running_bot
from tests.portfolio import NOW
from tests.slack_fakes import FakeSlack


@pytest.fixture
def bot(sqlite_url: str, tmp_path: Path) -> Iterator[Bot]:
    with FakeSlack() as fake:
        add_fake_users(fake)
        with running_bot(sqlite_url, tmp_path, fake, portfolio()) as served:
            yield served


def open_home(bot: Bot, user: str) -> dict[str, Any]:
    count = len(bot.fake.calls_to("views.publish"))
    bot.slack.app_home_opened(user, event_id=f"Ev{user}{count}")
    view: dict[str, Any] = bot.wait("views.publish", count + 1)[-1].params["view"]
    return view


def shown(*sections: SectionId) -> dict[str, Any]:
    options = [{"value": s.value} for s in sections]
    return {"summary_sections_shown": {"summary_sections_shown": {"selected_options": options}}}


def test_an_admin_hides_sections_and_the_summary_leaves_them_out(bot: Bot) -> None:
    assert "Choose sections" in json.dumps(open_home(bot, "U0ADA"))
    bot.click_home(ActionId.HOME_OPEN_SUMMARY_SECTIONS, user="U0ADA")
    view = bot.wait("views.open")[0].params["view"]
    assert view["callback_id"] == CallbackId.SUMMARY_SECTIONS_MODAL
    checkboxes = view["blocks"][0]["element"]
    assert len(checkboxes["initial_options"]) == 10  # all shown to begin with
    keep = [s for s in SectionId if s not in (SectionId.KEY_STAKEHOLDERS, SectionId.KPI_PROGRESS)]
    bot.submit(view, shown(*keep), user="U0ADA")
    bot.wait("views.publish", 2)
    with bot.engine.connect() as conn:
        assert hidden_sections(conn) == {SectionId.KEY_STAKEHOLDERS, SectionId.KPI_PROGRESS}
    [(actor, _, details)] = bot.audit("settings.summary")
    assert actor == "u-ada"
    assert details["after"]["hidden"] == ["key_stakeholders", "kpi_progress"]

    bot.command(Command.ACCOUNT_SUMMARY, "globex")
    summary = bot.wait("response_url")[0].params
    ids = [b.get("block_id", "") for b in summary["blocks"]]
    assert "summary_section:key_stakeholders" not in ids
    assert "summary_section:kpi_progress" not in ids
    assert "summary_section:risks_and_blockers" in ids


def test_only_admins_choose_the_sections(bot: Bot) -> None:
    open_home(bot, "U0ADA")
    bot.click_home(ActionId.HOME_OPEN_SUMMARY_SECTIONS, user="U0ADA")
    view = bot.wait("views.open")[0].params["view"]
    bot.fake.home["U0MGR"] = bot.fake.home["U0ADA"]
    bot.click_home(ActionId.HOME_OPEN_SUMMARY_SECTIONS, user="U0MGR")
    assert "Only an admin" in bot.wait("chat.postEphemeral")[0].params["text"]
    answer = bot.submit(view, shown(), user="U0MGR")
    assert "Only an admin" in answer.body  # the modal turns into the refusal
    assert bot.audit("settings.summary") == []


def test_saved_versions_are_listed_opened_and_shared(bot: Bot) -> None:
    bot.command(Command.ACCOUNT_SUMMARY, "globex saved")
    empty = bot.wait("response_url")[0].params
    assert "No saved summaries of *Globex* yet" in json.dumps(empty["blocks"])
    bot.command(Command.ACCOUNT_SUMMARY, "globex")
    summary = bot.wait("response_url", 2)[1].params
    bot.click(summary, ActionId.SUMMARY_SAVE, ephemeral=True)
    bot.click(summary, ActionId.SUMMARY_SAVE, ephemeral=True)
    bot.wait("response_url", 4)
    bot.command(Command.ACCOUNT_SUMMARY, "Globex saved")
    listing = bot.wait("response_url", 5)[4].params
    text = json.dumps(listing["blocks"])
    assert "Version 2" in text and "Version 1" in text and "Ana CSM" in text
    assert text.index("Version 2") < text.index("Version 1")  # newest first
    bot.click(listing, ActionId.SUMMARY_OPEN_SAVED, ephemeral=True)
    opened = bot.wait("response_url", 6)[5].params
    blocks = json.dumps(opened["blocks"])
    assert "Saved version 2 by you" in blocks and "summary_section:immediate_actions" in blocks
    assert ActionId.SUMMARY_SAVE.value not in blocks and ActionId.SUMMARY_PERIOD.value not in blocks
    bot.click(opened, ActionId.SUMMARY_SHARE, ephemeral=True)
    shared = bot.wait("response_url", 7)[6].params
    assert shared["response_type"] == "in_channel"
    assert "Shared by Ana CSM" in json.dumps(shared["blocks"])
    assert "Saved version 2 by Ana CSM" in json.dumps(shared["blocks"])


def test_an_expansion_suggestion_becomes_an_opportunity(sqlite_url: str, tmp_path: Path) -> None:
    p = portfolio()
    p.activity(
        "acc-1",
        NOW - timedelta(days=3),
        id="act-exp",
        kind="note",
        direction="internal",
        body="Their finance department wants to roll it out to another team too.",
    )
    with FakeSlack() as fake:
        add_fake_users(fake)
        with running_bot(sqlite_url, tmp_path, fake, p) as bot:
            bot.command(Command.ACCOUNT_SUMMARY, "globex")
            summary = bot.wait("response_url")[0].params
            button = find_element(summary["blocks"], ActionId.SUMMARY_CREATE_OPPORTUNITY)[1]
            suggestion = json.loads(button["value"])["title"]
            assert "another team" in suggestion

            bot.click(summary, ActionId.SUMMARY_CREATE_OPPORTUNITY, ephemeral=True)
            modal = bot.wait("views.open")[0].params["view"]
            assert modal["callback_id"] == CallbackId.OPPORTUNITY_MODAL
            assert modal["blocks"][1]["element"]["initial_value"] == suggestion  # pre-filled

            values = {
                "opportunity_title": {"opportunity_title": {"value": "  "}},
                "opportunity_amount": {"opportunity_amount": {"value": "-5"}},
            }
            bad = bot.submit(modal, values, user="U0ANA").json()
            assert set(bad["errors"]) == {"opportunity_title", "opportunity_amount"}
            values = {
                "opportunity_title": {"opportunity_title": {"value": "Finance team rollout"}},
                "opportunity_amount": {"opportunity_amount": {"value": "12000"}},
                "opportunity_close": {"opportunity_close": {"selected_date": "2027-01-31"}},
            }
            bot.submit(modal, values, user="U0ANA")
            receipt = bot.wait("chat.postEphemeral")[0].params
            assert "Opportunity created on *Globex*" in receipt["text"]
            with bot.engine.connect() as conn:
                row = conn.execute(select(Opportunity.__table__)).one()
            assert (row.account_id, row.title, row.kind, row.status, row.amount) == (
                "acc-1",
                "Finance team rollout",
                "expansion",
                "open",
                12000,
            )
            assert str(row.close_date) == "2027-01-31"
            [(actor, _, details)] = bot.audit("opportunity.created")
            assert actor == "u-ana" and details["opportunity"] == row.id


def test_the_app_home_lists_the_latest_saved_summaries_to_open(bot: Bot) -> None:
    bot.command(Command.ACCOUNT_SUMMARY, "globex")
    summary = bot.wait("response_url")[0].params
    bot.click(summary, ActionId.SUMMARY_SAVE, ephemeral=True)
    bot.wait("response_url", 2)
    home = open_home(bot, "U0ANA")
    listed = json.dumps(home["blocks"], ensure_ascii=False)
    assert "Saved summaries" in listed and "*Globex* — version 1" in listed
    bot.click_home(ActionId.SUMMARY_OPEN_SAVED)
    opened = bot.wait("chat.postEphemeral")[0].params
    assert "Saved version 1" in json.dumps(opened["blocks"])
    # Bob's Home lists none of Ana's accounts' summaries.
    assert "Saved summaries" not in json.dumps(open_home(bot, "U0BOB")["blocks"])
