"""Meeting prep: the brief (attendees and roles, open obligations from the stored queue, recent
activity, health and pulses, talking points) in text, JSON and Slack blocks; ``followup-bot
prep`` end to end; ``/followup prep`` and the summary's Meeting prep button over real HTTP; and
the pre-meeting DM, sent once an hour before the meeting however many rounds run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.blocks.prep import prep_message
from bot.db.models import OutboxMessage
from bot.db.session import make_engine
from bot.engine.prep import UnknownMeeting, build_brief
from bot.engine.sweep import run_sweep
from bot.ids import ActionId, Command
from bot.service.prep_dm import prep_key, queue_prep_dms
from bot.service.rounds import run_round
from bot.settings import Settings
from bot.slack.client import make_client
from bot.slack.delivery import Pacing
from tests.bot_harness import Bot, add_fake_users, find_element, portfolio, running_bot
from tests.cli import run_cli
from tests.portfolio import NOW, Portfolio, iso, load
from tests.slack_fakes import TOKEN, FakeSlack

D = timedelta(days=1)
FAST = Pacing(per_channel=0, per_call=0)
QBR_AT = NOW + timedelta(minutes=30)


def prep_portfolio() -> Portfolio:
    """The harness portfolio; Globex (acc-1, Ana's) also has a champion, a QBR in 30 minutes,
    a health drop and pulses that disagree."""
    p = portfolio()
    p.add(
        "contacts",
        id="c-nina",
        account="acc-1",
        name="Nina Champion",
        title="VP Operations",
        role="champion",
    )
    p.add("contacts", id="c-bill", account="acc-1", name="Bill Payer", title="CFO", role="billing")
    p.add(
        "meetings",
        id="m-qbr",
        account="acc-1",
        title="Globex QBR",
        starts_at=iso(QBR_AT),
        attendees=["c-nina", "u-ana"],
    )
    p.add("health_scores", account="acc-1", at=iso(NOW - 10 * D), score=85)
    p.add("health_scores", account="acc-1", at=iso(NOW - D), score=62)
    globex = next(a for a in p.data["accounts"] if a["id"] == "acc-1")
    set_at = iso(NOW - 5 * D)
    globex["csm_pulse"] = {"score": 8, "note": "fine", "set_at": set_at, "set_by": "u-ana"}
    globex["ai_pulse"] = {"score": 3, "at": iso(NOW - 2 * D), "rationale": "Usage fell."}
    globex["renewal_date"] = (NOW + 40 * D).date().isoformat()
    return p


@pytest.fixture
def engine(db_url: str, tmp_path: Path) -> Iterator[Engine]:
    load(db_url, prep_portfolio(), tmp_path)
    eng = make_engine(db_url)
    run_sweep(eng, NOW)  # the stored queue the obligations come from
    yield eng
    eng.dispose()


def test_the_brief_holds_every_part(engine: Engine) -> None:
    brief = build_brief(engine, "acc-1", NOW)
    doc = brief.to_json()
    assert doc["account"] == "acc-1" and doc["meeting"]["id"] == "m-qbr"
    assert doc["attendees"] == [
        {
            "id": "c-nina",
            "name": "Nina Champion",
            "side": "theirs",
            "title": "VP Operations",
            "role": "champion",
        },
        {"id": "u-ana", "name": "Ana CSM", "side": "ours", "title": None, "role": "csm"},
    ]
    texts = [o["text"] for o in doc["open_obligations"]]
    assert any("Send Globex the renewal quote" in t for t in texts)
    assert ["t-acc-1"] in [o["refs"] for o in doc["open_obligations"]]
    assert [a["kind"] for a in doc["recent_activity"]] == ["call"]
    assert doc["health"] == {"score": 62, "tier": "needs_attention", "delta": -23}
    assert doc["pulses"]["csm"]["score"] == 8 and doc["pulses"]["ai"]["score"] == 3
    assert doc["pulses"]["ai"]["note"] == "Usage fell." and doc["pulses"]["divergent"] is True
    points = doc["talking_points"]
    assert points[:2] == [
        "Address first: Health fell from 85 (healthy) to 62 (needs attention).",
        "Address first: Task 'Send Globex the renewal quote' (high) overdue by 2 days.",
    ]
    assert any("next step from Weekly sync" in t and "Keep going" in t for t in points)
    assert not any("health fell" in t for t in points)  # the obligation says it already
    assert any("CSM Pulse 8 vs AI Pulse 3" in t for t in points)
    assert any(t.startswith("Renewal in 40 days") for t in points)
    text = brief.to_text()
    for part in ("Attendees:", "Open obligations:", "Recent activity", "Talking points:"):
        assert part in text
    assert "Nina Champion (VP Operations, champion; customer)" in text


def test_a_given_meeting_and_no_meeting(engine: Engine) -> None:
    later = next_sync_id(engine)
    brief = build_brief(engine, "acc-1", NOW, meeting_id=later)
    assert brief.meeting is not None and brief.meeting.title == "Next sync"
    assert brief.attendees == []  # that meeting lists nobody
    with pytest.raises(UnknownMeeting):
        build_brief(engine, "acc-2", NOW, meeting_id="m-qbr")  # Globex's, not Initech's
    after_all = build_brief(engine, "acc-1", NOW + 30 * D)
    assert after_all.meeting is None
    assert [a.id for a in after_all.attendees] == ["c-bill", "c-nina"]  # the account's contacts


def next_sync_id(engine: Engine) -> str:
    from bot.db.models import Meeting

    with engine.connect() as conn:
        return str(
            conn.execute(
                select(Meeting.id).where(
                    Meeting.account_id == "acc-1", Meeting.title == "Next sync"
                )
            ).scalar_one()
        )


def test_the_blocks_are_a_valid_message(engine: Engine) -> None:
    payload = prep_message(build_brief(engine, "acc-1", NOW), tz="America/New_York").to_dict()
    assert payload["text"].startswith("Meeting prep: Globex")
    blob = json.dumps(payload["blocks"])
    assert "Globex QBR" in blob and "Nina Champion" in blob and "Talking points" in blob
    assert len(payload["blocks"]) <= 50
    evil = build_brief(engine, "acc-1", NOW)
    evil.talking_points = ["Ping <!channel> and <@U0BOB> about *this*"]
    evil.account_name = "Globex <!here>"
    blob = json.dumps(prep_message(evil).to_dict())
    assert "<!channel>" not in blob and "<!here>" not in blob and "<@U0BOB>" not in blob


# --------------------------------------------------------------------------- CLI


@pytest.mark.parametrize("fmt", ["text", "json", "blocks"])
def test_cli_prep_in_every_format(sqlite_url: str, tmp_path: Path, fmt: str) -> None:
    load(sqlite_url, prep_portfolio(), tmp_path)
    base = ("--database-url", sqlite_url, "prep")
    done = run_cli(*base, "Globex", "--as-of", iso(NOW), "--format", fmt)
    assert done.returncode == 0, done.stderr
    if fmt == "text":
        assert "Meeting prep: Globex (acc-1)" in done.stdout and "Talking points:" in done.stdout
    elif fmt == "json":
        doc = json.loads(done.stdout)
        assert doc["meeting"]["id"] == "m-qbr" and doc["attendees"][0]["id"] == "c-nina"
    else:
        doc = json.loads(done.stdout)
        assert doc["blocks"][0]["type"] == "header" and "Globex" in doc["text"]
    wrong = run_cli(*base, "acc-2", "--meeting", "m-qbr", "--as-of", iso(NOW))
    assert wrong.returncode == 1 and "not one of Initech's" in wrong.stderr


# ------------------------------------------------------------------------ Slack


@pytest.fixture
def bot(sqlite_url: str, tmp_path: Path) -> Iterator[Bot]:
    with FakeSlack() as fake:
        add_fake_users(fake)
        with running_bot(sqlite_url, tmp_path, fake, prep_portfolio()) as served:
            yield served


def reply(bot: Bot, count: int = 1) -> dict[str, Any]:
    return bot.wait("response_url", count)[count - 1].params


def test_followup_prep_answers_with_the_brief(bot: Bot) -> None:
    bot.command(Command.FOLLOWUP, "prep globex")
    brief = reply(bot)
    assert brief["response_type"] == "ephemeral"
    assert brief["blocks"][0]["text"]["text"].endswith("Meeting prep: Globex")
    assert "Nina Champion" in json.dumps(brief["blocks"])
    bot.command(Command.FOLLOWUP, "prep zzyzx")
    assert "No account matches *zzyzx*" in json.dumps(reply(bot, 2))


def test_followup_prep_without_an_account_answers_with_the_usage(bot: Bot) -> None:
    answer = bot.command(Command.FOLLOWUP, "prep")
    assert "/followup prep ACCOUNT" in answer.body


def test_the_summary_has_a_meeting_prep_button(bot: Bot) -> None:
    bot.command(Command.ACCOUNT_SUMMARY, "globex")
    summary = reply(bot)
    find_element(summary["blocks"], ActionId.SUMMARY_PREP)
    bot.click(summary, ActionId.SUMMARY_PREP, ephemeral=True)
    brief = reply(bot, 2)
    assert brief["replace_original"] is False  # the summary stays
    assert "Meeting prep: Globex" in brief["blocks"][0]["text"]["text"]


# ------------------------------------------------------------ the pre-meeting DM


def slack_client(fake: FakeSlack) -> Any:
    return make_client(Settings(SLACK_BOT_TOKEN=TOKEN, SLACK_API_URL=fake.base_url))


def prep_dms(fake: FakeSlack, slack_id: str) -> list[dict[str, Any]]:
    return [m for m in fake.dms(slack_id) if "Meeting prep" in str(m.get("text"))]


def test_the_brief_is_dmed_an_hour_before_the_meeting_once(engine: Engine) -> None:
    with FakeSlack() as fake:
        add_fake_users(fake)
        client = slack_client(fake)
        early = run_round(engine, client, QBR_AT - timedelta(hours=2), pacing=FAST)
        assert early.prep.queued == [] and prep_dms(fake, "U0ANA") == []
        for minutes in (0, 1):  # two rounds inside the hour
            now = NOW + timedelta(minutes=minutes)
            run_round(engine, client, now, pacing=FAST, clock=lambda now=now: now)
        dms = prep_dms(fake, "U0ANA")
    assert len(dms) == 1
    blob = json.dumps(dms[0]["blocks"])
    assert "Your meeting starts soon" in blob and "Globex QBR" in blob
    with engine.connect() as conn:
        rows = conn.execute(select(OutboxMessage.key, OutboxMessage.status)).all()
    assert [tuple(r) for r in rows if r.key.startswith("prep:")] == [
        (prep_key("m-qbr", QBR_AT), "sent")
    ]


def test_a_second_queue_adds_nothing_and_a_started_meeting_is_not_prepped(engine: Engine) -> None:
    assert queue_prep_dms(engine, NOW).queued == ["m-qbr"]
    assert queue_prep_dms(engine, NOW + timedelta(minutes=5)).queued == []
    assert queue_prep_dms(engine, QBR_AT + timedelta(minutes=1)).queued == []
