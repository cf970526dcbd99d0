"""Reading what the database already holds, for long lists of ids (``member_of_many``)."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, select

from bot.db.bulk import many_chunks, member_of_many


def is_empty(conn: Connection, table: Table) -> bool:
    return conn.execute(select(1).select_from(table).limit(1)).first() is None


def existing_ids(conn: Connection, table: Table, ids: Collection[str]) -> set[str]:
    """The ``ids`` that are rows of ``table``."""
    found: set[str] = set()
    if not ids:
        return found
    column = table.c.id
    for part in many_chunks(conn, sorted(ids)):
        where = member_of_many(conn, column, part)
        found.update(conn.execute(select(column).where(where)).scalars())
    return found


def rows_where_in(
    conn: Connection, table: Table, column: ColumnElement[Any], values: Collection[Any]
) -> Iterator[dict[str, Any]]:
    """Every row of ``table`` whose ``column`` is one of ``values``, as a dict."""
    if not values:
        return
    for part in many_chunks(conn, sorted(values)):
        result = conn.execute(select(table).where(member_of_many(conn, column, part)))
        names = list(result.keys())
        for row in result:
            yield dict(zip(names, row, strict=True))
