"""Portable INSERT … ON CONFLICT for SQLite and PostgreSQL: the dialect's insert (for an
upsert), and "insert unless the key exists" for the claim rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def dialect_insert(conn: Connection, table: Table) -> Any:
    """``table``'s INSERT in the connection's dialect, which has ``on_conflict_do_…``."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"INSERT … ON CONFLICT on {dialect}")  # pragma: no cover


def insert_ignore(
    conn: Connection,
    table: Table,
    values: Mapping[str, Any],
    conflict: Sequence[str],
    returning: ColumnElement[Any] | None = None,
) -> Any | None:
    """INSERT … ON CONFLICT (conflict) DO NOTHING: the ``returning`` value (or True) when the row
    was inserted, None when a row with that key already existed. Atomic on both backends, so
    of two processes claiming the same key exactly one wins."""
    stmt = dialect_insert(conn, table).values(**values)
    stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict))
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT … ON CONFLICT DO NOTHING.
    target = returning if returning is not None else table.primary_key.columns.values()[0]
    row = conn.execute(stmt.returning(target)).first()
    if row is None:
        return None
    return row[0] if returning is not None else True
