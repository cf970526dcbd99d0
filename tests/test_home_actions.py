"""The App Home's controls over real HTTP: the filters, the settings modals (the user's own and,
for admins, the org's) — validated with view errors, saved, audited, the home published again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.db.models import Org, OutboxMessage, User
from bot.ids import ActionId, CallbackId
from bot.service.outbox import Kind, Message, enqueue
from tests.bot_harness import (
    Bot,
    add_fake_users,
    card_accounts,
    option_value,
    portfolio,
    running_bot,
)
from tests.portfolio import NOW, Portfolio
from tests.slack_fakes import FakeSlack


def with_hooli() -> Portfolio:
    """Ana's two overdue high-priority tasks (Owe lane, high) and an urgent one at Hooli
    (critical)."""
    p = portfolio()
    p.quiet_account("acc-6", name="Hooli")
    p.add(
        "tasks",
        id="t-acc-6",
        account="acc-6",
        title="Call back about the outage",
        priority="urgent",
        due_at="2026-11-10T15:00:00Z",
    )
    return p


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        add_fake_users(server)
        yield server


@pytest.fixture
def bot(db_url: str, tmp_path: Path, fake: FakeSlack) -> Iterator[Bot]:
    with running_bot(db_url, tmp_path, fake, with_hooli()) as served:
        yield served


@pytest.fixture
def sqlite_bot(sqlite_url: str, tmp_path: Path, fake: FakeSlack) -> Iterator[Bot]:
    with running_bot(sqlite_url, tmp_path, fake, with_hooli()) as served:
        yield served


def open_home(bot: Bot, user: str = "U0ANA") -> dict[str, Any]:
    return bot.open_home(user)


def published(bot: Bot, count: int) -> dict[str, Any]:
    view: dict[str, Any] = bot.wait("views.publish", count)[-1].params["view"]
    return view


def digest_of(bot: Bot, table: Any, where: Any) -> dict[str, Any]:
    with bot.engine.connect() as conn:
        return dict(conn.execute(select(table.digest).where(where)).scalar() or {})


def settings_values(
    sensitivity: str = "important", opt_out: bool = False, send_at: str = "07:45"
) -> dict[str, Any]:
    checked = [{"value": "opt_out"}] if opt_out else []
    return {
        "settings_sensitivity": {
            "settings_sensitivity": {
                "type": "static_select",
                "selected_option": {"value": sensitivity},
            }
        },
        "settings_opt_out": {
            "settings_opt_out": {"type": "checkboxes", "selected_options": checked}
        },
        "settings_send_at": {"settings_send_at": {"type": "timepicker", "selected_time": send_at}},
    }


# ------------------------------------------------------------------------ filters


def test_the_filters_publish_the_home_again_filtered(sqlite_bot: Bot) -> None:
    home = open_home(sqlite_bot)
    assert card_accounts(home["blocks"]) == ["acc-6", "acc-1", "acc-2"]

    sqlite_bot.click_home(
        ActionId.HOME_FILTER_SEVERITY, option=option_value("severity", "critical")
    )
    home = published(sqlite_bot, 2)
    assert json.loads(home["private_metadata"]) == {"v": 1, "severity": "critical"}
    assert card_accounts(home["blocks"]) == ["acc-6"]
    assert "Showing *1* of *1* matching accounts (of 3 in your queue)" in json.dumps(home)

    # The next filter keeps the first: every option carries the whole filter state.
    sqlite_bot.click_home(
        ActionId.HOME_FILTER_SIGNAL, option=option_value("signal", "overdue_task")
    )
    home = published(sqlite_bot, 3)
    assert json.loads(home["private_metadata"]) == {
        "v": 1,
        "severity": "critical",
        "signal": "overdue_task",
    }
    sqlite_bot.click_home(
        ActionId.HOME_FILTER_SEVERITY, option=lambda o: "severity" not in o["value"]
    )
    home = published(sqlite_bot, 4)
    assert card_accounts(home["blocks"]) == ["acc-6", "acc-1", "acc-2"]

    # A click on a card in a filtered home keeps the filter.
    sqlite_bot.click_home(
        ActionId.HOME_FILTER_LANE, option=option_value("lane", "owe_them_something")
    )
    published(sqlite_bot, 5)
    sqlite_bot.click_home(ActionId.CARD_DONE, "acc-1")
    home = published(sqlite_bot, 6)
    assert json.loads(home["private_metadata"])["lane"] == "owe_them_something"
    assert card_accounts(home["blocks"]) == ["acc-6", "acc-2"]


def test_a_modal_opened_from_a_filtered_home_keeps_the_filter(sqlite_bot: Bot) -> None:
    open_home(sqlite_bot)
    sqlite_bot.click_home(
        ActionId.HOME_FILTER_LANE, option=option_value("lane", "owe_them_something")
    )
    published(sqlite_bot, 2)
    sqlite_bot.click_home(ActionId.CARD_DISMISS, "acc-6")
    view = sqlite_bot.wait("views.open")[0].params["view"]
    sqlite_bot.submit(view, {"dismiss_reason": {"dismiss_reason": {"value": "called them"}}})
    home = published(sqlite_bot, 3)
    assert sqlite_bot.states("acc-6") == ["dismissed"]
    assert json.loads(home["private_metadata"]) == {"v": 1, "lane": "owe_them_something"}
    assert card_accounts(home["blocks"]) == ["acc-1", "acc-2"]


# ------------------------------------------------------------------- user settings


def test_the_settings_button_opens_the_modal_and_its_submission_saves(bot: Bot) -> None:
    open_home(bot)
    bot.click_home(ActionId.HOME_OPEN_SETTINGS)
    view = bot.wait("views.open")[0].params["view"]
    assert view["callback_id"] == CallbackId.SETTINGS_MODAL

    answer = bot.submit(view, settings_values("important", opt_out=True, send_at="07:45"))
    assert answer.status == 200 and answer.body == ""

    home = published(bot, 2)
    assert digest_of(bot, User, User.id == "u-ana") == {
        "sensitivity": "important",
        "opt_out": True,
        "send_at": "07:45",
    }
    assert "Paused (opted out)" in json.dumps(home) and "07:45" in json.dumps(home)
    [(actor, subject, details)] = bot.audit("settings.user")
    assert (actor, subject) == ("u-ana", "user:u-ana")
    assert details["before"] == {} and details["after"]["send_at"] == "07:45"

    # Back to the org default: the user's own noise level goes.
    bot.submit(view, settings_values("org_default", send_at="08:00"))
    published(bot, 3)
    assert digest_of(bot, User, User.id == "u-ana") == {"opt_out": False, "send_at": "08:00"}


@pytest.mark.parametrize(
    ("values", "block", "problem"),
    [
        (settings_values(send_at="25:70"), "settings_send_at", "between 00:00 and 23:59"),
        (settings_values(send_at="soon"), "settings_send_at", "like 08:30"),
        (settings_values(sensitivity="deafening"), "settings_sensitivity", "noise level"),
    ],
)
def test_bad_settings_are_view_errors(
    sqlite_bot: Bot, values: dict[str, Any], block: str, problem: str
) -> None:
    open_home(sqlite_bot)
    sqlite_bot.click_home(ActionId.HOME_OPEN_SETTINGS)
    view = sqlite_bot.wait("views.open")[0].params["view"]
    body = sqlite_bot.submit(view, values).json()
    assert body["response_action"] == "errors" and problem in body["errors"][block]
    sqlite_bot.settle()
    assert digest_of(sqlite_bot, User, User.id == "u-ana") == {}
    assert sqlite_bot.audit("settings.user") == []


def test_settings_of_someone_else_are_refused(sqlite_bot: Bot) -> None:
    open_home(sqlite_bot)
    sqlite_bot.click_home(ActionId.HOME_OPEN_SETTINGS)
    view = sqlite_bot.wait("views.open")[0].params["view"]  # Ana's modal …
    sqlite_bot.submit(view, settings_values(), user="U0BOB")  # … submitted by Bob
    refusal = sqlite_bot.wait("chat.postEphemeral")[0].params
    assert refusal["user"] == "U0BOB" and "your own digest settings" in refusal["text"]
    assert digest_of(sqlite_bot, User, User.id == "u-ana") == {}
    assert digest_of(sqlite_bot, User, User.id == "u-bob") == {}


# -------------------------------------------------------------------- org settings


def org_values(
    enabled: bool = True,
    max_per_lane: str = "3",
    send_at: str = "09:15",
    automation: str = "autonomous",
) -> Any:
    return {
        "org_settings_automation": {
            "org_settings_automation": {"selected_option": {"value": automation}}
        },
        "org_settings_enabled": {
            "org_settings_enabled": {
                "type": "checkboxes",
                "selected_options": [{"value": "enabled"}] if enabled else [],
            }
        },
        "settings_sensitivity": {
            "settings_sensitivity": {"selected_option": {"value": "comprehensive"}}
        },
        "org_settings_max_per_lane": {
            "org_settings_max_per_lane": {"selected_option": {"value": max_per_lane}}
        },
        "settings_send_at": {"settings_send_at": {"selected_time": send_at}},
    }


def test_an_admin_edits_the_org_digest_settings(bot: Bot) -> None:
    home = open_home(bot, "U0ADA")
    assert "Edit org settings" in json.dumps(home)
    bot.click_home(ActionId.HOME_OPEN_ORG_SETTINGS, user="U0ADA")
    view = bot.wait("views.open")[0].params["view"]
    assert view["callback_id"] == CallbackId.ORG_SETTINGS_MODAL

    bad = bot.submit(view, org_values(max_per_lane="99", send_at="7"), user="U0ADA").json()
    assert set(bad["errors"]) == {"org_settings_max_per_lane", "settings_send_at"}

    bot.submit(view, org_values(enabled=False), user="U0ADA")
    published(bot, 2)
    assert digest_of(bot, Org, Org.id.is_not(None)) == {
        "enabled": False,
        "sensitivity": "comprehensive",
        "max_per_lane": 3,
        "send_at": "09:15",
    }
    [(actor, subject, details)] = bot.audit("settings.org")
    assert (actor, subject) == ("u-ada", "org") and details["after"]["enabled"] is False
    # The automation level of the action policy is the org's too.
    assert (details["before"]["automation_level"], details["after"]["automation_level"]) == (
        "assisted",
        "autonomous",
    )
    with bot.engine.connect() as conn:
        assert conn.execute(select(Org.automation_level)).scalar() == "autonomous"
    home = published(bot, 2)
    assert "*Automation level*\\nAutonomous" in json.dumps(home)


def test_admins_see_how_many_messages_were_not_sent(bot: Bot) -> None:
    assert "home_outbox" not in json.dumps(open_home(bot, "U0ADA"))  # nothing to say
    with bot.engine.begin() as conn:
        for n, status in enumerate(("failed", "parked", "unknown", "sent", "pending", "claimed")):
            key = f"test:{n}"
            enqueue(conn, Message(key, Kind.POST, "C0SPEC", {"text": "Hi"}), NOW)
            conn.execute(
                update(OutboxMessage).where(OutboxMessage.key == key).values(status=status)
            )
    home = open_home(bot, "U0ADA")
    [line] = [b for b in home["blocks"] if b.get("block_id") == "home_outbox"]
    assert "*3 messages not sent*" in json.dumps(line)
    assert "followup-bot outbox" in json.dumps(line)
    for user in ("U0ANA", "U0MGR"):  # a CSM, a manager: not theirs to fix
        home = open_home(bot, user)
        assert "My digest settings" in json.dumps(home)  # their own home, with nothing of it
        assert "home_outbox" not in json.dumps(home) and "not sent" not in json.dumps(home)


def test_only_admins_touch_the_org_settings(sqlite_bot: Bot) -> None:
    open_home(sqlite_bot, "U0ADA")
    sqlite_bot.click_home(ActionId.HOME_OPEN_ORG_SETTINGS, user="U0ADA")
    view = sqlite_bot.wait("views.open")[0].params["view"]
    # Mia (a manager) got hold of the button and of the modal: both refused.
    sqlite_bot.fake.home["U0MGR"] = sqlite_bot.fake.home["U0ADA"]
    sqlite_bot.click_home(ActionId.HOME_OPEN_ORG_SETTINGS, user="U0MGR")
    [refusal] = sqlite_bot.wait("chat.postEphemeral")
    assert "Only an admin" in refusal.params["text"]
    assert refusal.params["channel"] == "D0MGR"  # the DM: no response_url
    answer = sqlite_bot.submit(view, org_values(), user="U0MGR")
    assert json.loads(answer.body)["response_action"] == "update"  # the modal says so
    assert "Only an admin" in answer.body
    assert len(sqlite_bot.fake.calls_to("views.open")) == 1
    assert sqlite_bot.audit("settings.org") == []
