"""Executing the recommended actions (issue 19) through a real tick, against the fake Slack Web
API and a local webhook receiver, on SQLite and PostgreSQL: each action once per account, action
and evidence — also with two ticks at once — each in the audit log, its messages sent once; gated
actions stored for approval and executed once approved; a refused action tried again once it can
run; the check-in draft's "Mark sent" recording an outbound email; ``followup-bot tick``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from bot.db.models import (
    Account,
    AccountRollup,
    ActionRun,
    Activity,
    AuditLog,
    DiscountRequest,
    HealthScoreUpdate,
    Org,
    SequenceMembership,
    Task,
)
from bot.db.session import make_engine
from bot.engine.actions import plan_actions
from bot.engine.policy import Status
from bot.ids import ActionId
from bot.service.actions import execute_approved
from bot.service.checkin import mark_checkin_sent
from bot.service.drain import drain
from bot.service.rounds import RoundReport as TickReport
from bot.service.rounds import run_round as run_tick
from bot.service.webhook import WebhookConfig, verify
from bot.settings import Settings
from bot.slack.client import make_client
from bot.slack.delivery import Pacing
from tests.bot_harness import running_bot
from tests.cli import run_cli
from tests.portfolio import NOW, Portfolio, iso, load
from tests.slack_fakes import TOKEN, FakeSlack
from tests.webhook_receiver import Receiver

FAST = Pacing(per_channel=0, per_call=0)
TROUBLED = {
    "usage_trend": -0.35,
    "adoption": 0.3,
    "open_issues": 6,
    "csat": 2.8,
    "renewal_date": (NOW + timedelta(days=20)).date().isoformat(),
}
SPECIALISTS = "C0SPEC"


def portfolio(specialists: str | None = SPECIALISTS) -> Portfolio:
    p = Portfolio()
    p.data["org"].update(automation_level="autonomous", specialists_channel=specialists)
    p.add("users", id="u-bob", name="Bob CSM", role="csm", team="t-1", slack_user_id="U0BOB")
    p.add("users", id="u-gone", name="Gone CSM", role="csm", team="t-1", active=False)
    p.account("acc-1", name="Acme Corp", segment="smb", **TROUBLED)
    p.add(
        "contacts",
        id="c-1",
        account="acc-1",
        name="Carla Champion",
        email="carla@acme.test",
        role="champion",
    )
    p.account("acc-gone", name="Left Behind", segment="smb", csm="u-gone", **TROUBLED)
    return p


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        for sid in ("U0ANA", "U0BOB", "U0MGR"):
            server.add_user(sid)
        yield server


def _engine(url: str, tmp_path: Path, p: Portfolio) -> Iterator[Engine]:
    load(url, p, tmp_path)
    eng = make_engine(url)
    yield eng
    eng.dispose()


@pytest.fixture
def engine(db_url: str, tmp_path: Path) -> Iterator[Engine]:
    yield from _engine(db_url, tmp_path, portfolio())


@pytest.fixture
def sqlite_engine(sqlite_url: str, tmp_path: Path) -> Iterator[Engine]:
    yield from _engine(sqlite_url, tmp_path, portfolio())


def client_for(fake: FakeSlack) -> Any:
    return make_client(Settings(SLACK_BOT_TOKEN=TOKEN, SLACK_API_URL=fake.base_url))


def outbox_posts(fake: FakeSlack) -> list[Any]:
    """The posts of the outbox but the daily DMs (the round also sends the daily DMs due)."""
    return [
        c
        for c in fake.calls_to("chat.postMessage", ok=True)
        if not str(
            ((c.params.get("metadata") or {}).get("event_payload") or {}).get("key", "daily:")
        ).startswith("daily:")
    ]


def tick(engine: Engine, fake: FakeSlack, **kwargs: Any) -> TickReport:
    return run_tick(engine, client_for(fake), NOW, pacing=FAST, **kwargs)


def auto_actions(engine: Engine, account: str) -> set[str]:
    plan = plan_actions(engine, account, NOW)
    return {r.action.id for r in plan.recommendations if r.status is Status.AUTO}


def runs(engine: Engine) -> dict[tuple[str, str], Any]:
    with engine.connect() as conn:
        return {
            (r.account_id, r.action): r for r in conn.execute(select(ActionRun.__table__)).all()
        }


def audit(engine: Engine, action: str) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(AuditLog.__table__).where(AuditLog.action == action).order_by(AuditLog.id)
            )
        )


def posts(fake: FakeSlack, channel: str) -> list[dict[str, Any]]:
    return [c.params for c in outbox_posts(fake) if c.params["channel"] == channel]


def run_id(engine: Engine, account: str, action: str) -> int:
    return int(runs(engine)[(account, action)].id)


# ---------------------------------------------------------------- automatic ones


def test_a_tick_executes_each_auto_action_once(engine: Engine, fake: FakeSlack) -> None:
    wanted = auto_actions(engine, "acc-1")
    assert {"notify_owner_slack", "schedule_checkpoint_7d", "escalate_to_specialist"} <= wanted
    report = tick(engine, fake)
    done = {o.action for o in report.actions.outcomes if o.account == "acc-1"}
    assert {o.status for o in report.actions.outcomes if o.account == "acc-1"} == {
        "executed",
        "pending_approval",
    }
    executed = {(r.account_id, r.action) for r in runs(engine).values() if r.status == "executed"}
    assert {a for acc, a in executed if acc == "acc-1"} == wanted
    pending = {a for (acc, a), r in runs(engine).items() if r.status == "pending_approval"}
    assert {"send_checkin_email", "create_discount_request", "reassign_ownership"} <= pending
    assert done >= wanted

    # What a CSM notices: a heads-up DM, a post for the specialists, a 7-day checkpoint task,
    # a recorded health score, the account in the nurture sequence.
    heads_up = sorted(p["text"] for p in posts(fake, "U0ANA") if "Heads-up" in p["text"])
    assert heads_up == [  # Left Behind's CSM is gone: the fallback CSM hears of it
        "Heads-up on Acme Corp: high priority",
        "Heads-up on Left Behind: high priority",
    ]
    specialist = sorted(p["text"] for p in posts(fake, SPECIALISTS))
    assert "Acme Corp needs a specialist (high priority)" in specialist
    with engine.connect() as conn:
        tasks = {t.title: t for t in conn.execute(select(Task.__table__)).all()}
        scores = conn.execute(select(HealthScoreUpdate.__table__)).all()
        sequences = conn.execute(select(SequenceMembership.sequence)).scalars().all()
    checkpoint = tasks["Checkpoint with Acme Corp"]
    assert checkpoint.auto_created and checkpoint.assignee_id == "u-ana"
    assert checkpoint.due_at == NOW + timedelta(days=7)
    if "create_support_task" in wanted:
        assert "Work through Acme Corp's open support issues" in tasks
    if "update_csm_health_score" in wanted:
        [score] = [s for s in scores if s.account_id == "acc-1"]
        assert score.tier and score.score == 90  # the assessment's risk points
    assert "low_adoption_nurture" in sequences

    # Each execution in the audit log: what, for whom, automatic, when.
    executed_audit = audit(engine, "action.executed")
    assert {(a.subject, a.details["action"]) for a in executed_audit} == {
        (f"account:{acc}", act) for acc, act in executed
    }
    assert all(a.details["automatic"] and a.actor == "bot" and a.at == NOW for a in executed_audit)
    assert {a.details["action"] for a in audit(engine, "action.pending_approval")} >= {
        "send_checkin_email"
    }

    calls = len(fake.calls_to("chat.postMessage"))
    again = tick(engine, fake)
    assert again.actions.outcomes == [] and again.actions.unchanged > 0
    assert len(fake.calls_to("chat.postMessage")) == calls
    assert len(audit(engine, "action.executed")) == len(executed_audit)


def test_two_ticks_at_once_execute_and_send_each_action_once(
    engine: Engine, fake: FakeSlack
) -> None:
    fake.delay("chat.postMessage", 0.05)
    start = threading.Barrier(2)
    reports: list[TickReport] = []

    def one() -> None:
        start.wait()
        reports.append(tick(engine, fake))

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(reports) == 2
    executed = [o for r in reports for o in r.actions.outcomes if o.status == "executed"]
    assert len(executed) == len({(o.account, o.action) for o in executed})
    assert len(audit(engine, "action.executed")) == len(executed)
    keys = [c.params["metadata"]["event_payload"]["key"] for c in outbox_posts(fake)]
    assert keys and len(keys) == len(set(keys))


def test_without_a_specialists_channel_the_escalation_is_refused_until_one_is_set(
    sqlite_url: str, tmp_path: Path, fake: FakeSlack
) -> None:
    engine = next(_engine(sqlite_url, tmp_path, portfolio(specialists=None)))
    report = tick(engine, fake)
    refused = [o for o in report.actions.outcomes if o.status == "refused"]
    assert {(o.account, o.action) for o in refused} == {
        ("acc-1", "escalate_to_specialist"),
        ("acc-gone", "escalate_to_specialist"),
    }
    assert all("no specialists_channel" in (o.detail or "") for o in refused)
    entries = audit(engine, "action.refused")
    assert len(entries) == 2
    assert all("no specialists_channel" in e.details["reason"] for e in entries)
    assert tick(engine, fake).actions.outcomes == []  # said once
    assert posts(fake, SPECIALISTS) == []
    with engine.begin() as conn:
        conn.execute(update(Org).values(specialists_channel=SPECIALISTS))
    later = tick(engine, fake)
    assert [(o.action, o.status) for o in later.actions.outcomes] == [
        ("escalate_to_specialist", "executed")
    ] * 2
    assert len(posts(fake, SPECIALISTS)) == 2


def test_the_webhook_reports_every_executed_action_signed(engine: Engine, fake: FakeSlack) -> None:
    with Receiver() as receiver:
        config = WebhookConfig(receiver.url, "s3cret")
        report = tick(engine, fake, webhook=config)
        executed = {
            (o.account, o.action) for o in report.actions.outcomes if o.status == "executed"
        }
        got = {(r.json["account"]["id"], r.json["action"]) for r in receiver.received}
        assert got == executed
        for r in receiver.received:
            h = r.headers
            assert verify(
                "s3cret",
                h["x-followup-timestamp"],
                r.body,
                h["x-followup-signature"],
                now=float(h["x-followup-timestamp"]),
            )
            assert r.json["automatic"] is True and r.json["approved_by"] is None
            assert r.json["id"] == h["x-followup-event"]
        tick(engine, fake, webhook=config)
        assert len(receiver.received) == len(executed)


# ---------------------------------------------------------------- once approved


def test_an_approved_check_in_is_a_draft_dm_and_mark_sent_records_the_email(
    engine: Engine, fake: FakeSlack
) -> None:
    tick(engine, fake)
    rid = run_id(engine, "acc-1", "send_checkin_email")
    outcome = execute_approved(engine, rid, "u-mgr", NOW)
    assert outcome.status == "executed"
    drain(engine, client_for(fake), pacing=FAST)
    [draft] = [p for p in posts(fake, "U0ANA") if "Check-in email draft" in p["text"]]
    text = str(draft["blocks"])
    assert "Carla Champion" in text and "carla@acme.test" in text
    [button] = [e for b in draft["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert button["action_id"] == ActionId.CHECKIN_MARK_SENT and button["value"] == str(rid)
    [entry] = [a for a in audit(engine, "action.executed") if a.details["run"] == rid]
    assert entry.actor == "u-mgr"
    assert entry.details["automatic"] is False and entry.details["approved_by"] == "u-mgr"
    assert runs(engine)[("acc-1", "send_checkin_email")].decided_by == "u-mgr"
    assert execute_approved(engine, rid, "u-mgr", NOW).detail == "already decided"

    clicked = NOW + timedelta(hours=2)
    reply = mark_checkin_sent(engine, client_for(fake), rid, "U0ANA", clicked)
    assert reply.message is not None
    assert "Marked sent by Ana CSM" in str(reply.message.to_dict()["blocks"])
    with engine.connect() as conn:
        [email] = conn.execute(
            select(Activity.__table__).where(Activity.source == "bot", Activity.kind == "email")
        ).all()
        rollup = conn.execute(
            select(AccountRollup.last_outbound_email_at).where(AccountRollup.account_id == "acc-1")
        ).scalar()
    assert (email.direction, email.user_id, email.at) == ("outbound", "u-ana", clicked)
    assert rollup == clicked
    mark_checkin_sent(engine, client_for(fake), rid, "U0ANA", clicked + timedelta(hours=1))
    with engine.connect() as conn:
        assert len(conn.execute(select(Activity.id).where(Activity.source == "bot")).all()) == 1
    assert len(audit(engine, "action.checkin_sent")) == 1


def test_an_approved_reassignment_moves_the_account_to_the_lowest_load_csm(
    engine: Engine, fake: FakeSlack
) -> None:
    tick(engine, fake)
    rid = run_id(engine, "acc-gone", "reassign_ownership")
    assert execute_approved(engine, rid, "u-mgr", NOW).status == "executed"
    with engine.connect() as conn:
        owner = conn.execute(select(Account.csm_id).where(Account.id == "acc-gone")).scalar()
    assert owner == "u-bob"  # Ana owns Acme Corp, Bob nothing
    drain(engine, client_for(fake), pacing=FAST)
    [told] = posts(fake, "U0BOB")
    assert "You now own Left Behind" in told["text"]
    assert "Gone CSM" in str(told["blocks"])


def test_an_approved_discount_request_is_a_record_and_a_task(
    engine: Engine, fake: FakeSlack
) -> None:
    tick(engine, fake)
    rid = run_id(engine, "acc-1", "create_discount_request")
    assert execute_approved(engine, rid, "u-mgr", NOW).status == "executed"
    with engine.connect() as conn:
        [request] = conn.execute(select(DiscountRequest.__table__)).all()
        task = conn.execute(select(Task.__table__).where(Task.id == request.task_id)).one()
    assert (request.account_id, request.status, request.requested_for) == ("acc-1", "open", "u-ana")
    assert task.title == "Prepare the discount request for Acme Corp" and task.status == "open"


# ---------------------------------------------------------------------- the CLI


def _tick_cli(fake: FakeSlack, url: str, **env: str) -> Any:
    base = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": fake.base_url}
    return run_cli("--database-url", url, "tick", "--as-of", iso(NOW), env={**base, **env})


def test_cli_tick_runs_actions_and_sends_once(
    sqlite_engine: Engine, sqlite_url: str, fake: FakeSlack
) -> None:
    done = _tick_cli(fake, sqlite_url)
    assert done.returncode == 0, done.stderr
    assert "Actions: " in done.stdout and " executed" in done.stdout
    assert "Acme Corp (acc-1): notify_owner_slack executed" in done.stdout
    assert "Outbox: " in done.stdout and "0 failed" in done.stdout
    sent = len(fake.calls_to("chat.postMessage"))
    again = _tick_cli(fake, sqlite_url)
    assert again.returncode == 0 and "Actions: 0 executed" in again.stdout
    assert len(fake.calls_to("chat.postMessage")) == sent


def test_cli_a_webhook_url_without_a_secret_is_a_clear_error(
    sqlite_engine: Engine, sqlite_url: str, fake: FakeSlack
) -> None:
    done = _tick_cli(fake, sqlite_url, ACTIONS_WEBHOOK_URL="https://example.com/hook")
    assert done.returncode == 1
    assert "ACTIONS_WEBHOOK_URL" in done.stderr and "ACTIONS_WEBHOOK_SECRET" in done.stderr
    assert "Traceback" not in done.stderr
    assert fake.calls == []


def test_clicking_mark_sent_in_slack_records_the_email_and_updates_the_draft(
    sqlite_url: str, tmp_path: Path, fake: FakeSlack
) -> None:
    """The button through the served app (signed block_actions over HTTP): the draft is
    replaced by who marked it sent, and the account has its outbound email."""
    with running_bot(sqlite_url, tmp_path, fake, portfolio(), swept=False) as bot:
        tick(bot.engine, fake)
        rid = run_id(bot.engine, "acc-1", "send_checkin_email")
        execute_approved(bot.engine, rid, "u-mgr", NOW)
        drain(bot.engine, client_for(fake), pacing=FAST)
        answer = bot.slack.block_action(
            ActionId.CHECKIN_MARK_SENT,
            value=str(rid),
            block_id=f"checkin_actions:{rid}",
            user_id="U0ANA",
            response_url=fake.response_url("mark"),
        )
        assert answer.status == 200
        [replaced] = fake.wait_for("response_url")
        assert replaced.params["replace_original"] in (True, "true")
        assert "Marked sent by Ana CSM" in str(replaced.params["blocks"])
        with bot.engine.connect() as conn:
            sent = conn.execute(
                select(AccountRollup.last_outbound_email_at).where(
                    AccountRollup.account_id == "acc-1"
                )
            ).scalar()
        assert sent == NOW


def test_an_approved_action_refused_for_now_runs_later_in_its_approvers_name(
    sqlite_url: str, tmp_path: Path, fake: FakeSlack
) -> None:
    p = portfolio(specialists=None)
    p.data["org"]["automation_level"] = "assisted"  # escalations need a manager's approval
    engine = next(_engine(sqlite_url, tmp_path, p))
    tick(engine, fake)
    rid = run_id(engine, "acc-1", "escalate_to_specialist")
    assert execute_approved(engine, rid, "u-mgr", NOW).status == "refused"  # no channel yet
    with engine.begin() as conn:
        conn.execute(update(Org).values(specialists_channel=SPECIALISTS))
    later = tick(engine, fake)
    assert ("acc-1", "escalate_to_specialist", "executed") in {
        (o.account, o.action, o.status) for o in later.actions.outcomes
    }
    [entry] = [e for e in audit(engine, "action.executed") if e.details["run"] == rid]
    assert entry.actor == "u-mgr" and entry.details["automatic"] is False


def test_an_automatic_action_refused_then_gated_waits_for_approval(
    sqlite_url: str, tmp_path: Path, fake: FakeSlack
) -> None:
    engine = next(_engine(sqlite_url, tmp_path, portfolio(specialists=None)))
    tick(engine, fake)  # autonomous: the escalation is automatic, and refused (no channel)
    with engine.begin() as conn:
        conn.execute(
            update(Org).values(specialists_channel=SPECIALISTS, automation_level="assisted")
        )
    later = tick(engine, fake)
    mine = {(o.account, o.action): o.status for o in later.actions.outcomes}
    assert mine[("acc-1", "escalate_to_specialist")] == "pending_approval"
    assert posts(fake, SPECIALISTS) == []


def test_between_the_hourly_rounds_only_changed_accounts_are_assessed(
    sqlite_url: str, tmp_path: Path, fake: FakeSlack
) -> None:
    engine = next(_engine(sqlite_url, tmp_path, portfolio(specialists=None)))
    client = client_for(fake)
    run_tick(engine, client, NOW, pacing=FAST)  # on the hour: every account (refused: no channel)
    with engine.begin() as conn:
        conn.execute(update(Org).values(specialists_channel=SPECIALISTS))
    minute = run_tick(engine, client, NOW + timedelta(minutes=1), pacing=FAST)
    assert minute.actions.outcomes == [] and minute.actions.unchanged == 0  # nothing assessed
    hour = run_tick(engine, client, NOW + timedelta(hours=1), pacing=FAST)
    assert ("acc-1", "escalate_to_specialist", "executed") in {
        (o.account, o.action, o.status) for o in hour.actions.outcomes
    }
