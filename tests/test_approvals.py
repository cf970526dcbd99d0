"""Approvals in the approvals channel (issue 19), through real scheduler rounds, the fake Slack
Web API and signed clicks into the served app, on SQLite and PostgreSQL: each pending action is
posted once (account, action, rationale, whom it is for); only the CSM's manager or an admin
decides, anyone else is told why; of two clicks at once exactly one decides and the action runs
once, the other is told who decided; a rejection asks why; the message shows the decision; one
reminder in thread after a business day; no approvals channel, a channel the bot is not in, a
stale click and an account that changed are each said clearly and leave nothing half done."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update

from bot.db.models import Account, ActionRun, AuditLog, Org, OutboxMessage
from bot.ids import ActionId, BlockId
from bot.service.rounds import RoundReport, run_round
from bot.settings import Settings
from bot.slack.client import make_client
from bot.slack.delivery import Pacing
from tests.bot_harness import Bot, running_bot
from tests.portfolio import NOW, Portfolio, ny
from tests.slack_fakes import TOKEN, FakeSlack
from tests.test_action_execution import TROUBLED

FAST = Pacing(per_channel=0, per_call=0)
APPROVALS = "C0APPROVALS"
CHECKIN = "send_checkin_email"


def portfolio(channel: str | None = APPROVALS, *, manager_slack: str | None = "U0MGR") -> Portfolio:
    """Acme Corp (Ana's, SMB, in trouble) at the autonomous level: a check-in email, a
    discount request … wait for approval. Mia manages Ana's team; Max manages another team;
    Ada is an admin; Bob is another CSM."""
    p = Portfolio()
    p.data["org"].update(automation_level="autonomous", approvals_channel=channel)
    p.data["users"][0]["slack_user_id"] = manager_slack
    p.data["teams"].append({"id": "t-2", "name": "Other", "manager": "u-max"})
    p.add(
        "users", id="u-max", name="Max Manager", role="manager", team="t-2", slack_user_id="U0MAX"
    )
    p.add("users", id="u-ada", name="Ada Admin", role="admin", slack_user_id="U0ADA")
    p.add("users", id="u-bob", name="Bob CSM", role="csm", team="t-1", slack_user_id="U0BOB")
    p.account("acc-1", name="Acme <!channel> Corp", segment="smb", **TROUBLED)
    p.add(
        "contacts",
        id="c-1",
        account="acc-1",
        name="Carla Champion",
        email="carla@acme.test",
        role="champion",
    )
    return p


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        for sid in ("U0ANA", "U0BOB", "U0MGR", "U0MAX", "U0ADA", "U0STRANGER"):
            server.add_user(sid)
        yield server


@pytest.fixture
def bot(db_url: str, tmp_path: Path, fake: FakeSlack) -> Iterator[Bot]:
    with running_bot(db_url, tmp_path, fake, portfolio(), swept=False) as served:
        yield served


def tick(engine: Engine, fake: FakeSlack, at: datetime = NOW) -> RoundReport:
    """A scheduler round; ``at`` is the clock (when messages are sent)."""
    client = make_client(Settings(SLACK_BOT_TOKEN=TOKEN, SLACK_API_URL=fake.base_url))
    return run_round(engine, client, NOW, pacing=FAST, clock=lambda: at)


def runs(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        rows = conn.execute(select(ActionRun.__table__).where(ActionRun.account_id == "acc-1"))
        return {r.action: r for r in rows}


def run_of(engine: Engine, action: str = CHECKIN) -> Any:
    return runs(engine)[action]


def requests(fake: FakeSlack) -> dict[int, dict[str, Any]]:
    """The approval requests in the approvals channel now, by run (copies)."""
    out = {}
    for (channel, _), message in list(fake.messages.items()):
        first = str((message.get("blocks") or [{}])[0].get("block_id", ""))
        if channel == APPROVALS and first.startswith(f"{BlockId.APPROVAL}:"):
            out[int(first.split(":")[1])] = copy.deepcopy(message)
    return out


def text_of(message: dict[str, Any]) -> str:
    return json.dumps(message["blocks"])


def told(bot: Bot, count: int = 1) -> list[str]:
    return [str(c.params.get("text")) for c in bot.wait("response_url", count)]


def audit(engine: Engine, action: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(AuditLog.__table__).where(AuditLog.action == action)))


def executed(engine: Engine, run_id: int) -> list[Any]:
    return [a for a in audit(engine, "action.executed") if a.details["run"] == run_id]


# ------------------------------------------------------------------ the request


def test_each_pending_approval_is_posted_once_with_what_why_and_for_whom(
    bot: Bot, fake: FakeSlack
) -> None:
    report = tick(bot.engine, fake)
    pending = {r.id for r in runs(bot.engine).values() if r.status == "pending_approval"}
    assert {CHECKIN, "create_discount_request"} <= {
        a for a, r in runs(bot.engine).items() if r.status == "pending_approval"
    }
    assert set(report.approvals.queued) == pending
    posted = requests(fake)
    assert set(posted) == pending
    message = posted[run_of(bot.engine).id]
    text = text_of(message)
    assert "Send a check-in email" in text and "Acme &lt;!channel&gt; Corp" in text
    assert "<!channel>" not in text  # customer text pings nobody
    assert "churn_risk" in text  # the rationale
    assert "Ana CSM" in text and "<@U0MGR>" in text  # whom it is for, who decides
    assert {e.get("action_id") for b in message["blocks"] for e in b.get("elements", [])} >= {
        ActionId.APPROVAL_APPROVE,
        ActionId.APPROVAL_REJECT,
    }
    assert "Approvals: " in "\n".join(report.lines())

    again = tick(bot.engine, fake)
    assert again.approvals.queued == [] and len(requests(fake)) == len(pending)


def test_a_manager_without_slack_is_named_and_an_admin_can_decide(
    sqlite_url: str, tmp_path: Path, fake: FakeSlack
) -> None:
    with running_bot(sqlite_url, tmp_path, fake, portfolio(manager_slack=None), swept=False) as bot:
        tick(bot.engine, fake)
        message = requests(fake)[run_of(bot.engine).id]
        assert "Mia Manager is not in Slack" in text_of(message)
        bot.click(message, ActionId.APPROVAL_APPROVE, user="U0ADA")
        bot.wait("chat.update")
        assert run_of(bot.engine).status == "executed"


# ------------------------------------------------------------------ who decides

ROLES = {
    "U0ANA": "is your account",  # the CSM themself
    "U0MAX": "Only Ana CSM's manager or an admin",  # another team's manager
    "U0BOB": "Only Ana CSM's manager or an admin",  # another CSM
    "U0STRANGER": "not set up",
    "U0MGR": None,  # Ana's manager
    "U0ADA": None,  # an admin
}


@pytest.mark.parametrize("user", sorted(ROLES))
def test_only_the_csms_manager_or_an_admin_decides(bot: Bot, fake: FakeSlack, user: str) -> None:
    tick(bot.engine, fake)
    run = run_of(bot.engine)
    message = requests(fake)[run.id]
    bot.click(message, ActionId.APPROVAL_APPROVE, user=user)
    refusal = ROLES[user]
    if refusal is not None:
        [said] = told(bot)
        assert refusal in said
        bot.settle()
        assert run_of(bot.engine).status == "pending_approval"
        assert fake.calls_to("chat.update") == [] and fake.calls_to("views.open") == []
        assert audit(bot.engine, "approval.approved") == []
        return
    bot.wait("chat.update")
    decided = run_of(bot.engine)
    assert decided.status == "executed" and decided.decided_at == NOW
    approver = {"U0MGR": ("u-mgr", "Mia Manager"), "U0ADA": ("u-ada", "Ada Admin")}[user]
    assert decided.decided_by == approver[0]
    updated = requests(fake)[run.id]
    assert f"Approved* by {approver[1]}" in text_of(updated) and "done" in text_of(updated)
    assert "approval_approve" not in text_of(updated)  # the buttons are gone
    [entry] = executed(bot.engine, run.id)
    assert entry.actor == approver[0] and entry.details["approved_by"] == approver[0]


def test_two_approvals_at_once_decide_once_and_run_once(bot: Bot, fake: FakeSlack) -> None:
    tick(bot.engine, fake)
    run = run_of(bot.engine)
    message = requests(fake)[run.id]
    start = threading.Barrier(2)

    def click(user: str) -> None:
        start.wait()
        bot.click(message, ActionId.APPROVAL_APPROVE, user=user)

    threads = [threading.Thread(target=click, args=(u,)) for u in ("U0MGR", "U0ADA")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [loser_told] = told(bot)
    bot.wait("chat.update", 2)
    bot.settle()
    decided = run_of(bot.engine)
    assert decided.status == "executed"
    winner = {"u-mgr": "Mia Manager", "u-ada": "Ada Admin"}[decided.decided_by]
    assert f"Already decided — :white_check_mark: Approved by {winner}" in loser_told
    assert len(audit(bot.engine, "approval.approved")) == 1
    assert len(executed(bot.engine, run.id)) == 1
    tick(bot.engine, fake)  # the draft DM goes out once
    drafts = [m for m in fake.dms("U0ANA") if "Check-in email draft" in str(m["text"])]
    assert len(drafts) == 1


def test_a_rejection_asks_why_and_shows_it(bot: Bot, fake: FakeSlack) -> None:
    tick(bot.engine, fake)
    run = run_of(bot.engine)
    bot.click(requests(fake)[run.id], ActionId.APPROVAL_REJECT, user="U0MGR")
    modal = bot.wait("views.open")[0].params["view"]
    assert "Reject" in json.dumps(modal)

    empty = bot.submit(modal, {}, user="U0MGR")
    assert empty.json()["response_action"] == "errors"
    assert run_of(bot.engine).status == "pending_approval"

    values = {
        BlockId.APPROVAL_REJECT_REASON: {
            ActionId.APPROVAL_REJECT_REASON: {
                "type": "plain_text_input",
                "value": "Called them <today>",
            }
        }
    }
    answer = bot.submit(modal, values, user="U0MGR")
    assert answer.status == 200
    bot.wait("chat.update")
    rejected = run_of(bot.engine)
    assert (rejected.status, rejected.decided_by) == ("rejected", "u-mgr")
    assert rejected.decision_reason == "Called them <today>"
    updated = text_of(requests(fake)[run.id])
    assert "Rejected* by Mia Manager" in updated and "Called them &lt;today&gt;" in updated
    assert executed(bot.engine, run.id) == []
    [entry] = audit(bot.engine, "approval.rejected")
    assert entry.actor == "u-mgr" and entry.details["reason"] == "Called them <today>"
    assert tick(bot.engine, fake).actions.outcomes == []  # not proposed again


def test_a_click_on_an_already_decided_approval_says_who_decided(bot: Bot, fake: FakeSlack) -> None:
    tick(bot.engine, fake)
    run = run_of(bot.engine)
    stale = requests(fake)[run.id]  # as posted, with its buttons
    bot.click(stale, ActionId.APPROVAL_APPROVE, user="U0MGR")
    bot.wait("chat.update")
    bot.click(stale, ActionId.APPROVAL_APPROVE, user="U0ADA")
    bot.click(stale, ActionId.APPROVAL_REJECT, user="U0ADA")
    said = told(bot, 2)
    assert all("Already decided" in s and "Approved by Mia Manager" in s for s in said)
    assert fake.calls_to("views.open") == []
    assert len(executed(bot.engine, run.id)) == 1
    assert run_of(bot.engine).decided_by == "u-mgr"


def test_an_approval_the_account_no_longer_calls_for_is_refused_and_said(
    bot: Bot, fake: FakeSlack
) -> None:
    tick(bot.engine, fake)
    run = run_of(bot.engine, "create_discount_request")
    with bot.engine.begin() as conn:  # the account recovered since
        conn.execute(
            update(Account)
            .where(Account.id == "acc-1")
            .values(usage_trend=0.1, adoption=0.9, open_issues=0, csat=4.8, renewal_date=None)
        )
    bot.click(requests(fake)[run.id], ActionId.APPROVAL_APPROVE, user="U0MGR")
    bot.wait("chat.update")
    refused = run_of(bot.engine, "create_discount_request")
    assert (refused.status, refused.decided_by) == ("refused", "u-mgr")
    assert "not run: the account no longer calls for it" in text_of(requests(fake)[run.id])
    [entry] = [a for a in audit(bot.engine, "action.refused") if a.details["run"] == run.id]
    assert entry.actor == "u-mgr"


# ------------------------------------------------------------------ the reminder


def reminders(fake: FakeSlack) -> list[dict[str, Any]]:
    return [
        c.params
        for c in fake.calls_to("chat.postMessage", ok=True)
        if c.params["channel"] == APPROVALS and c.params.get("thread_ts")
    ]


@pytest.mark.parametrize(
    ("posted", "not_yet", "due"),
    [
        # Monday 15:00 → Tuesday 14:00 is 7 business hours; 15:00 is the 8th.
        (ny(2026, 11, 16, 15), [ny(2026, 11, 16, 23), ny(2026, 11, 17, 14)], ny(2026, 11, 17, 15)),
        # Friday 15:00: nothing over the weekend, nor Monday morning.
        (
            ny(2026, 11, 20, 15),
            [ny(2026, 11, 21, 12), ny(2026, 11, 22, 20), ny(2026, 11, 23, 14, 59)],
            ny(2026, 11, 23, 15),
        ),
    ],
)
def test_one_reminder_in_thread_after_a_business_day(
    bot: Bot, fake: FakeSlack, posted: datetime, not_yet: list[datetime], due: datetime
) -> None:
    tick(bot.engine, fake, posted)
    parents = requests(fake)
    for at in not_yet:
        assert tick(bot.engine, fake, at).approvals.reminders == []
    assert reminders(fake) == []
    report = tick(bot.engine, fake, due)
    assert sorted(report.approvals.reminders) == sorted(parents)
    sent = reminders(fake)
    assert sorted(p["thread_ts"] for p in sent) == sorted(m["ts"] for m in parents.values())
    assert all("still waiting for a decision" in p["text"] for p in sent)
    assert "<@U0MGR>" in json.dumps(sent[0]["blocks"])
    tick(bot.engine, fake, due + timedelta(days=3))
    assert len(reminders(fake)) == len(parents)  # once


def test_a_reminder_whose_answer_was_lost_is_posted_once(bot: Bot, fake: FakeSlack) -> None:
    """The reminder went into the thread but Slack's answer was lost: the drain finds it in the
    thread (conversations.replies; a thread's replies are not in the channel's history) and
    records it instead of posting it again."""
    tick(bot.engine, fake, ny(2026, 11, 16, 15))
    parents = requests(fake)
    fake.fail("chat.postMessage", "drop")
    report = tick(bot.engine, fake, ny(2026, 11, 17, 15))
    assert sorted(report.approvals.reminders) == sorted(parents)
    assert fake.calls_to("conversations.replies", ok=True)
    tick(bot.engine, fake, ny(2026, 11, 20, 15))
    in_threads = [
        m
        for (channel, _), m in list(fake.messages.items())
        if channel == APPROVALS and m.get("thread_ts")
    ]
    assert sorted(m["thread_ts"] for m in in_threads) == sorted(
        m["ts"] for m in parents.values()
    )  # one reminder in each thread
    with bot.engine.connect() as conn:
        rows = conn.execute(
            select(OutboxMessage.status, OutboxMessage.ts).where(
                OutboxMessage.key.like("approval-reminder:%")
            )
        ).all()
    assert sorted(rows) == sorted(("sent", m["ts"]) for m in in_threads)


def test_a_decided_approval_gets_no_reminder(bot: Bot, fake: FakeSlack) -> None:
    tick(bot.engine, fake)
    run = run_of(bot.engine)
    bot.click(requests(fake)[run.id], ActionId.APPROVAL_APPROVE, user="U0MGR")
    bot.wait("chat.update")
    report = tick(bot.engine, fake, NOW + timedelta(days=2))
    assert run.id not in report.approvals.reminders and report.approvals.reminders


# ------------------------------------------------------------------ bad set-ups


def test_without_an_approvals_channel_the_runs_wait_and_it_is_said_once(
    sqlite_url: str, tmp_path: Path, fake: FakeSlack
) -> None:
    with running_bot(sqlite_url, tmp_path, fake, portfolio(channel=None), swept=False) as bot:
        report = tick(bot.engine, fake)
        pending = {r.id for r in runs(bot.engine).values() if r.status == "pending_approval"}
        assert pending and set(report.approvals.no_channel) == pending
        assert "no approvals channel is set" in "\n".join(report.lines())
        tick(bot.engine, fake)
        assert len(audit(bot.engine, "approval.no_channel")) == len(pending)  # once per run
        assert [c for c in fake.calls_to("chat.postMessage") if c.params["channel"][0] == "C"] == []
        assert {r.status for r in runs(bot.engine).values() if r.id in pending} == {
            "pending_approval"
        }
        with bot.engine.begin() as conn:
            conn.execute(update(Org).values(approvals_channel=APPROVALS))
        later = tick(bot.engine, fake)
        assert set(later.approvals.queued) == pending and set(requests(fake)) == pending


def test_a_channel_the_bot_is_not_in_is_reported_and_tried_again(bot: Bot, fake: FakeSlack) -> None:
    with bot.engine.begin() as conn:
        conn.execute(update(Org).values(approvals_channel=None))
    tick(bot.engine, fake)  # the actions and their DMs; the approvals wait
    pending = {r.id for r in runs(bot.engine).values() if r.status == "pending_approval"}
    with bot.engine.begin() as conn:
        conn.execute(update(Org).values(approvals_channel=APPROVALS))
    fake.fail("chat.postMessage", "not_in_channel", times=len(pending))
    report = tick(bot.engine, fake)
    assert {key for key, _ in report.outbox.failed} == {f"approval:{r}" for r in pending}
    assert "not_in_channel: the bot is not a member of the channel (invite it)" in "\n".join(
        report.lines()
    )
    assert len(audit(bot.engine, "outbox.failed")) == len(pending)
    retry = tick(bot.engine, fake, NOW + timedelta(minutes=1))
    assert {r for r, _ in retry.approvals.requeued} == pending
    assert "tried again in an hour" in "\n".join(retry.lines())
    assert requests(fake) == {}
    tick(bot.engine, fake, NOW + timedelta(hours=1, minutes=2))  # invited since
    assert set(requests(fake)) == pending
    with bot.engine.connect() as conn:
        sent = conn.execute(
            select(func.count()).where(
                OutboxMessage.key.like("approval:%"), OutboxMessage.status == "sent"
            )
        ).scalar()
    assert sent == len(pending)


def test_an_approval_left_undone_by_a_stopped_process_runs_in_the_next_round(
    bot: Bot, fake: FakeSlack
) -> None:
    tick(bot.engine, fake)
    run = run_of(bot.engine)
    with bot.engine.begin() as conn:  # decided, then the process stopped before running it
        conn.execute(
            update(ActionRun)
            .where(ActionRun.id == run.id)
            .values(status="approved", decided_by="u-mgr", decided_at=NOW)
        )
    report = tick(bot.engine, fake)
    assert [(o.action, o.status) for o in report.approvals.executed] == [(CHECKIN, "executed")]
    assert run_of(bot.engine).status == "executed"
    assert len(executed(bot.engine, run.id)) == 1
    assert "Approved* by Mia Manager" in text_of(requests(fake)[run.id])
    assert tick(bot.engine, fake).approvals.executed == []
