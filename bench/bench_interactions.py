"""Benchmark: how fast the served Slack app answers button clicks and slash commands — p50 / p99
from request to HTTP answer, 20 concurrent senders for 30 s, on SQLite and PostgreSQL. Target:
p99 <= 100 ms (Slack waits 3000 ms).

    .venv/bin/python bench/bench_interactions.py                          # both backends, 30 s each
    .venv/bin/python bench/bench_interactions.py --backends sqlite --seconds 10

Per backend: a generated portfolio (bench/generate.py, cached in bench/.cache/) is imported and
``deliver_digests`` posts every CSM's daily DM to the fake Slack Web API (tests/slack_fakes.py),
so real cards with real button values exist. The real app (``build_app`` served by waitress
through ``make_http_server``) then runs in its own process (bench/serve_once.py) on 127.0.0.1,
the fake Slack in another, and ``--senders`` threads of this process send the app signed
requests (``SignatureVerifier`` signatures, as Slack does) for ``--seconds``:

* clicks on the delivered DMs' cards — Done, Snooze ▸ tomorrow, Dismiss (opens a modal, which is
  then submitted) — each followed by a click on the receipt's Undo, so cards never run out;
* slash commands: ``/followup today`` and ``/account-summary <account name>``.

Each sender behaves like a user: after a request it waits (up to ``--reply-timeout``) for the
bot's visible reply — the response_url answer, the opened modal, the ephemeral receipt — before
its next request. The table shows the latency of the HTTP answer (what Slack's 3-second limit is
about; the request body is built before the clock starts) and, apart, of that reply (the work a
listener does after its ``ack()``). Loopback only; it stops by itself after ``--seconds`` plus
at most one reply timeout.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import math
import multiprocessing
import queue
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench.bench_sweep import database, nullcluster  # noqa: E402
from bench.generate import cached_dataset  # noqa: E402
from bot.db.models import Account  # noqa: E402
from bot.db.session import ensure_schema, make_engine  # noqa: E402
from bot.handlers.errors import UNEXPECTED  # noqa: E402
from bot.ids import ActionId, BlockId, CallbackId, Command  # noqa: E402
from bot.importer import import_file  # noqa: E402
from bot.service.daily_dm import deliver_digests  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.slack.client import make_client  # noqa: E402
from bot.slack.delivery import Pacing  # noqa: E402
from tests.pgcluster import throwaway_cluster  # noqa: E402
from tests.slack_fakes import (  # noqa: E402
    SIGNING_SECRET,
    TEAM_ID,
    TOKEN,
    Call,
    FakeSlack,
    SlackRequests,
)

REFERENCE = datetime(2026, 11, 16, 13, 30, tzinfo=UTC)  # bench/generate.py's reference_time
TARGET_MS = 100.0
SLACK_LIMIT_MS = 3000.0
KINDS = (
    "done",
    "snooze",
    "dismiss",
    "dismiss submit",
    "undo",
    "/followup today",
    "/account-summary",
)
# How often a sender starts each cycle (done / snooze / dismiss are followed by their undo).
CYCLES = {"done": 3, "snooze": 2, "dismiss": 1, "today": 2, "summary": 2}
STALE_MARKS = ("already handled", "changed since", "nothing left to do")
# The fake's calls a sender waits for (their parameters cross over to this process).
WATCHED = ("response_url", "views.open", "chat.postEphemeral")
FORM = "application/x-www-form-urlencoded"


# ------------------------------------------------------------------ the fake Slack


class _ReportingSlack(FakeSlack):
    """The tests' fake Slack Web API, in its own process: it counts every call (without keeping
    the payloads) and reports the calls a sender may wait for to the benchmark's process."""

    def __init__(self, events: Any) -> None:
        super().__init__()
        self.events = events
        self.called: Counter[str] = Counter()

    def _record(self, call: Call) -> None:
        seen = time.monotonic()  # CLOCK_MONOTONIC: comparable across processes on Linux
        with self._lock:
            self.called[call.method] += 1
        if call.method in WATCHED:
            self.events.put((call.method, call.params, seen))


def _fake_slack_main(commands: Connection, events: Any) -> None:
    fake = _ReportingSlack(events)
    fake.start()
    commands.send(fake.base_url)
    while True:
        command = commands.recv()
        if command == "messages":
            with fake._lock:
                commands.send(list(fake.messages.values()))
        elif command == "counts":
            with fake._lock:
                commands.send(dict(fake.called))
        else:
            fake.stop()
            commands.send(None)
            return


@dataclass(eq=False)
class Waiter:
    """One call the fake is expected to receive (``match`` on its parameters)."""

    method: str
    match: Callable[[dict[str, Any]], bool]
    event: threading.Event = field(default_factory=threading.Event)
    params: dict[str, Any] = field(default_factory=dict)
    at: float = 0.0  # time.monotonic() when the fake got it


class FakeSlackProcess:
    """The fake Slack served from a child process (so that its work — parsing every
    ``chat.update`` and ``views.publish`` the app sends — does not share the senders' GIL)."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._commands, child_end = ctx.Pipe()
        self._events = ctx.Queue()
        self._process = ctx.Process(
            target=_fake_slack_main, args=(child_end, self._events), daemon=True
        )
        self._waiters: list[Waiter] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._dispatch, daemon=True)
        self.base_url = ""

    def __enter__(self) -> FakeSlackProcess:
        self._process.start()
        self.base_url = str(self._commands.recv())
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        try:
            self._commands.send("stop")
            self._commands.recv()
        except (EOFError, OSError):
            pass
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()
        self._thread.join(timeout=5)

    def response_url(self, rid: str) -> str:
        return f"{self.base_url.removesuffix('/api/')}/response/bench?rid={rid}"

    def messages(self) -> list[dict[str, Any]]:
        self._commands.send("messages")
        found: list[dict[str, Any]] = self._commands.recv()
        return found

    def counts(self) -> Counter[str]:
        self._commands.send("counts")
        return Counter(self._commands.recv())

    def expect(self, method: str, match: Callable[[dict[str, Any]], bool]) -> Waiter:
        waiter = Waiter(method, match)
        with self._lock:
            self._waiters.append(waiter)
        return waiter

    def cancel(self, waiter: Waiter) -> None:
        with self._lock:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _dispatch(self) -> None:
        while not self._stop.is_set():
            try:
                method, params, seen = self._events.get(timeout=0.2)
            except queue.Empty:
                continue
            with self._lock:
                hits = [w for w in self._waiters if w.method == method and w.match(params)]
                for waiter in hits:
                    self._waiters.remove(waiter)
                    waiter.params, waiter.at = params, seen
                    waiter.event.set()


# ------------------------------------------------------------------ requests from "Slack"


def interactive_body(payload: dict[str, Any]) -> str:
    """A ``payload=`` form, as tests/slack_fakes.SlackRequests.interactive builds it."""
    payload = {"team": {"id": TEAM_ID}, "api_app_id": "A0TEST", **payload}
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


def command_body(command: str, text: str, user: str, channel: str, response_url: str) -> str:
    """A slash command form, as tests/slack_fakes.SlackRequests.command builds it."""
    return urllib.parse.urlencode(
        {
            "token": "legacy",
            "team_id": TEAM_ID,
            "channel_id": channel,
            "user_id": user,
            "command": command,
            "text": text,
            "api_app_id": "A0TEST",
            "response_url": response_url,
            "trigger_id": f"trigger-{next(_ids)}",
        }
    )


_ids = itertools.count(1)


# ------------------------------------------------------------------ cards and senders


@dataclass(frozen=True)
class CardTarget:
    """One card of a delivered DM, with the controls a click sends back."""

    account: str
    name: str
    user: str  # Slack id of the DM's reader (its CSM, or the org's fallback CSM)
    channel: str
    ts: str
    blocks: list[dict[str, Any]]  # the whole message: Slack sends it with every click
    done: dict[str, Any]
    snooze: dict[str, Any]
    dismiss: dict[str, Any]


def _element(block: dict[str, Any], action_id: str) -> dict[str, Any]:
    for element in block.get("elements") or []:
        if element.get("action_id") == action_id:
            return dict(element)
    raise LookupError(f"no {action_id} in {block.get('block_id')}")


def _action(block: dict[str, Any], element: dict[str, Any]) -> dict[str, Any]:
    action: dict[str, Any] = {
        "type": element["type"],
        "action_id": element["action_id"],
        "block_id": block["block_id"],
    }
    if element["type"] == "button":
        action["value"] = element.get("value")
    else:  # the snooze select: "Tomorrow 09:00"
        action["selected_option"] = next(
            o for o in element["options"] if json.loads(o["value"]).get("snooze") == "tomorrow"
        )
    return action


def delivered_cards(messages: Sequence[dict[str, Any]], names: dict[str, str]) -> list[CardTarget]:
    """Every card of every DM message the fake holds."""
    prefix = f"{BlockId.CARD_ACTIONS.value}:"
    cards: list[CardTarget] = []
    for message in messages:
        channel = str(message["channel"])
        for block in message.get("blocks") or []:
            block_id = str(block.get("block_id", ""))
            if not block_id.startswith(prefix):
                continue
            account = block_id[len(prefix) :]
            cards.append(
                CardTarget(
                    account=account,
                    name=names.get(account, account),
                    user="U" + channel[1:],
                    channel=channel,
                    ts=str(message["ts"]),
                    blocks=message["blocks"],
                    done=_action(block, _element(block, ActionId.CARD_DONE)),
                    snooze=_action(block, _element(block, ActionId.CARD_SNOOZE)),
                    dismiss=_action(block, _element(block, ActionId.CARD_DISMISS)),
                )
            )
    return cards


@dataclass(frozen=True)
class Sample:
    kind: str
    latency: float  # seconds from sending the request to its HTTP answer
    status: int  # 0: no answer (timeout, connection error)
    reply: float | None = None  # seconds from sending to the bot's visible reply
    outcome: str = "n/a"  # ok | stale | failed | missing | n/a (no reply expected)


class Stats:
    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self._lock = threading.Lock()

    def add(self, sample: Sample) -> None:
        with self._lock:
            self.samples.append(sample)


class Sender(threading.Thread):
    """One simulated user: a Slack identity, some cards of their DM, a seeded mix of actions."""

    def __init__(
        self,
        number: int,
        user: str,
        cards: Sequence[CardTarget],
        account_names: Sequence[str],
        slack: SlackRequests,
        fake: FakeSlackProcess,
        stats: Stats,
        *,
        seed: int,
        reply_timeout: float,
    ) -> None:
        super().__init__(name=f"sender-{number}", daemon=True)
        self.user = user
        self.cards = list(cards)
        self.account_names = account_names
        self.slack = slack
        self.fake = fake
        self.stats = stats
        self.rng = random.Random(seed * 1000 + number)
        self.reply_timeout = reply_timeout
        self.deadline = 0.0
        self._next_card = 0

    # -------------------------------------------------------------------- the loop

    def warm_up(self) -> None:
        """One cheap request (answered by the ack itself), not measured."""
        self.slack.post(command_body(Command.FOLLOWUP, "help", self.user, self._dm, ""), FORM)

    def run(self) -> None:
        cycles = list(CYCLES)
        weights = [CYCLES[c] for c in cycles]
        while time.monotonic() < self.deadline:
            cycle = self.rng.choices(cycles, weights)[0]
            if cycle in ("done", "snooze", "dismiss") and not self.cards:
                cycle = "today"
            {
                "done": self._done,
                "snooze": self._snooze,
                "dismiss": self._dismiss,
                "today": self._today,
                "summary": self._summary,
            }[cycle]()

    @property
    def _dm(self) -> str:
        return "D" + self.user[1:]

    def _card(self) -> CardTarget:
        card = self.cards[self._next_card % len(self.cards)]
        self._next_card += 1
        return card

    # -------------------------------------------------------------------- cycles

    def _done(self) -> None:
        card = self._card()
        self._undo(card, self._click(card, "done", card.done))

    def _snooze(self) -> None:
        card = self._card()
        self._undo(card, self._click(card, "snooze", card.snooze))

    def _dismiss(self) -> None:
        card = self._card()
        trigger = f"trigger-{next(_ids)}"
        opened = self.fake.expect("views.open", lambda p: p.get("trigger_id") == trigger)
        body = interactive_body(self._card_payload(card, card.dismiss, trigger=trigger))
        view = self._timed("dismiss", body, opened)
        if view is None or not isinstance(view.get("view"), dict):
            return
        marker = f"*{card.name}*"
        receipt = self.fake.expect(
            "chat.postEphemeral",
            lambda p: p.get("user") == self.user and marker in json.dumps(p.get("blocks")),
        )
        reason = {
            BlockId.DISMISS_REASON.value: {
                ActionId.DISMISS_REASON.value: {
                    "type": "plain_text_input",
                    "value": "benchmark: not relevant this week",
                }
            }
        }
        payload = {
            "type": "view_submission",
            "user": {"id": self.user, "team_id": TEAM_ID},
            "trigger_id": f"trigger-{next(_ids)}",
            "view": {
                "id": view["view"].get("id", "V0MODAL"),
                "type": "modal",
                "callback_id": CallbackId.DISMISS_MODAL.value,
                "private_metadata": str(view["view"].get("private_metadata", "")),
                "state": {"values": reason},
                "hash": view["view"].get("hash", "h1"),
            },
        }
        self._undo(card, self._timed("dismiss submit", interactive_body(payload), receipt))

    def _today(self) -> None:
        rid, waiter = self._reply()
        url = self.fake.response_url(rid)
        body = command_body(Command.FOLLOWUP, "today", self.user, self._dm, url)
        self._timed("/followup today", body, waiter)

    def _summary(self) -> None:
        name = self.rng.choice(self.account_names)
        rid, waiter = self._reply()
        url = self.fake.response_url(rid)
        body = command_body(Command.ACCOUNT_SUMMARY, name, self.user, self._dm, url)
        self._timed("/account-summary", body, waiter)

    # -------------------------------------------------------------------- requests

    def _reply(self) -> tuple[str, Waiter]:
        rid = f"r{next(_ids)}"
        return rid, self.fake.expect("response_url", lambda p: p.get("rid") == rid)

    def _card_payload(
        self,
        card: CardTarget,
        action: dict[str, Any],
        *,
        trigger: str | None = None,
        rid: str | None = None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": self.user, "team_id": TEAM_ID},
            "trigger_id": trigger or f"trigger-{next(_ids)}",
            "container": {
                "type": "message",
                "message_ts": card.ts,
                "channel_id": card.channel,
                "is_ephemeral": False,
            },
            "channel": {"id": card.channel},
            "message": {"ts": card.ts, "blocks": card.blocks},
            "actions": [{**action, "action_ts": f"{time.time():.6f}"}],
        }
        if rid is not None:
            payload["response_url"] = self.fake.response_url(rid)
        return payload

    def _click(self, card: CardTarget, kind: str, action: dict[str, Any]) -> dict[str, Any] | None:
        rid, waiter = self._reply()
        body = interactive_body(self._card_payload(card, action, rid=rid))
        return self._timed(kind, body, waiter)

    def _undo(self, card: CardTarget, reply: dict[str, Any] | None) -> None:
        """Click Undo on the receipt ``reply`` (an ephemeral message), if it has one."""
        button = _undo_button(reply)
        if button is None or time.monotonic() >= self.deadline:
            return
        rid, waiter = self._reply()
        payload = {
            "type": "block_actions",
            "user": {"id": self.user, "team_id": TEAM_ID},
            "trigger_id": f"trigger-{next(_ids)}",
            "container": {
                "type": "message",
                "message_ts": f"{time.time():.6f}",
                "channel_id": card.channel,
                "is_ephemeral": True,
            },
            "channel": {"id": card.channel},
            "response_url": self.fake.response_url(rid),
            "actions": [button],
        }
        self._timed("undo", interactive_body(payload), waiter)

    def _timed(self, kind: str, body: str, waiter: Waiter) -> dict[str, Any] | None:
        """Send one request, time its HTTP answer, then wait for the bot's reply."""
        started = time.monotonic()
        try:
            status = self.slack.post(body, FORM, headers={"X-Bench-Kind": kind}).status
        except Exception:  # a timeout, a refused connection: no answer at all
            status = 0
        latency = time.monotonic() - started
        if status != 200 or not waiter.event.wait(self.reply_timeout):
            self.fake.cancel(waiter)
            self.stats.add(Sample(kind, latency, status, None, "missing"))
            return None
        text = str(waiter.params.get("text", "")) + json.dumps(waiter.params.get("blocks"))
        if UNEXPECTED[:40] in text:
            outcome = "failed"
        elif any(mark in text for mark in STALE_MARKS):
            outcome = "stale"
        else:
            outcome = "ok"
        self.stats.add(Sample(kind, latency, status, waiter.at - started, outcome))
        return waiter.params


def _undo_button(reply: dict[str, Any] | None) -> dict[str, Any] | None:
    for block in (reply or {}).get("blocks") or []:
        accessory = block.get("accessory") if isinstance(block, dict) else None
        if isinstance(accessory, dict) and accessory.get("action_id") == ActionId.UNDO:
            return {
                "type": "button",
                "action_id": ActionId.UNDO.value,
                "block_id": block.get("block_id", ""),
                "value": accessory.get("value"),
                "action_ts": f"{time.time():.6f}",
            }
    return None


def assign(cards: Sequence[CardTarget], senders: int) -> list[tuple[str, list[CardTarget]]]:
    """Senders round-robin over the DM readers; a reader's cards are split among their senders
    (no two senders click the same card)."""
    by_user: dict[str, list[CardTarget]] = defaultdict(list)
    for card in sorted(cards, key=lambda c: (c.user, c.account)):
        by_user[card.user].append(card)
    users = sorted(by_user)
    if not users:
        raise SystemExit("no cards were delivered: nothing to click")
    owners = [users[i % len(users)] for i in range(senders)]
    out: list[tuple[str, list[CardTarget]]] = []
    for i, user in enumerate(owners):
        mates = [j for j, u in enumerate(owners) if u == user]
        out.append((user, by_user[user][mates.index(i) :: len(mates)]))
    return out


# ------------------------------------------------------------------ one backend


@dataclass
class Row:
    backend: str
    kind: str
    samples: list[Sample]
    in_app: list[float]  # seconds each request spent in the app's WSGI application


@dataclass
class Run:
    backend: str
    rows: list[Row]
    cards: int
    dms: int
    seconds: float  # sending time (replies may come in later)
    app_log: list[str]
    slack_calls: Counter[str]


@contextmanager
def served_app(
    url: str, slack_url: str, threads: int, log_path: Path, timings_path: Path
) -> Iterator[str]:
    """bench/serve_once.py in a child process; yields the app's /slack/events URL. When it
    stops, the app writes how long each request spent in its WSGI application to
    ``timings_path``."""
    with open(log_path, "wb") as log:
        child = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "bench" / "serve_once.py"),
                url,
                slack_url,
                REFERENCE.isoformat(),
                str(threads),
                str(timings_path),
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            assert child.stdout is not None
            line = child.stdout.readline()
            if not line:
                child.wait(timeout=10)
                raise RuntimeError(f"the app did not start: {log_path.read_text()[-2000:]}")
            yield f"http://127.0.0.1:{int(json.loads(line)['port'])}/slack/events"
        finally:
            child.terminate()
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def prepare(url: str, slack_url: str, args: argparse.Namespace, console: Console) -> None:
    """Import the portfolio and deliver every daily DM (no pacing: the fake does not limit)."""
    shards = cached_dataset(ROOT / "bench" / ".cache", args.accounts, args.activities)
    settings = Settings(
        DATABASE_URL=url,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_url,
    )
    engine = make_engine(url)
    try:
        ensure_schema(engine)
        started = time.perf_counter()
        records = sum(import_file(engine, s, now=REFERENCE).records for s in shards)
        console.log(f"imported {records:,} records in {time.perf_counter() - started:.1f}s")
        started = time.perf_counter()
        report = deliver_digests(
            engine,
            make_client(settings),
            as_of=REFERENCE,
            pacing=Pacing(per_channel=0, per_call=0),
            clock=lambda: REFERENCE,
        )
        console.log(
            f"delivered the daily DMs in {time.perf_counter() - started:.1f}s: "
            f"{report.summary()} ({report.cards} cards)"
        )
    finally:
        engine.dispose()


def account_names(url: str) -> dict[str, str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {r.id: r.name for r in conn.execute(select(Account.id, Account.name))}
    finally:
        engine.dispose()


def run_backend(
    backend: str, url: str, args: argparse.Namespace, console: Console, workdir: Path
) -> Run:
    with FakeSlackProcess() as fake:
        prepare(url, fake.base_url, args, console)
        names = account_names(url)
        cards = delivered_cards(fake.messages(), names)
        dms = len({c.ts for c in cards})
        summary_names = random.Random(args.seed).sample(sorted(names.values()), 300)
        console.log(f"{len(cards)} cards in {dms} DM messages to click; serving the app")
        stats = Stats()
        log_path = workdir / f"app-{backend}.log"
        timings_path = workdir / f"app-{backend}-timings.json"
        with served_app(url, fake.base_url, args.threads, log_path, timings_path) as events_url:
            slack = SlackRequests(events_url)
            senders = [
                Sender(
                    n,
                    user,
                    own,
                    summary_names,
                    slack,
                    fake,
                    stats,
                    seed=args.seed,
                    reply_timeout=args.reply_timeout,
                )
                for n, (user, own) in enumerate(assign(cards, args.senders))
            ]
            for sender in senders:
                sender.warm_up()
            # This process generates the load: keep its set-up heap (the imported portfolio's
            # leftovers) out of its garbage collections, which would stall every sender at once.
            gc.collect()
            gc.freeze()
            started = time.monotonic()
            for sender in senders:
                sender.deadline = started + args.seconds
                sender.start()
            for sender in senders:
                sender.join(timeout=args.seconds + 2 * args.reply_timeout + 30)
            elapsed = time.monotonic() - started
            gc.unfreeze()
            time.sleep(0.5)  # let the last listeners log before the app stops
        calls = fake.counts()
    lines = log_path.read_text(errors="replace").splitlines()
    app_log = [ln for ln in lines if " ERROR " in ln] + [ln for ln in lines if " WARNING " in ln]
    by_kind: dict[str, list[Sample]] = defaultdict(list)
    for sample in stats.samples:
        by_kind[sample.kind].append(sample)
    in_app: dict[str, list[float]] = defaultdict(list)
    if timings_path.exists():
        for kind, seconds in json.loads(timings_path.read_text()):
            if kind in KINDS:
                in_app[kind].append(seconds)
                in_app["all"].append(seconds)
    rows = [Row(backend, k, by_kind[k], in_app[k]) for k in KINDS if by_kind.get(k)]
    if stats.samples:
        rows.append(Row(backend, "all", list(stats.samples), in_app["all"]))
    console.log(
        f"{backend}: {len(stats.samples)} requests in {elapsed:.1f}s; the fake Slack got "
        + ", ".join(f"{n} {m}" for m, n in calls.most_common())
    )
    return Run(backend, rows, len(cards), dms, args.seconds, app_log, calls)


# ------------------------------------------------------------------ report


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def print_table(runs: Sequence[Run], args: argparse.Namespace) -> None:
    console = Console(width=160)
    table = Table(
        title=(
            f"Interactions: request → HTTP answer, {args.senders} concurrent senders × "
            f"{args.seconds:g} s (target p99 ≤ {TARGET_MS:.0f} ms; Slack allows "
            f"{SLACK_LIMIT_MS:.0f} ms)"
        ),
        caption=(
            "Latencies in ms, measured by the sender (p50 … max) and inside the app process (in "
            "app: the WSGI call — Bolt's parsing, signature check and wait for ack(); not "
            "waitress's socket I/O). errors: HTTP answer not 200, or none. reply: from sending "
            "to the bot's visible answer (response_url, modal, receipt): the work after ack(). "
            "replies: ok / stale ('already handled') / failed (the 'something went wrong' "
            "apology) / missing (none within the reply timeout)."
        ),
    )
    for col in (
        "backend",
        "kind",
        "count",
        "errors",
        "p50",
        "p95",
        "p99",
        "max",
        "p99 / 100 ms",
        "in app p50",
        "in app p99",
        "reply p50",
        "reply p99",
        "replies",
    ):
        table.add_column(col, justify="left" if col in ("backend", "kind") else "right")
    for run in runs:
        for row in run.rows:
            ms = [s.latency * 1000 for s in row.samples]
            errors = sum(1 for s in row.samples if s.status != 200)
            replies = [s.reply * 1000 for s in row.samples if s.reply is not None]
            outcomes = Counter(s.outcome for s in row.samples)
            in_app = [t * 1000 for t in row.in_app]
            p99 = percentile(ms, 99)
            cells = [
                run.backend,
                row.kind,
                f"{len(ms):,}",
                f"{errors}",
                f"{percentile(ms, 50):.1f}",
                f"{percentile(ms, 95):.1f}",
                f"{p99:.1f}",
                f"{max(ms):.1f}",
                f"{p99 / TARGET_MS:.2f}",
                f"{percentile(in_app, 50):.1f}" if in_app else "—",
                f"{percentile(in_app, 99):.1f}" if in_app else "—",
                f"{percentile(replies, 50):.0f}" if replies else "—",
                f"{percentile(replies, 99):.0f}" if replies else "—",
                "/".join(str(outcomes[k]) for k in ("ok", "stale", "failed", "missing")),
            ]
            if row.kind == "all":
                cells = [f"[bold]{c}[/bold]" for c in cells]
            table.add_row(*cells)
        table.add_section()
    console.print(table)
    for run in runs:
        total = len(run.rows[-1].samples) if run.rows else 0
        console.print(
            f"{run.backend}: {run.cards} cards in {run.dms} DM messages; "
            f"{total / run.seconds if run.seconds else 0:.1f} requests/s; app log: "
            f"{sum(' ERROR ' in ln for ln in run.app_log)} errors, "
            f"{sum(' WARNING ' in ln for ln in run.app_log)} warnings",
            highlight=False,
        )
        for line in list(dict.fromkeys(run.app_log))[:5]:
            console.print(f"  {line[:300]}", markup=False, highlight=False)


def main() -> None:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(
        description=doc.split("\n\n")[0],
        epilog=doc.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite and/or postgres")
    parser.add_argument("--seconds", type=float, default=30.0, help="sending time per backend")
    parser.add_argument("--senders", type=int, default=20, help="concurrent senders")
    parser.add_argument("--threads", type=int, default=32, help="waitress threads of the app")
    parser.add_argument("--accounts", type=int, default=2000, help="accounts in the portfolio")
    parser.add_argument("--activities", type=int, default=50, help="activities per account")
    parser.add_argument(
        "--reply-timeout", type=float, default=20.0, help="seconds a sender waits for a reply"
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if set(backends) - {"sqlite", "postgres"} or not backends:
        parser.error("--backends: sqlite and/or postgres")
    if args.senders < 1 or args.seconds <= 0 or args.threads < 1:
        parser.error("--senders, --seconds and --threads must be positive")
    console = Console(stderr=True)
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="followup-bench-") as tmp:
        for backend in backends:
            cluster = throwaway_cluster() if backend == "postgres" else nullcluster()
            with cluster as server, database(backend, server) as url:
                console.log(f"{backend}: {args.accounts:,} accounts × {args.activities}")
                runs.append(run_backend(backend, url, args, console, Path(tmp)))
    print_table(runs, args)


if __name__ == "__main__":
    main()
