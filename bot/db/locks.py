"""Named locks that serialize work across processes sharing one database.

:func:`try_lock` takes a lock only if it is free (a scheduler job leaves the work to whoever
holds it); :func:`serialized` holds the lock ``name`` for the life of a transaction: on PostgreSQL a
transaction-level advisory lock (released by the commit or rollback), on a SQLite file an
exclusive ``flock`` on a file beside the database, taken before the transaction begins and
released after it ends (SQLite's own write lock comes too late: the transaction has read by
then). Whoever comes second waits, then works on what the first one committed.
"""

from __future__ import annotations

import fcntl
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, text


def lock_key(name: str) -> int:
    """A stable 63-bit advisory-lock key for ``name``."""
    return zlib.crc32(f"followup-bot:{name}".encode()) | (0x5F0B << 32)


@contextmanager
def serialized(engine: Engine, name: str) -> Iterator[Connection]:
    """A transaction (like ``engine.begin()``) that holds the lock ``name`` from its start to
    its end."""
    with _file_lock(engine, name), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(name)})
        yield conn


@contextmanager
def _file_lock(engine: Engine, name: str) -> Iterator[None]:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    path = Path(f"{database}.{name}.lock")
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def try_lock(engine: Engine, name: str) -> Iterator[bool]:
    """Take the lock ``name`` if nobody holds it, for the block: yields whether it was taken
    (no waiting). A scheduler job that finds its lock taken leaves the work to whoever holds
    it. On PostgreSQL a session-level advisory lock on a connection of its own, released at the
    end of the block (or when that connection dies); on SQLite a non-blocking ``flock``."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            key = lock_key(name)
            taken = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            conn.commit()
            try:
                yield taken
            finally:
                if taken:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield True
        return
    path = Path(f"{database}.{name}.lock")
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
