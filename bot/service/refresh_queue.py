"""Refresh: sweep one reader's accounts again (recording), so their stored queue is current.

The App Home's Refresh button runs this after its answer to Slack. One refresh per user runs at
a time, across every process on the database (a named lock, :func:`bot.db.locks.try_lock`): a
second click while one runs is told so and changes nothing. Recording sweeps of several
processes take turns (:data:`bot.engine.sweep.RECORDING_SWEEP_LOCK`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Engine

from bot.db.locks import try_lock
from bot.engine.sweep import SweepResult, run_sweep

_lock = threading.Lock()
_running: set[str] = set()


def refreshing_users() -> frozenset[str]:
    """The users whose queue this process is sweeping again right now (the Home says so)."""
    with _lock:
        return frozenset(_running)


class AlreadyRefreshing(Exception):
    pass


@contextmanager
def refreshing(engine: Engine, user_id: str) -> Iterator[None]:
    """Mark ``user_id``'s queue as being refreshed for the block (the Home says so);
    AlreadyRefreshing when it is already, in this process or another."""
    with _lock:
        if user_id in _running:
            raise AlreadyRefreshing(user_id)
        _running.add(user_id)
    try:
        with try_lock(engine, f"refresh-{user_id}") as taken:
            if not taken:
                raise AlreadyRefreshing(user_id)
            yield
    finally:
        with _lock:
            _running.discard(user_id)


def refresh_queue(engine: Engine, user_id: str, now: datetime) -> SweepResult:
    """Sweep ``user_id``'s accounts at ``now``, recording alerts and their stored cards."""
    return run_sweep(engine, now, csm_id=user_id)
