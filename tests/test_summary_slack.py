"""The account summary's Slack surfaces beyond the command: an admin chooses the sections in
the App Home (others are refused), and ``/account-summary`` leaves the hidden ones out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.engine.summary.sections import SectionId
from bot.engine.summary.visibility import hidden_sections
from bot.ids import ActionId, CallbackId, Command
from tests.bot_harness import Bot, add_fake_users, portfolio, running_bot
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
    bot.submit(view, shown(), user="U0MGR")
    refusals = bot.wait("chat.postEphemeral", 2)
    assert all("Only an admin" in c.params["text"] for c in refusals)
    assert bot.audit("settings.summary") == []
