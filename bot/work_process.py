"""The work process of ``followup-bot serve``: where the listeners do their work after ``ack()``.

The serving process only answers Slack. Its listeners forward each request they acknowledged
(the parsed body and the headers) through a queue to this process, whose own app — the same
listeners, work slots and clock — runs the request again and does the work: the account sweeps,
the DM and App Home re-renders, the replies (see :mod:`bot.handlers.work`). What that app's
listeners ``ack()`` is dropped; Slack has had its answer. Requests come in as Socket Mode
requests: the serving process verified them, so they are not verified again here.

The process runs at a lower CPU priority than the serving one, so answering Slack goes first.
It stops when asked (after the work under way) or when the serving process is gone. A
:class:`WorkPool` runs several (``serve --work-processes``, default one per CPU): each Slack
user's requests go to the same one, in order, and the others use the other CPUs.

Nothing acknowledged is lost when the work process dies: it reports each request it has run to
its end, the serving process keeps the others, and a watcher thread there starts a new work
process and sends it those again (the log says so). A request the work process died on twice
is dropped with an error in the log, so one bad request cannot keep killing it. A request that
was half done runs again: the card actions then find the alert already changed and say so, and
an App Home event takes over the dead process's claim on it (``RESENT`` in its context, see
:mod:`bot.slack.dedupe`) instead of waiting for the claim to run out.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
import os
import queue
import threading
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.process import BaseProcess
from typing import Any

from bot.settings import Settings

log = logging.getLogger(__name__)

# Requests being run at once. Each holds its thread until its work is done, most of them
# waiting for one of the app's work slots; the ones that open a modal skip that wait (Slack's
# trigger_id lasts 3 s), so there must be threads to spare for them.
DISPATCH_THREADS = 64
NICENESS = 10  # added to the work process's CPU niceness: the serving process answers first
POLL_SECONDS = 1.0  # how often an idle work process checks that the serving one is still there
WATCH_SECONDS = 0.5  # how often the serving process checks that its work process is alive
MAX_ATTEMPTS = 2  # work processes a request may be sent to
MAX_WORK_PROCESSES = 4

Request = tuple[dict[str, Any], dict[str, Sequence[str]]]  # body, headers


@dataclass(frozen=True, slots=True)
class WorkSpec:
    """What the work process builds its app from (sent to it pickled)."""

    settings: Settings
    database_url: str
    now: datetime | None = None  # a fixed "now" (benchmarks); None: the clock
    work_slots: int | None = None  # None: the app's default


@dataclass(slots=True)
class _Sent:
    request: Request
    attempts: int = 1


class WorkProcess:
    """The work process, from the serving process's side: ``start()``, ``forward(body,
    headers)`` for each request, ``stop()``."""

    def __init__(self, spec: WorkSpec, name: str = "followup-bot-work-1") -> None:
        self._spec = spec
        self._name = name
        self._context = multiprocessing.get_context("spawn")  # the server runs threads
        self._inbox: Any = None
        self._done: Any = None
        self._process: BaseProcess | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending: dict[int, _Sent] = {}  # forwarded, not reported done yet
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    def start(self) -> WorkProcess:
        with self._lock:
            self._start_process()
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, name="work-watcher", daemon=True)
            self._watcher.start()
        return self

    def forward(self, body: dict[str, Any], headers: dict[str, Sequence[str]]) -> None:
        """Queue one acknowledged request for the work process (starting it again if it died)."""
        with self._lock:
            if not self._alive():
                self._replace()
            request_id = next(self._ids)
            request = (body, dict(headers))
            self._pending[request_id] = _Sent(request)
            self._inbox.put((request_id, *request, False))

    def stop(self, timeout: float = 60.0) -> None:
        """Let the work under way finish, then end the process."""
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join()
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
        self._close_queues()

    # -- in the serving process, under self._lock -----------------------------------------

    def _start_process(self) -> None:
        # Queues of its own: a process killed while using one holds its lock for good.
        inbox, done = self._context.Queue(), self._context.Queue()
        process = self._context.Process(
            target=work_main,
            args=(self._spec, inbox, done, os.getpid()),
            name=self._name,
        )
        process.start()
        self._inbox, self._done, self._process = inbox, done, process
        log.info("work process %s started (pid %s)", self._name, process.pid)

    def _alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def _replace(self) -> None:
        """A new work process for a dead one, sent what the dead one did not finish."""
        code = self._process.exitcode if self._process is not None else None
        log.error(
            "the work process %s is gone (exit code %s); starting a new one", self._name, code
        )
        self._collect_done()
        self._close_queues()
        self._start_process()
        again = []
        for request_id, sent in sorted(self._pending.items()):
            if sent.attempts >= MAX_ATTEMPTS:
                del self._pending[request_id]
                log.error(
                    "dropped a %s request: %d work processes died while running it",
                    sent.request[0].get("type"),
                    sent.attempts,
                )
                continue
            sent.attempts += 1
            again.append(request_id)
        if again:
            log.warning("sending the new work process %d unfinished request(s)", len(again))
        for request_id in again:
            self._inbox.put((request_id, *self._pending[request_id].request, True))

    def _collect_done(self) -> None:
        while True:
            try:
                request_id = self._done.get_nowait()
            except (queue.Empty, EOFError, OSError, ValueError):
                return
            self._pending.pop(request_id, None)

    def _close_queues(self) -> None:
        for q in (self._inbox, self._done):
            if q is not None:
                q.close()
                q.join_thread()

    # -- the watcher thread ----------------------------------------------------------------

    def _watch(self) -> None:
        while not self._stopping.wait(WATCH_SECONDS):
            with self._lock:
                if self._stopping.is_set():
                    return
                if self._alive():
                    self._collect_done()
                else:
                    self._replace()


class WorkPool:
    """Several work processes, from the serving process's side (same interface as one). Each
    Slack user's requests go to the same process, so that they are worked on in order."""

    def __init__(self, spec: WorkSpec, processes: int = 1) -> None:
        self._workers = [
            WorkProcess(spec, name=f"followup-bot-work-{n}") for n in range(1, processes + 1)
        ]

    def start(self) -> WorkPool:
        for worker in self._workers:
            worker.start()
        return self

    def forward(self, body: dict[str, Any], headers: dict[str, Sequence[str]]) -> None:
        who = _slack_user(body)
        n = zlib.crc32(who.encode()) % len(self._workers) if who else 0
        self._workers[n].forward(body, headers)

    def stop(self, timeout: float = 60.0) -> None:
        for worker in self._workers:
            worker.stop(timeout)


def default_work_processes() -> int:
    """One work process per CPU, at most ``MAX_WORK_PROCESSES``."""
    return max(1, min(os.cpu_count() or 1, MAX_WORK_PROCESSES))


def _slack_user(body: dict[str, Any]) -> str:
    """The Slack user a request comes from: a click or view's ``user``, a slash command's
    ``user_id``, an event's ``event.user``; "" when there is none."""
    user = body.get("user")
    if isinstance(user, dict):
        user = user.get("id")
    if not isinstance(user, str):
        user = body.get("user_id")
    if not isinstance(user, str):
        event = body.get("event")
        user = event.get("user") if isinstance(event, dict) else None
    return user if isinstance(user, str) else ""


def work_main(spec: WorkSpec, inbox: Any, done: Any, parent_pid: int) -> None:
    """The work process: an app fed from ``inbox`` until ``None`` or the parent is gone; the id
    of each request it has run to its end goes to ``done``."""
    from slack_bolt import BoltRequest

    from bot.app import LISTENER_WORK_SLOTS, build_app, settle_heap, utc_now
    from bot.db.session import make_engine
    from bot.handlers.work import RESENT
    from bot.logs import setup_logging_from

    setup_logging_from(spec.settings)
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
        process_before_response=True,  # app.dispatch returns when the work is done
    )
    settle_heap()

    def dispatch(
        request_id: int, body: dict[str, Any], headers: dict[str, Any], resent: bool
    ) -> None:
        try:
            context = {RESENT: resent}
            app.dispatch(
                BoltRequest(body=body, headers=headers, context=context, mode="socket_mode")
            )
        except Exception:
            log.exception("the work process could not run a %s request", body.get("type"))
        done.put(request_id)

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
            pool.submit(dispatch, *item)
    app.listener_runner.listener_executor.shutdown(wait=True)  # the work after each ack()
    engine.dispose()
