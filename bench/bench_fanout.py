"""Benchmark: the daily DM fan-out to 200 CSMs against a fake Slack that enforces its rate limits
(about 1 message per second per channel, 300 messages per minute per workspace) and answers a
few injected 429s and 5xx: every DM must arrive exactly once, and the fan-out must take at most
1.15x the floor those limits allow.

    .venv/bin/python bench/bench_fanout.py                            # SQLite and PostgreSQL
    .venv/bin/python bench/bench_fanout.py --backends sqlite --csms 50

The portfolio comes from bench/generate.py's generator, laid out for ``--csms`` CSMs with
``--accounts-per-csm`` accounts each (cached in bench/.cache/fanout-…); every CSM is on the
org's default digest settings, so each gets a DM (one or two messages, as their cards need;
the org's fallback CSM gets one too, for the few accounts without a CSM).
``deliver_digests`` — the code behind ``followup-bot deliver``, with its default pacing unless
``--per-channel`` / ``--per-call`` say otherwise — then posts to the fake over HTTP.

The fake (tests/slack_fakes.py's FakeSlack, extended here) limits ``chat.postMessage`` with two
GCRA limiters — per DM channel (1 s apart, 0.1 s of jitter tolerated) and per workspace (0.2 s
apart on average, short bursts of up to 6 tolerated) — and answers a post over a limit with
HTTP 429 and the whole seconds to wait in ``Retry-After``; it also fails ``--inject-429`` and
``--inject-5xx`` seeded post attempts (before posting anything). The bot's client retries
those itself.

Checks: each CSM's DM channel got exactly the messages of their digest (rendered again from the
database, compared block for block), nothing twice, every delivery recorded as sent. Times:
"fan-out" runs from the first post attempt to the last accepted post, as the fake saw them;
its floor is max((N - 1) x 0.2 s - 1 s, max over channels of (k - 1) x 1 s - 0.1 s) for N
messages, k of them in one channel. "total" is the whole ``deliver_digests`` call (the sweep that
records alerts, the claims, the posts).

``--lanes N`` sets how many DMs ``deliver_digests`` keeps in flight at once (its default: 8);
``--lanes 1`` shows the one-at-a-time fan-out of the first version.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import random
import sys
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import func, select, update  # noqa: E402

from bench import generate  # noqa: E402
from bench.bench_sweep import database, nullcluster  # noqa: E402
from bot.blocks.digest import digest_payloads  # noqa: E402
from bot.db.locks import try_lock  # noqa: E402
from bot.db.models import Delivery, Org  # noqa: E402
from bot.db.session import ensure_schema, make_engine  # noqa: E402
from bot.engine.digest import select_digest  # noqa: E402
from bot.engine.sweep import run_sweep  # noqa: E402
from bot.importer import import_file  # noqa: E402
from bot.service.daily_dm import deliver_digests, digest_readers  # noqa: E402
from bot.service.people import load_people  # noqa: E402
from bot.service.rounds import run_round  # noqa: E402
from bot.service.suggestions import attach_suggestions  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.slack.client import make_client  # noqa: E402
from bot.slack.delivery import DEFAULT_LANES, Pacing  # noqa: E402
from tests.pgcluster import throwaway_cluster  # noqa: E402
from tests.slack_fakes import SIGNING_SECRET, TOKEN, Call, FakeSlack  # noqa: E402

REFERENCE = datetime(2026, 11, 16, 13, 30, tzinfo=UTC)  # bench/generate.py's reference_time
TARGET_RATIO = 1.15
POST = "chat.postMessage"


# ------------------------------------------------------------------ the rate-limited fake


@dataclass
class Gcra:
    """A generic cell-rate limiter: one event per ``interval`` seconds, ``tolerance`` seconds
    early allowed (a burst of ``1 + tolerance / interval``)."""

    interval: float
    tolerance: float
    tat: float = float("-inf")  # theoretical arrival time of the next event

    def wait(self, now: float) -> float:
        """Seconds until an event is allowed (0: now)."""
        return max(0.0, self.tat - self.tolerance - now)

    def take(self, now: float) -> None:
        self.tat = max(self.tat, now) + self.interval


@dataclass(frozen=True)
class Limits:
    channel_interval: float = 1.0  # ~1 message per second per channel
    channel_tolerance: float = 0.1
    workspace_interval: float = 60 / 300  # 300 messages per minute per workspace
    workspace_tolerance: float = 1.0  # short bursts: up to 6 messages at once

    def floor(self, per_channel: Counter[str]) -> float:
        """The least time from the first to the last of these posts the limits allow."""
        total = sum(per_channel.values())
        workspace = (total - 1) * self.workspace_interval - self.workspace_tolerance
        most = max(per_channel.values(), default=1)
        channel = (most - 1) * self.channel_interval - self.channel_tolerance
        return max(0.0, workspace, channel)


@dataclass(frozen=True)
class Attempt:
    at: float  # time.monotonic() when the fake got it
    channel: str
    verdict: str  # ok | channel limit | workspace limit | injected 429 | injected 5xx


class LimitedSlack(FakeSlack):
    """The tests' fake Slack Web API, with Slack's posting limits on ``chat.postMessage``.

    A post over the per-channel or the workspace limit is answered 429 ``ratelimited`` with
    ``Retry-After`` (whole seconds, as Slack sends it) and not posted; the attempts numbered in
    ``faults`` (0-based, in arrival order) are answered 429 or 5xx without posting. Every
    attempt is recorded in :attr:`attempts`.
    """

    def __init__(self, limits: Limits, faults: dict[int, int]) -> None:
        super().__init__()
        self.limits = limits
        self.faults = faults
        self.attempts: list[Attempt] = []
        self._workspace = Gcra(limits.workspace_interval, limits.workspace_tolerance)
        self._channels: dict[str, Gcra] = {}
        self._limit_lock = threading.Lock()

    def _handle(self, req: BaseHTTPRequestHandler, http_method: str) -> None:
        if urllib.parse.urlsplit(req.path).path != f"/api/{POST}":
            super()._handle(req, http_method)
            return
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length) if length else b""
        req.rfile = io.BytesIO(raw)  # FakeSlack._handle reads the body again
        params = _params(raw, req.headers.get("Content-Type", ""))
        channel = self._channel_for(str(params.get("channel", ""))) or "?"
        now = time.monotonic()
        with self._limit_lock:
            fault = self.faults.get(len(self.attempts))
            if fault is not None:
                verdict, status, wait = f"injected {'429' if fault == 429 else '5xx'}", fault, 1.0
            else:
                gcra = self._channels.setdefault(
                    channel, Gcra(self.limits.channel_interval, self.limits.channel_tolerance)
                )
                channel_wait, workspace_wait = gcra.wait(now), self._workspace.wait(now)
                if channel_wait > 0:
                    verdict, status, wait = "channel limit", 429, channel_wait
                elif workspace_wait > 0:
                    verdict, status, wait = "workspace limit", 429, workspace_wait
                else:
                    verdict, status, wait = "ok", 200, 0.0
                    gcra.take(now)
                    self._workspace.take(now)
            self.attempts.append(Attempt(now, channel, verdict))
        if status == 200:
            super()._handle(req, http_method)
            return
        body = {"ok": False, "error": "ratelimited" if status == 429 else "internal_error"}
        headers = {"Retry-After": str(max(1, math.ceil(wait)))} if status == 429 else {}
        self._record(Call(POST, params, status=status, response=body, http_method=http_method))
        self._send(req, status, body, headers)


def _params(raw: bytes, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    if "json" in content_type:
        found = json.loads(raw)
        return found if isinstance(found, dict) else {}
    return {k: v[-1] for k, v in urllib.parse.parse_qs(raw.decode()).items()}


def plan_faults(count_429: int, count_5xx: int, attempts: int, seed: int) -> dict[int, int]:
    """Which post attempts fail: ``count_429`` get a 429, ``count_5xx`` a 500 or 503, spread
    (seeded) over the first ``attempts``; never two in a row (the client gives up after a few)."""
    rng = random.Random(seed)
    slots = list(range(0, max(attempts, 2 * (count_429 + count_5xx) + 1), 2))
    chosen = rng.sample(slots, min(len(slots), count_429 + count_5xx))
    statuses = [429] * count_429 + [rng.choice((500, 503)) for _ in range(count_5xx)]
    return dict(zip(sorted(chosen), statuses, strict=False))


# ------------------------------------------------------------------ the portfolio


def fanout_dataset(
    root: Path,
    csms: int,
    per_csm: int,
    activities: int,
    max_per_lane: int,
    seed: int,
    shard_size: int = 5000,
) -> list[Path]:
    """bench/generate.py's portfolio with ``csms`` CSMs of ``per_csm`` accounts each (its own
    layout gives one CSM per 250 accounts), every user on the org's digest settings, the org's
    digest showing up to ``max_per_lane`` cards per lane; cached."""
    accounts = csms * per_csm
    directory = root / f"fanout-{csms}csm-{per_csm}x{activities}-lane{max_per_lane}-s{seed}"
    names = generate.shard_names(accounts, shard_size)
    paths = [directory / name for name in names]
    manifest = directory / generate.MANIFEST
    if manifest.is_file() and all(p.is_file() for p in paths):
        return paths
    directory.mkdir(parents=True, exist_ok=True)
    manifest.unlink(missing_ok=True)
    # The org shard of a portfolio big enough for `csms` CSMs at the generator's ratio.
    org = generate.build_org_shard(csms * generate.ACCOUNTS_PER_CSM, seed)
    for user in org["users"]:
        user.pop("digest", None)  # no opt-outs, no personal sensitivity: everyone gets a DM
    org["org"]["digest"]["max_per_lane"] = max_per_lane
    generate._write_json(paths[0], org)
    for shard in range(1, len(paths)):
        first = (shard - 1) * shard_size + 1
        count = min(shard_size, accounts - first + 1)
        req_base = (shard - 1) * generate.request_count(shard_size)
        builder = generate._AccountShard(shard, first, count, activities, csms, seed, req_base)
        generate._write_json(paths[shard], builder.build())
    generate._write_json(manifest, {"csms": csms, "accounts": accounts, "shards": names})
    return paths


# ------------------------------------------------------------------ one backend


@dataclass
class Result:
    backend: str
    readers: int
    dms_by_size: Counter[int]
    messages: int
    posted: int
    duplicates: int
    missing: int
    wrong: int
    not_sent: int
    verdicts: Counter[str]
    retry_wait_s: float
    floor_s: float
    fanout_s: float
    total_s: float
    outcomes: Counter[str] = field(default_factory=Counter)

    @property
    def retries(self) -> int:
        return sum(n for v, n in self.verdicts.items() if v != "ok")


def expected_dms(url: str) -> dict[str, list[dict[str, Any]]]:
    """Slack user id → the chat.postMessage payloads of their DM, rendered from the database
    (a dry-run sweep at the same time: the same cards the delivery posted, with the "Do it…"
    menus of the automation level ``recommend``)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            people = load_people(conn)
            org, users = people.org, people.users
            readers = digest_readers(conn, org)
        result = run_sweep(engine, REFERENCE, dry_run=True)
        digests = {
            uid: select_digest(result, users[uid], org)
            for uid in readers
            if uid in users and users[uid].active and users[uid].slack_user_id
        }
        with engine.connect() as conn:
            cards = [c for d in digests.values() for c in d.cards()]
            attach_suggestions(conn, people, cards, REFERENCE)
    finally:
        engine.dispose()
    names = people.names()
    expected: dict[str, list[dict[str, Any]]] = {}
    for uid, digest in digests.items():
        sid = users[uid].slack_user_id
        payloads = digest_payloads(digest, names=names)
        if sid and payloads:
            expected[sid] = payloads
    return expected


def run_backend(backend: str, url: str, args: argparse.Namespace, console: Console) -> Result:
    shards = fanout_dataset(
        ROOT / "bench" / ".cache",
        args.csms,
        args.accounts_per_csm,
        args.activities,
        args.max_per_lane,
        args.seed,
    )
    engine = make_engine(url)
    ensure_schema(engine)
    started = time.perf_counter()
    records = sum(import_file(engine, s, now=REFERENCE).records for s in shards)
    console.log(f"{backend}: imported {records:,} records in {time.perf_counter() - started:.1f}s")
    # Faults land among the first post attempts (each CSM's DM has at least one message).
    faults = plan_faults(args.inject_429, args.inject_5xx, args.csms, args.seed)
    default = Pacing()
    pacing = Pacing(
        per_channel=default.per_channel if args.per_channel is None else args.per_channel,
        per_call=default.per_call if args.per_call is None else args.per_call,
    )
    how = f"deliver_digests, {args.lanes} lanes"
    console.log(
        f"{backend}: delivering with {how}, pacing {pacing.per_channel:g} s per channel and "
        f"{pacing.per_call:g} s per call"
    )
    limits = Limits()
    fake = LimitedSlack(limits, faults)
    with fake:
        settings = Settings(
            DATABASE_URL=url,
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=fake.base_url,
        )
        client = make_client(settings)
        if args.round:
            # Every reader's DM due at REFERENCE, and no action to run: the round's messages
            # are the daily DMs alone.
            with engine.begin() as conn:
                digest = dict(conn.execute(select(Org.digest)).scalar() or {})
                conn.execute(
                    update(Org).values(
                        automation_level="recommend",
                        digest={**digest, "send_at": "00:00"},
                        business_hours={"days": [1, 2, 3, 4, 5, 6, 7]},
                    )
                )
        started = time.perf_counter()
        if args.round:
            # The round's sweep raises escalations too (to the managers' DMs); the bench holds
            # their job's lock, as another process doing that job would, so that the round's
            # messages are the daily DMs alone.
            with try_lock(engine, "round-escalations") as held:
                assert held
                rounded = run_round(engine, client, REFERENCE, pacing=pacing, clock=_now)
            assert rounded.digests is not None, rounded.lines()
            outcomes = rounded.digests.outcomes
        else:
            report = deliver_digests(
                engine, client, as_of=REFERENCE, pacing=pacing, lanes=args.lanes, clock=_now
            )
            outcomes = report.outcomes
        total_s = time.perf_counter() - started
        # What each DM channel should hold: the digests rendered again from the database.
        expected = expected_dms(url)
        got = {sid: fake.dms(sid) for sid in expected}
        with fake._lock:
            attempts = sorted(fake.attempts, key=lambda a: a.at)
            held = {ch for ch, _ in fake.messages}
    with engine.connect() as conn:
        by_status = select(Delivery.status, func.count()).group_by(Delivery.status)
        statuses = Counter({str(s): int(n) for s, n in conn.execute(by_status)})
    engine.dispose()

    per_channel = Counter({FakeSlack.dm_channel(sid): len(p) for sid, p in expected.items()})
    posted = Counter(a.channel for a in attempts if a.verdict == "ok")
    stray = held - {FakeSlack.dm_channel(sid) for sid in expected}
    first = attempts[0].at if attempts else 0.0
    last = max((a.at for a in attempts if a.verdict == "ok"), default=first)
    result = Result(
        backend=backend,
        readers=len(expected),
        dms_by_size=Counter(len(p) for p in expected.values()),
        messages=sum(per_channel.values()),
        posted=sum(posted.values()),
        duplicates=sum(max(0, posted[ch] - k) for ch, k in per_channel.items())
        + sum(posted[ch] for ch in stray),
        missing=sum(max(0, k - posted[ch]) for ch, k in per_channel.items()),
        wrong=sum(
            1
            for sid, payloads in expected.items()
            if [m["blocks"] for m in got[sid]] != [p["blocks"] for p in payloads]
        ),
        not_sent=sum(n for status, n in statuses.items() if status != "sent"),
        verdicts=Counter(a.verdict for a in attempts),
        retry_wait_s=retry_waits(attempts),
        floor_s=limits.floor(per_channel),
        fanout_s=last - first,
        total_s=total_s,
        outcomes=Counter(o.status.value for o in outcomes),
    )
    console.log(
        f"{backend}: outcomes {dict(result.outcomes)}; fan-out {result.fanout_s:.1f}s (floor "
        f"{result.floor_s:.1f}s), whole delivery {total_s:.1f}s; the fake answered "
        + ", ".join(f"{n} {v}" for v, n in result.verdicts.most_common())
    )
    return result


def retry_waits(attempts: list[Attempt]) -> float:
    """Seconds between each refused post attempt and the next attempt in its channel (the
    client's retry of the same message: one DM's messages go out one after the other)."""
    waited = 0.0
    for i, attempt in enumerate(attempts):
        if attempt.verdict == "ok":
            continue
        retry = next((a for a in attempts[i + 1 :] if a.channel == attempt.channel), None)
        if retry is not None:
            waited += retry.at - attempt.at
    return waited


def _now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------ report


def print_table(results: list[Result], args: argparse.Namespace) -> None:
    console = Console(width=160)
    mode = (
        "one scheduler round (run_round)"
        if args.round
        else f"the bot's deliver_digests ({args.lanes} lanes)"
    )
    limits = Limits()
    table = Table(
        title=(
            f"Digest fan-out to {args.csms} CSMs with {mode}: fake Slack allowing ~1 post/s per "
            f"channel and 300/min per workspace, {args.inject_429} × 429 + {args.inject_5xx} × 5xx "
            f"injected (target: exactly once, fan-out ≤ {TARGET_RATIO}× floor)"
        ),
        caption=(
            "DMs: all (1-message + 2-message). msgs: messages to post. dup/miss/wrong: posts per "
            "channel against the "
            "digest rendered from the database (wrong: blocks differ); unsent: deliveries not "
            "recorded 'sent'. retries: refused attempts the bot's client retried — channel "
            "limit / workspace limit / injected 429 / injected 5xx; wait: from each refused "
            "attempt to its retry. fan-out: first post attempt → last accepted post; floor: "
            f"max((N−1)·{limits.workspace_interval:g} s − {limits.workspace_tolerance:g} s, "
            f"(k−1)·{limits.channel_interval:g} s − {limits.channel_tolerance:g} s) for N "
            "messages, k at most in one channel; total: the whole delivery call, its sweep "
            "included."
        ),
    )
    for col in (
        "backend",
        "DMs (1+2)",
        "msgs",
        "dup/miss/wrong",
        "unsent",
        "retries",
        "wait s",
        "floor s",
        "fan-out s",
        "÷ floor",
        "total s",
        "÷ floor ",
        "exactly once",
        f"≤ {TARGET_RATIO}×",
    ):
        table.add_column(col, justify="left" if col == "backend" else "right", no_wrap=True)
    for r in results:
        v = r.verdicts
        once = r.duplicates == 0 and r.missing == 0 and r.wrong == 0 and r.not_sent == 0
        ratio = r.fanout_s / r.floor_s if r.floor_s else float("inf")
        table.add_row(
            r.backend,
            f"{r.readers} ({r.dms_by_size[1]}+{r.dms_by_size[2]})",
            f"{r.messages}",
            f"{r.duplicates}/{r.missing}/{r.wrong}",
            f"{r.not_sent}",
            f"{v['channel limit']}/{v['workspace limit']}/{v['injected 429']}/{v['injected 5xx']}",
            f"{r.retry_wait_s:.1f}",
            f"{r.floor_s:.1f}",
            f"{r.fanout_s:.1f}",
            f"{ratio:.2f}",
            f"{r.total_s:.1f}",
            f"{r.total_s / r.floor_s if r.floor_s else float('inf'):.2f}",
            "yes" if once else "[bold red]NO[/]",
            "yes" if ratio <= TARGET_RATIO else "[bold red]no[/]",
        )
    console.print(table)


def main() -> None:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(
        description=doc.split("\n\n")[0],
        epilog=doc.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite and/or postgres")
    parser.add_argument("--csms", type=int, default=200, help="CSMs (one DM each)")
    parser.add_argument("--accounts-per-csm", type=int, default=80)
    parser.add_argument("--activities", type=int, default=10, help="activities per account")
    parser.add_argument(
        "--max-per-lane", type=int, default=15, help="the org's digest cards per lane (1-15)"
    )
    parser.add_argument("--inject-429", type=int, default=3, help="post attempts answered 429")
    parser.add_argument("--inject-5xx", type=int, default=3, help="post attempts answered 5xx")
    parser.add_argument(
        "--per-channel", type=float, help=f"pacing per DM channel, s (bot: {Pacing().per_channel})"
    )
    parser.add_argument(
        "--per-call", type=float, help=f"pacing between any two posts, s (bot: {Pacing().per_call})"
    )
    parser.add_argument(
        "--lanes",
        type=int,
        default=DEFAULT_LANES,
        help=f"DMs in flight at once (default {DEFAULT_LANES}, the bot's own default)",
    )
    parser.add_argument(
        "--round",
        action="store_true",
        help="send the DMs through one scheduler round (run_round: sweep, DMs due, actions, "
        "outbox) instead of deliver_digests",
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if set(backends) - {"sqlite", "postgres"} or not backends:
        parser.error("--backends: sqlite and/or postgres")
    if args.csms < 1 or args.accounts_per_csm < 1:
        parser.error("--csms and --accounts-per-csm must be positive")
    console = Console(stderr=True)
    results: list[Result] = []
    for backend in backends:
        cluster = throwaway_cluster() if backend == "postgres" else nullcluster()
        with cluster as server, database(backend, server) as url:
            results.append(run_backend(backend, url, args, console))
    print_table(results, args)


if __name__ == "__main__":
    main()
