"""Serve the real Slack app (``build_app`` + waitress through ``make_http_server``) in this
process, for the interaction benchmark: a process of its own, so that the load generator and
the fake Slack do not share its GIL. As in ``followup-bot serve``, the listeners' work after
``ack()`` runs in a work process (bot/work_process.py).

    python bench/serve_once.py DATABASE_URL SLACK_API_URL AS_OF THREADS TIMINGS_FILE

Prints one JSON line ``{"port": N}`` once it listens on 127.0.0.1 (a free port), then serves
until SIGTERM or SIGINT, and writes ``TIMINGS_FILE``: ``[[kind, seconds], …]``, the time each
request spent in the WSGI application (Bolt's parsing, signature check, dispatch and wait for
the listener's ``ack()``; not waitress's socket I/O), ``kind`` from the benchmark's
``X-Bench-Kind`` header. The app's clock is fixed at ``AS_OF`` (the portfolio's reference time),
as in the tests; the token and signing secret are the fakes' (tests/slack_fakes.py). Warnings
and errors are logged to stderr.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import build_app, make_http_server, settle_heap
from bot.db.session import make_engine
from bot.settings import Settings
from bot.slack.client import configure_logging
from bot.work_process import WorkPool, WorkSpec, default_work_processes
from tests.slack_fakes import SIGNING_SECRET, TOKEN

KIND_HEADER = "HTTP_X_BENCH_KIND"


class Timed:
    """Wraps the server's WSGI application: how long each call took, by request kind."""

    def __init__(self, application: Callable[..., Iterable[bytes]]) -> None:
        self.application = application
        self.timings: list[tuple[str, float]] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        started = time.perf_counter()
        try:
            return self.application(environ, start_response)
        finally:
            elapsed = time.perf_counter() - started
            with self._lock:
                self.timings.append((str(environ.get(KIND_HEADER, "?")), elapsed))


def main() -> None:
    url, slack_url, as_of_text, threads, timings_file = sys.argv[1:6]
    as_of = datetime.fromisoformat(as_of_text)
    configure_logging(logging.WARNING)
    settings = Settings(
        DATABASE_URL=url,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_url,
    )
    engine = make_engine(url)
    slots = os.environ.get("BENCH_WORK_SLOTS")  # experiment knobs, not the bot's
    processes = int(os.environ.get("BENCH_WORK_PROCESSES") or default_work_processes())
    # As `followup-bot serve` does: this process answers, work processes do the work.
    work: WorkPool | None = None
    if processes > 0:
        spec = WorkSpec(settings, url, now=as_of, work_slots=int(slots) if slots else None)
        work = WorkPool(spec, processes)
        app = build_app(settings, engine, clock=lambda: as_of, forward=work.forward)
        work.start()
    else:  # BENCH_WORK_PROCESSES=0: the listeners work in this process
        extra = {"work_slots": int(slots)} if slots else {}
        app = build_app(settings, engine, clock=lambda: as_of, **extra)
    server = make_http_server(app, host="127.0.0.1", port=0, threads=int(threads))
    settle_heap()  # as `followup-bot serve` does
    if os.environ.get("BENCH_SWITCH_INTERVAL"):  # an experiment knob, not the bot's
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL"]))
    timed = Timed(server.application)
    server.application = timed

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(json.dumps({"port": server.effective_port}), flush=True)
    try:
        server.run()
    finally:
        with timed._lock:
            Path(timings_file).write_text(json.dumps(timed.timings))
        server.close()
        if work is not None:
            work.stop()


if __name__ == "__main__":
    main()
