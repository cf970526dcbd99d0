"""Fast bulk INSERT of row dicts into a Core table, inside the caller's transaction.

Values go through the column types' own bind processors (so they are stored exactly as
SQLAlchemy stores them), then:

* PostgreSQL (psycopg 3): ``COPY ... FROM STDIN``;
* SQLite: one DBAPI ``executemany`` per set of non-null columns (binding NULL parameters is
  slow in Python's sqlite3, and an omitted column is NULL anyway);
* anything else: Core ``insert(table)`` executemany.

Every row must hold every column the table should receive (the writer fills defaults), and
the columns omitted by ``rows`` must be nullable or have a server default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, Table, any_, bindparam, insert
from sqlalchemy.dialects.postgresql import ARRAY

from bot.db.types import UTCDateTime

T = TypeVar("T")

Processor = Callable[[Any], Any]

_PROBES = (
    datetime(2001, 2, 3, 4, 5, 6, 7, tzinfo=UTC),
    datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
)


def _instant_processor(dialect_name: str, slow: Processor) -> Processor:
    """A faster equivalent of the ``UTCDateTime`` bind processor for aware UTC datetimes (what
    the converters produce; anything else takes the real processor).

    ``datetime.replace`` is slow on CPython 3.11, so SQLite gets the ISO text of the aware
    value minus its ``+00:00``, and PostgreSQL gets the aware value itself: its text form is
    read into a ``timestamp`` column with the offset ignored, i.e. as the UTC wall time. The
    fast path is used only when it stores what the real processor stores.
    """
    if dialect_name == "sqlite":

        def fast(value: Any) -> Any:
            if value.tzinfo is UTC:
                return value.isoformat(" ", "microseconds")[:-6]
            return slow(value)

        def stored(value: Any) -> Any:
            return value

    else:

        def fast(value: Any) -> Any:
            return value if value.tzinfo is UTC else slow(value)

        def stored(value: Any) -> Any:
            return value.replace(tzinfo=None)

    if all(stored(fast(p)) == slow(p) for p in _PROBES):
        return fast
    return slow


def _processors(conn: Connection, table: Table, columns: Sequence[str]) -> dict[str, Processor]:
    dialect = conn.dialect
    out: dict[str, Processor] = {}
    for name in columns:
        column_type = table.c[name].type
        proc: Processor | None = column_type.dialect_impl(dialect).bind_processor(dialect)
        if proc is not None:
            if isinstance(column_type, UTCDateTime):
                proc = _instant_processor(dialect.name, proc)
            out[name] = proc
    return out


def _process(rows: Sequence[dict[str, Any]], processors: dict[str, Processor]) -> None:
    """Run the bind processors over the non-null values, in place."""
    for name, proc in processors.items():
        for row in rows:
            value = row[name]
            if value is not None:
                row[name] = proc(value)


def bulk_insert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT ``rows`` (dicts with the same keys) into ``table``. The dicts are consumed: their
    values are replaced by what the driver receives."""
    if not rows:
        return
    dialect = conn.dialect
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        _copy(conn, table, rows)
    elif dialect.name == "sqlite":
        _sqlite(conn, table, rows)
    else:
        conn.execute(insert(table), list(rows))


def _quoted(conn: Connection, table: Table, columns: Sequence[str]) -> tuple[str, str]:
    quote = conn.dialect.identifier_preparer.quote
    return quote(table.name), ", ".join(quote(c) for c in columns)


def _copy(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    columns = list(rows[0])
    _process(rows, _processors(conn, table, columns))
    name, cols = _quoted(conn, table, columns)
    getter = itemgetter(*columns)
    single = len(columns) == 1
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {name} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row((getter(row),) if single else getter(row))


def _sqlite(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    columns = list(rows[0])
    _process(rows, _processors(conn, table, columns))
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        shape = tuple([k for k, v in row.items() if v is not None])
        group = groups.get(shape)
        if group is None:
            group = groups[shape] = []
        group.append(row)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        for shape, group in groups.items():
            name, cols = _quoted(conn, table, shape)
            marks = ", ".join("?" * len(shape))
            getter = itemgetter(*shape)
            values = [(getter(r),) for r in group] if len(shape) == 1 else map(getter, group)
            cursor.executemany(f"INSERT INTO {name} ({cols}) VALUES ({marks})", values)
    finally:
        cursor.close()


SQLITE_CHUNK = 900  # SQLite allows 999 variables per statement
POSTGRES_CHUNK = 10_000


def chunks(items: Sequence[T], size: int = SQLITE_CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in pieces of at most ``size`` (default: one SQLite IN list)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def id_chunks(conn: Connection, values: Sequence[T]) -> Iterator[Sequence[T]]:
    """``values`` in pieces small enough for one ``member_of`` each."""
    return chunks(values, SQLITE_CHUNK if conn.dialect.name == "sqlite" else POSTGRES_CHUNK)


def member_of(
    conn: Connection, column: ColumnElement[Any], values: Sequence[Any]
) -> ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL ``column = ANY(:array)``, one parameter instead of
    thousands (much cheaper to send and plan)."""
    if conn.dialect.name == "postgresql":
        array = bindparam("members", list(values), type_=ARRAY(column.type))
        return column == any_(array)
    return column.in_(values)
