"""The work process of ``followup-bot serve``: where the listeners do their work after ``ack()``.

The serving process only answers Slack. Its listeners forward each request they acknowledged
(the parsed body and the headers) through a queue to this process, whose own app — the same
listeners, work slots and clock — runs the request again and does the work: the account sweeps,
the DM and App Home re-renders, the replies (see :mod:`bot.handlers.work`). What that app's
listeners ``ack()`` is dropped; Slack has had its answer. Requests come in as Socket Mode
requests: the serving process verified them, so they are not verified again here.

The process runs at a lower CPU priority than the serving one, so answering Slack goes first.
It stops when asked (after the work under way) or when the serving process is gone. A work
process that died is started again at the next request, and the log says so.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.process import BaseProcess
from typing import Any

from bot.settings import Settings

log = logging.getLogger(__name__)

DISPATCH_THREADS = 8  # requests being handed to the app at once (each returns at its ack())
NICENESS = 5  # added to the work process's CPU niceness: the serving process answers first
POLL_SECONDS = 1.0  # how often an idle work process checks that the serving one is still there

Request = tuple[dict[str, Any], dict[str, Sequence[str]]]  # body, headers


@dataclass(frozen=True, slots=True)
class WorkSpec:
    """What the work process builds its app from (sent to it pickled)."""

    settings: Settings
    database_url: str
    now: datetime | None = None  # a fixed "now" (benchmarks); None: the clock
    work_slots: int | None = None  # None: the app's default


class WorkProcess:
    """The work process, from the serving process's side: ``start()``, ``forward(body,
    headers)`` for each request, ``stop()``."""

    def __init__(self, spec: WorkSpec) -> None:
        self._spec = spec
        self._context = multiprocessing.get_context("spawn")  # the server runs threads
        self._inbox: Any = None
        self._process: BaseProcess | None = None
        self._lock = threading.Lock()

    def start(self) -> WorkProcess:
        # A queue of its own: a process killed while reading holds the queue's lock for good.
        inbox = self._context.Queue()
        process = self._context.Process(
            target=work_main,
            args=(self._spec, inbox, os.getpid()),
            name="followup-bot-work",
        )
        process.start()
        self._inbox, self._process = inbox, process
        log.info("work process started (pid %s)", process.pid)
        return self

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def forward(self, body: dict[str, Any], headers: dict[str, Sequence[str]]) -> None:
        """Queue one acknowledged request for the work process (starting it again if it died)."""
        with self._lock:
            process = self._process
            if process is None or not process.is_alive():
                code = process.exitcode if process is not None else None
                log.error("the work process is gone (exit code %s); starting a new one", code)
                self.start()
            inbox = self._inbox
        inbox.put((body, dict(headers)))

    def stop(self, timeout: float = 60.0) -> None:
        """Let the work under way finish, then end the process."""
        process = self._process
        if process is None:
            return
        if process.is_alive():
            self._inbox.put(None)
            process.join(timeout)
            if process.is_alive():
                log.warning("the work process did not stop within %.0f s; ending it", timeout)
                process.terminate()
                process.join(5)
        self._inbox.close()
        self._inbox.join_thread()


def work_main(spec: WorkSpec, inbox: Any, parent_pid: int) -> None:
    """The work process: an app fed from ``inbox`` until ``None`` or the parent is gone."""
    from slack_bolt import BoltRequest

    from bot.app import LISTENER_WORK_SLOTS, build_app, settle_heap, utc_now
    from bot.db.session import make_engine
    from bot.slack.client import configure_logging

    configure_logging()
    with contextlib.suppress(OSError):  # not allowed here: run at the same priority
        os.nice(NICENESS)
    engine = make_engine(spec.database_url)
    now = spec.now
    app = build_app(
        spec.settings,
        engine,
        clock=(lambda: now) if now is not None else utc_now,
        socket_mode=True,  # nothing to verify: the serving process did
        token_verification=False,
        work_slots=spec.work_slots or LISTENER_WORK_SLOTS,
    )
    settle_heap()

    def dispatch(request: Request) -> None:
        body, headers = request
        try:
            app.dispatch(BoltRequest(body=body, headers=headers, mode="socket_mode"))
        except Exception:
            log.exception("the work process could not run a %s request", body.get("type"))

    with ThreadPoolExecutor(DISPATCH_THREADS, thread_name_prefix="dispatch") as pool:
        while True:
            try:
                item = inbox.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if os.getppid() != parent_pid:
                    log.warning("the serving process is gone; the work process stops")
                    break
                continue
            if item is None:
                break
            pool.submit(dispatch, item)
    app.listener_runner.listener_executor.shutdown(wait=True)  # the work after each ack()
    engine.dispose()
