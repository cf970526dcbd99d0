"""Reading what the database already holds, in chunks of ids (SQLite allows 999 variables per
statement; PostgreSQL takes bigger lists)."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, Table, select

from bot.db.bulk import POSTGRES_CHUNK, SQLITE_CHUNK, chunks, member_of

T = TypeVar("T")


def chunk_size(conn: Connection) -> int:
    return SQLITE_CHUNK if conn.dialect.name == "sqlite" else POSTGRES_CHUNK


def is_empty(conn: Connection, table: Table) -> bool:
    return conn.execute(select(1).select_from(table).limit(1)).first() is None


def existing_ids(conn: Connection, table: Table, ids: Collection[str]) -> set[str]:
    """The ``ids`` that are rows of ``table``."""
    found: set[str] = set()
    if not ids:
        return found
    column = table.c.id
    for part in chunks(sorted(ids), chunk_size(conn)):
        found.update(conn.execute(select(column).where(member_of(conn, column, part))).scalars())
    return found


def rows_where_in(
    conn: Connection, table: Table, column: ColumnElement[Any], values: Collection[Any]
) -> Iterator[dict[str, Any]]:
    """Every row of ``table`` whose ``column`` is one of ``values``, as a dict."""
    if not values:
        return
    for part in chunks(sorted(values), chunk_size(conn)):
        result = conn.execute(select(table).where(member_of(conn, column, part)))
        names = list(result.keys())
        for row in result:
            yield dict(zip(names, row, strict=True))
