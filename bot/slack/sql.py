"""A portable "insert unless the key exists" for the claim rows (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


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
    dialect = conn.dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(table).values(**values)
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).values(**values)
    else:  # pragma: no cover - settings only allow the two
        raise NotImplementedError(f"insert_ignore on {dialect}")
    stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict))
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT … ON CONFLICT DO NOTHING.
    target = returning if returning is not None else table.primary_key.columns.values()[0]
    row = conn.execute(stmt.returning(target)).first()
    if row is None:
        return None
    return row[0] if returning is not None else True
