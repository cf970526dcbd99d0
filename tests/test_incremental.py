"""The incremental sweep leaves exactly the queue a full sweep at the same time would.

The randomized test keeps two copies of one database. Both get the same changes — imports (new
emails, calls, meetings, tasks done, requests shipped, account and rules changes, exclusions),
clicks (done, snooze, dismiss, undo) and exclusions from the command line — while time moves on
by minutes to days, across business hours, days and weekends; after each step one copy runs
``sweep --incremental`` and the other a full sweep, and their stored queue (every card, whole)
and alert tables must be the same. Alert ids are numbered in the order each sweep inserts, so
cards name their alerts by key in the comparison.
"""

from __future__ import annotations

import json
import os
import random
import signal
import uuid
from collections.abc import Sequence
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.db.models import Alert, QueueCard
from bot.db.session import make_engine
from bot.engine import triage
from bot.engine.incremental import run_incremental_sweep
from bot.engine.queue import queue_as_of
from bot.engine.sweep import Swept, run_sweep
from bot.engine.sweep_pool import SweepPool
from bot.importer import import_file
from tests.conftest import _new_database_url
from tests.portfolio import iso

T0 = datetime(2026, 11, 13, 14, 10, tzinfo=UTC)  # a Friday, within New York business hours
ZONES = ("America/New_York", "Europe/London", "Asia/Tokyo", None)
POLICIES = ("strategic", "standard", "low_touch", "onboarding")


class World:
    """The random portfolio, as files for the importer."""

    def __init__(self, rng: random.Random, accounts: int) -> None:
        self.rng = rng
        self.accounts = [f"acc-{i:03d}" for i in range(accounts)]
        self.requests: list[str] = []
        self.tasks: list[tuple[str, str]] = []
        self.n = 0

    def id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}-{self.n}"

    def when(self, now: datetime, back_days: float, ahead_days: float) -> str:
        return iso(now + timedelta(days=self.rng.uniform(-back_days, ahead_days)))

    def first_file(self, now: datetime) -> dict[str, Any]:
        rng = self.rng
        users = [
            {"id": f"u-{i}", "name": f"CSM {i}", "role": "csm", "team": f"t-{i % 2}"}
            | ({"timezone": tz} if (tz := ZONES[i % len(ZONES)]) else {})
            for i in range(4)
        ]
        data: dict[str, Any] = {
            "format": "followup-portfolio/1",
            "org": {"name": "Twin Org", "timezone": "America/New_York", "fallback_csm": "u-0"},
            "teams": [
                {"id": "t-0", "name": "East"},
                {"id": "t-1", "name": "West", "rules": {"reply_sla_business_hours": 4}},
            ],
            "users": users,
            "accounts": [],
        }
        for acc in self.accounts:
            record: dict[str, Any] = {
                "id": acc,
                "name": f"Account {acc}",
                "csm": rng.choice(["u-0", "u-1", "u-2", "u-3", None]),
                "mrr": rng.choice([0, 500, 4000, 25000]),
                "touch_policy": rng.choice(POLICIES),
                "status": rng.choice(["active"] * 8 + ["churned", "onboarding"]),
                "created_at": self.when(now, 120, 1) if rng.random() < 0.8 else None,
                "renewal_date": (now + timedelta(days=rng.randint(-10, 200))).date().isoformat(),
            }
            if rng.random() < 0.4:
                record["csm_pulse"] = {
                    "score": rng.randint(1, 10),
                    "set_at": self.when(now, 100, 1),
                }
            if rng.random() < 0.4:
                record["ai_pulse"] = {"score": rng.randint(1, 10), "at": self.when(now, 40, 1)}
            data["accounts"].append(record)
            data.setdefault("contacts", []).append(
                {"id": f"c-{acc}", "account": acc, "name": f"Pat {acc}"}
            )
        for acc in self.accounts:
            for _ in range(rng.randint(0, 6)):
                self.activity(data, acc, now, back=70, ahead=0.2)
            for _ in range(rng.randint(0, 2)):
                self.meeting(data, acc, now)
            for _ in range(rng.randint(0, 2)):
                self.task(data, acc, now)
            if rng.random() < 0.5:
                for days_ago in sorted(rng.sample(range(1, 60), 2), reverse=True):
                    at = iso(now - timedelta(days=days_ago, hours=rng.random()))
                    score = rng.randint(20, 95)
                    data.setdefault("health_scores", []).append(
                        {"account": acc, "at": at, "score": score}
                    )
        for _ in range(len(self.accounts) // 3):
            self.request(data, now)
        data["exclusions"] = [
            {
                "account": rng.choice(self.accounts),
                "until": (now + timedelta(days=1)).date().isoformat(),
            }
        ]
        return data

    def activity(
        self, data: dict[str, Any], acc: str, now: datetime, back: float, ahead: float
    ) -> None:
        rng = self.rng
        kind = rng.choice(
            ["email", "email", "email", "call", "meeting", "note", "post_meeting_note"]
        )
        record: dict[str, Any] = {
            "id": self.id("a"),
            "account": acc,
            "at": self.when(now, back, ahead),
            "kind": kind,
        }
        if kind == "email":
            record["direction"] = rng.choice(["inbound", "inbound", "outbound"])
            record["thread"] = f"th-{acc}-{rng.randint(1, 3)}"
            record["subject"] = f"Subject {rng.randint(1, 9)}"
            record["contact"] = f"c-{acc}"
        elif kind == "call":
            record["direction"] = "outbound"
            record["outcome"] = rng.choice(["connected", "no_answer", "voicemail"])
        elif kind == "meeting":
            record["direction"] = "outbound"
        else:
            record["direction"] = "internal"
        if self.requests and rng.random() < 0.1:
            record["request"] = rng.choice(self.requests)
        data.setdefault("activities", []).append(record)

    def meeting(self, data: dict[str, Any], acc: str, now: datetime) -> None:
        rng = self.rng
        record: dict[str, Any] = {
            "id": self.id("m"),
            "account": acc,
            "title": "Sync",
            "starts_at": self.when(now, 45, 6),
            "next_step": rng.choice([None, None, "Send the deck"]),
        }
        if rng.random() < 0.3:
            record["action_items"] = [{"text": "Follow up", "owner": None, "done": False}]
        if rng.random() < 0.1:
            record["canceled"] = True
        data.setdefault("meetings", []).append(record)

    def task(self, data: dict[str, Any], acc: str, now: datetime) -> None:
        rng = self.rng
        task_id = self.id("task")
        self.tasks.append((task_id, acc))
        done = rng.random() < 0.3
        record: dict[str, Any] = {
            "id": task_id,
            "account": acc,
            "title": "Do the thing",
            "due_at": self.when(now, 10, 5),
            "priority": rng.choice(["urgent", "high", "normal", "low"]),
            "status": "done" if done else "open",
        }
        if done:
            record["completed_at"] = self.when(now, 10, 1)
            if self.requests:
                record["auto_created"] = True
                record["request"] = rng.choice(self.requests)
        data.setdefault("tasks", []).append(record)

    def request(self, data: dict[str, Any], now: datetime) -> None:
        rng = self.rng
        req_id = self.id("r")
        self.requests.append(req_id)
        status = rng.choice(["open", "planned", "in_progress", "shipped", "declined"])
        record: dict[str, Any] = {
            "id": req_id,
            "accounts": rng.sample(self.accounts, rng.randint(1, 3)),
            "title": f"Feature {req_id}",
            "impact": rng.choice(["high", "medium", "low"]),
            "status": status,
            "created_at": self.when(now, 90, 0),
            "updated_at": self.when(now, 60, 0.5),
        }
        if status == "shipped":
            record["shipped_at"] = self.when(now, 35, 0.5)
        if rng.random() < 0.5:
            record["discussed_at"] = self.when(now, 35, 0.5)
        data.setdefault("requests", []).append(record)

    def changes(self, now: datetime) -> dict[str, Any]:
        """An import of a few changes, around ``now``."""
        rng = self.rng
        data: dict[str, Any] = {"format": "followup-portfolio/1"}
        stored_requests = list(self.requests)
        for acc in rng.sample(self.accounts, rng.randint(1, 4)):
            what = rng.random()
            if what < 0.45:
                self.activity(data, acc, now, back=1, ahead=0.05)
            elif what < 0.6:
                self.meeting(data, acc, now)
            elif what < 0.75:
                self.task(data, acc, now)
            elif what < 0.85:
                data.setdefault("accounts", []).append(
                    {
                        "id": acc,
                        "name": f"Account {acc}",
                        "touch_policy": rng.choice(POLICIES),
                        "csm": rng.choice(["u-0", "u-1", "u-2", None]),
                    }
                )
            else:
                data.setdefault("health_scores", []).append(
                    {
                        "account": acc,
                        "at": iso(now - timedelta(minutes=5)),
                        "score": rng.randint(10, 99),
                    }
                )
        if self.tasks and rng.random() < 0.4:
            task_id, acc = rng.choice(self.tasks)
            data.setdefault("tasks", []).append(
                {"id": task_id, "account": acc, "status": "done", "completed_at": iso(now)}
            )
        if rng.random() < 0.3:
            self.request(data, now)
        if stored_requests and rng.random() < 0.3:
            data.setdefault("requests", []).append(
                {
                    "id": rng.choice(stored_requests),
                    "status": "shipped",
                    "shipped_at": iso(now - timedelta(hours=1)),
                    "accounts": rng.sample(self.accounts, rng.randint(1, 3)),
                }
            )
        if rng.random() < 0.15:
            data["teams"] = [
                {
                    "id": "t-0",
                    "name": "East",
                    "rules": {"touch_days": {"standard": rng.choice([20, 30])}},
                }
            ]
        if rng.random() < 0.1:
            data["users"] = [{"id": "u-2", "name": "CSM 2", "timezone": rng.choice(ZONES[:3])}]
        if rng.random() < 0.08:
            data["org"] = {
                "name": "Twin Org",
                "business_hours": {"start": rng.choice(["08:00", "09:00"]), "end": "17:00"},
            }
        if rng.random() < 0.2:
            until = (now + timedelta(days=rng.randint(0, 2))).date().isoformat()
            data["exclusions"] = [{"account": rng.choice(self.accounts), "until": until}]
        return data


def _alert_rows(engine: Engine) -> dict[str, tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(select(Alert)).mappings().all()
    return {r["key"]: tuple(v for k, v in r.items() if k != "id") for r in rows}


def _queue_rows(engine: Engine) -> dict[str, tuple[Any, ...]]:
    """The stored cards, each naming its alerts by key (ids are numbered per database), and
    the time the whole queue is as of (under the key ``as of``)."""
    with engine.connect() as conn:
        keys = dict(conn.execute(select(Alert.id, Alert.key)).all())
        out = {}
        for row in conn.execute(select(QueueCard)).mappings():
            card = dict(row["card"])
            card["alert_ids"] = {k: keys[v] for k, v in card["alert_ids"].items()}
            out[row["account_id"]] = (
                row["owner_id"],
                row["lane"],
                row["severity"],
                row["action_score"],
                json.dumps(card, sort_keys=True),
            )
        out["as of"] = (queue_as_of(conn),)
    return out


def _assert_same(incremental: Engine, full: Engine, step: int) -> None:
    a, b = _queue_rows(incremental), _queue_rows(full)
    assert a.keys() == b.keys(), f"step {step}: cards of {sorted(a.keys() ^ b.keys())}"
    for acc in a:
        if a[acc] != b[acc]:
            left, right = json.loads(a[acc][-1]), json.loads(b[acc][-1])
            diff = {k: (left.get(k), right.get(k)) for k in left if left.get(k) != right.get(k)}
            raise AssertionError(f"step {step}: the card of {acc}: {diff}")
    x, y = _alert_rows(incremental), _alert_rows(full)
    assert x.keys() == y.keys(), f"step {step}: alerts {sorted(x.keys() ^ y.keys())}"
    for key in x:
        assert x[key] == y[key], f"step {step}: alert {key}"


def _click(
    engines: list[Engine], rng: random.Random, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same click on both databases: on an alert picked by key (a touch it logs gets the
    same id on both)."""
    touch_id = uuid.UUID(int=rng.getrandbits(128))
    monkeypatch.setattr(triage.uuid, "uuid4", lambda: touch_id)
    with engines[0].connect() as conn:
        keys = sorted(conn.execute(select(Alert.key).where(Alert.cleared_at.is_(None))).scalars())
    if not keys:
        return
    key = rng.choice(keys)
    action = rng.choice(["done", "snooze", "dismiss", "undo"])
    wake = now + timedelta(hours=rng.choice([2, 20, 50]))
    for engine in engines:
        with engine.begin() as conn:
            alert_id, state = conn.execute(
                select(Alert.id, Alert.state).where(Alert.key == key)
            ).one()
            if action == "done":
                triage.mark_done(conn, alert_id, actor="u-1", now=now)
            elif action == "snooze":
                triage.snooze(conn, alert_id, wake, actor="u-1", now=now)
            elif action == "dismiss":
                triage.dismiss(conn, alert_id, actor="u-1", now=now)
            elif state != "open":
                triage.reopen(conn, alert_id, actor="u-1", now=now)


@pytest.mark.parametrize("seed", [int(s) for s in os.environ.get("TWIN_SEEDS", "1,2").split(",")])
def test_incremental_sweep_leaves_the_full_sweeps_queue(
    db_url: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
) -> None:
    """With odd seeds the incremental sweeps share their accounts with a worker process, as
    the scheduler's do (from two due accounts on, here)."""
    kind = "sqlite" if db_url.startswith("sqlite") else "postgres"
    twin_dir = tmp_path / "twin"
    twin_dir.mkdir()
    twin_url = _new_database_url(request, kind, twin_dir)
    inc, full = make_engine(db_url), make_engine(twin_url)
    rng = random.Random(seed)
    world = World(rng, 40)
    now = T0
    pool = SweepPool(db_url, share_from=2) if seed % 2 else None
    try:
        path = tmp_path / "first.json"
        path.write_text(json.dumps(world.first_file(now)))
        for engine in (inc, full):
            import_file(engine, path, now=now)
        # (the first sweep of the incremental side is shared with a worker process: its next
        # checks come back from there)
        run_sweep(inc, now, workers=2, parallel_from=1)
        run_sweep(full, now, workers=1)
        _assert_same(inc, full, 0)
        evaluated = []
        for step in range(1, 13):
            now += rng.choice(
                [
                    timedelta(minutes=rng.randint(1, 50)),
                    timedelta(hours=rng.uniform(1, 30)),
                    timedelta(days=rng.uniform(1, 4)),
                ]
            )
            if rng.random() < 0.7:
                path = tmp_path / f"step-{step}.json"
                path.write_text(json.dumps(world.changes(now)))
                for engine in (inc, full):
                    import_file(engine, path, now=now)
            for _ in range(rng.randint(0, 3)):
                _click([inc, full], rng, now, monkeypatch)
            if rng.random() < 0.2:
                acc = rng.choice(world.accounts)
                for engine in (inc, full):
                    with engine.begin() as conn:
                        if not triage.include_account(conn, acc, actor="u-0", now=now):
                            triage.exclude_account(
                                conn, acc, reason=None, until=None, actor="u-0", now=now
                            )
            result = run_incremental_sweep(inc, now, full_from=1.1, pool=pool)
            run_sweep(full, now, workers=1)
            evaluated.append(result.evaluated)
            _assert_same(inc, full, step)
        assert min(evaluated) < len(world.accounts)  # it did skip accounts
    finally:
        if pool is not None:
            pool.close()
        inc.dispose()
        full.dispose()


def _children() -> set[int]:
    """This process's child processes (the sweep worker)."""
    me = os.getpid()
    return {int(pid) for pid in Path(f"/proc/{me}/task/{me}/children").read_text().split()}


class _KilledMidShare(SweepPool):
    """A pool whose worker is killed (as the kernel's OOM killer would) once it has been handed
    its share of the next sweep."""

    victims: list[int]

    def submit(self, now: datetime, ids: Sequence[str]) -> Future[Swept]:
        future = super().submit(now, ids)
        for pid in self.victims:
            os.kill(pid, signal.SIGKILL)
        self.victims = []
        return future


def test_a_dead_sweep_worker_leaves_its_share_to_the_sweep(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(db_url)
    world = World(random.Random(7), 30)
    path = tmp_path / "first.json"
    path.write_text(json.dumps(world.first_file(T0)))
    import_file(engine, path, now=T0)
    run_sweep(engine, T0, workers=1)
    before = _children()
    try:
        with _KilledMidShare(db_url, share_from=2) as pool:
            (worker,) = _children() - before
            pool.victims = [worker]
            now = T0 + timedelta(days=3)  # most accounts are due by then
            result = run_incremental_sweep(engine, now, full_from=1.1, pool=pool)
            share = len(pool.share(result.evaluated_ids))
            assert share > 0
            assert f"the sweep worker died; its {share} accounts are swept here" in caplog.text
            # the queue a full sweep at that time leaves: one changes nothing
            queue, alerts = _queue_rows(engine), _alert_rows(engine)
            run_sweep(engine, now, workers=1)
            assert (_queue_rows(engine), _alert_rows(engine)) == (queue, alerts)

            # and the next sweep shares its accounts with a new worker
            later = now + timedelta(days=2)
            result = run_incremental_sweep(engine, later, full_from=1.1, pool=pool)
            assert pool.share(result.evaluated_ids)
            (new_worker,) = _children() - before
            assert new_worker != worker
            assert caplog.text.count("the sweep worker died") == 1  # the new one did its share

            # one that dies between two sweeps is replaced too
            os.kill(new_worker, signal.SIGKILL)
            last = later + timedelta(days=2)
            result = run_incremental_sweep(engine, last, full_from=1.1, pool=pool)
            assert pool.share(result.evaluated_ids)
            queue, alerts = _queue_rows(engine), _alert_rows(engine)
            run_sweep(engine, last, workers=1)
            assert (_queue_rows(engine), _alert_rows(engine)) == (queue, alerts)
            assert len(_children() - before - {new_worker}) == 1
    finally:
        engine.dispose()
