"""Pausing Python's cyclic garbage collector during bulk work.

A sweep or an import allocates millions of small container objects (facts, rows, reasons) that
live until the work ends. Each full collection walks all of them, over and over as they pile
up: measured on 100,000 accounts, collections took 2.2–2.9 s of an 11 s sweep. Reference
counting still frees everything acyclic at once, so pausing the collector for the duration
costs no memory to speak of; it resumes its own schedule when the work ends. (Not with a full
collection there: in the served app that walked every live object after each click's small
sweep, a third of the sweep's time.)

After long work (``LONG_WORK_SECONDS`` or more: a big sweep, an import), what it left alive is
handed straight to the oldest generation (``gc.freeze`` then ``gc.unfreeze``, two list
splices), so the first young collection does not walk it all: that was 0.07 s after a sweep of
100,000 accounts. Not after short work: the hand-over resets the collector's counts, and done
after every click's small sweep it kept the oldest generation from ever being collected (the
served app grew by about 4 MB per 100 sweeps; ``tests/test_demo_scenarios.py``). Nor when
objects are frozen already (the served app freezes what it built at start-up): ``unfreeze``
would hand those back to the collector too.

Threads may overlap: the collector resumes when the last paused work ends, and only if it was
enabled when the first one began.

A long-lived process (the served app, the scheduler) also moves what it built at start-up out of
the collector's reach (:func:`freeze_startup_heap`): the modules alone are enough objects that a
full collection walking them took ~50 ms, and one lands every few rounds.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

LONG_WORK_SECONDS = 1.0

_lock = threading.Lock()
_depth = 0
_was_enabled = False
_since = 0.0


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the block with the cyclic garbage collector paused."""
    global _depth, _was_enabled, _since
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            _since = time.monotonic()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                long_work = time.monotonic() - _since >= LONG_WORK_SECONDS
                if long_work and gc.get_freeze_count() == 0:
                    gc.freeze()
                    gc.unfreeze()
                gc.enable()


def freeze_startup_heap() -> None:
    """For a long-lived process, once it is built: collect, then freeze everything alive (the
    modules, SQLAlchemy's metadata, the app) so that full collections stop walking it."""
    gc.collect()
    gc.freeze()
