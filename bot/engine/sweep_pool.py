"""A worker process kept warm for the incremental sweeps of a long-lived process (the scheduler).

A full sweep splits its accounts between worker processes it starts for the occasion
(:func:`bot.engine.sweep.run_sweep`). An incremental sweep is over in a fraction of a second:
too short to start a worker for (a fork costs tens of milliseconds and the new worker compiles
every statement again; a spawned one first spends a second on imports). A process that sweeps
every minute keeps one instead: ``followup-bot scheduler`` makes a :class:`SweepPool` before it
starts its threads (so the worker is forked, not spawned), and an incremental sweep of at least
``POOL_FROM`` accounts hands the worker a share of them
(:func:`bot.engine.incremental.sweep_due`). The worker loads, evaluates and cards its share in a
transaction of its own while this process does the rest; this process then writes everything,
in its one transaction, as for a sweep without a worker. The worker writes nothing.

The change counters the sweep records were read before either process loaded anything, so a
change committed meanwhile leaves its account due for the next sweep, as in a full sweep
split between processes.

A worker that dies leaves the pool broken: its share is swept here instead, and a new worker
is started for the next sweep.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from functools import cache

from sqlalchemy import Connection, Engine

from bot.engine.facts import Scope
from bot.engine.sweep import Swept, sweep_scope
from bot.gc_pause import freeze_startup_heap, gc_paused

log = logging.getLogger(__name__)

POOL_FROM = 500  # due accounts from which the worker takes a share (fewer: not worth the trip)
WORKER_SHARE = 0.6  # of the accounts: this process writes its own share while the worker works


class SweepPool:
    """One worker process for the incremental sweeps of the database at ``url`` (see the
    module); it takes a share of a sweep of at least ``share_from`` accounts. Close it when
    done (or use it as a context manager)."""

    def __init__(self, url: str, *, share_from: int = POOL_FROM) -> None:
        self.url = url
        self.share_from = share_from
        self._executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        # Forked while this process runs no other thread (forking threads is unsafe; a pool
        # made later, after a worker died, spawns a clean one instead).
        forkable = (
            threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()
        )
        context = multiprocessing.get_context("fork" if forkable else "spawn")
        executor = ProcessPoolExecutor(max_workers=1, mp_context=context)
        executor.submit(_connect, self.url)  # the worker starts now, and connects
        return executor

    def share(self, ids: Sequence[str]) -> list[str]:
        """The worker's share of a sweep of ``ids`` (sorted): the last ``WORKER_SHARE`` of
        them, or none below ``share_from`` accounts."""
        if len(ids) < self.share_from:
            return []
        return list(ids[len(ids) - int(len(ids) * WORKER_SHARE) :])

    def submit(self, now: datetime, ids: Sequence[str]) -> Future[Swept]:
        """Start sweeping ``ids`` in the worker."""
        try:
            return self._executor.submit(_sweep_share, self.url, now, list(ids))
        except BrokenProcessPool:  # (its worker died since the last sweep)
            self._restart()
            return self._executor.submit(_sweep_share, self.url, now, list(ids))

    def collect(
        self, future: Future[Swept], conn: Connection, now: datetime, ids: Sequence[str]
    ) -> Swept:
        """The worker's sweep of ``ids`` (started by :meth:`submit`); if the worker died, the
        same sweep done here, on ``conn``."""
        try:
            return future.result()
        except BrokenProcessPool:
            log.warning("the sweep worker died; its %d accounts are swept here", len(ids))
            self._restart()
            return sweep_scope(conn, now, Scope(ids), checks=True)

    def _restart(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._executor = self._start()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> SweepPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------ in the worker process


@cache
def _engine(url: str) -> Engine:
    """The worker's own engine (one per worker process, kept: its connection and its compiled
    statements serve every later sweep)."""
    from bot.db.session import make_engine

    return make_engine(url)


def _connect(url: str) -> None:
    with _engine(url).connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    freeze_startup_heap()  # a long-lived process too: its full collections skip the modules


def _sweep_share(url: str, now: datetime, ids: list[str]) -> Swept:
    with gc_paused(), _engine(url).connect() as conn:
        return sweep_scope(conn, now, Scope(ids), checks=True)
