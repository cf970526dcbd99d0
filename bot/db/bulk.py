"""Fast bulk INSERT of row dicts into a Core table, inside the caller's transaction.

Values go through the column types' own bind processors (so they are stored exactly as
SQLAlchemy stores them), then:

* PostgreSQL (psycopg 3): ``COPY ... FROM STDIN``;
* SQLite: column by column, then DBAPI ``executemany`` of multi-row ``VALUES`` lists, NULLs
  bound through a C adapter (``bind_nulls_fast``), and columns NULL in every row left out;
* anything else: Core ``insert(table)`` executemany.

Every row must hold every column the table should receive, or leave it to ``defaults`` (the
importer's rows give only the columns their records give); the columns left out of both must
be nullable or have a server default.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import sys
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import repeat
from operator import add, attrgetter, itemgetter
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    ForeignKey,
    String,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.types import NullType

from bot.db.types import UTCDateTime

T = TypeVar("T")

log = logging.getLogger(__name__)

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


def bulk_insert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    inserts: BackgroundInserts | None = None,
    *,
    defaults: Mapping[str, Any] | None = None,
    given: Collection[str] | None = None,
) -> None:
    """INSERT ``rows`` into ``table`` (the dicts are left as they are): dicts with the same
    keys, or, with ``defaults``, with any of its keys (the columns written), the missing ones
    taking their value from it; ``given``: the only columns any row holds, if known. With
    ``inserts``, the INSERTs (or the COPY) run on its thread and this returns once the rows
    are prepared."""
    if not rows:
        return
    columns = {name: _column(rows, name, defaults, given) for name in (defaults or rows[0])}
    dialect = conn.dialect
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        _copy(conn, table, columns, inserts)
    elif dialect.name == "sqlite":
        _sqlite(conn, table, columns, inserts)
    else:
        names = list(columns)
        params = [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]
        conn.execute(insert(table), params)


def _column(
    rows: Sequence[dict[str, Any]],
    name: str,
    defaults: Mapping[str, Any] | None,
    given: Collection[str] | None,
) -> list[Any]:
    """The values of one column, at C speed (each pass over the rows costs: they are spread
    over memory)."""
    if defaults is None:
        return list(map(itemgetter(name), rows))
    if given is not None and name not in given:
        return [defaults[name]] * len(rows)
    return list(map(dict.get, rows, repeat(name), repeat(defaults[name])))


class BackgroundInserts:
    """The database's side of big inserts, run in order on one background thread while the
    caller goes on preparing rows (or folding rollups): sqlite3 lets go of the interpreter lock
    while SQLite works, and psycopg while it waits for PostgreSQL, so the two overlap. Other
    work on the connection can take its turn in that order too: :meth:`submit` for a job,
    :meth:`call` for a read whose result the caller wants later.

    Nothing else may use the connection until :meth:`drain` (or the end of
    :func:`background_inserts`) has waited for the submitted jobs; a job that fails makes the
    next ``submit``/``drain`` raise its error (a :meth:`call`'s error goes to its future).
    """

    def __init__(self) -> None:
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=16)
        self._pending = 0
        self._done = threading.Condition()
        self._error: BaseException | None = None
        self._cancelled = False
        self._thread = threading.Thread(target=self._run, name="background-inserts", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            try:
                if self._error is None and not self._cancelled:
                    job()
                elif isinstance(job, _Call):
                    job.future.cancel()
            except BaseException as exc:  # handed to the caller at submit/drain
                self._error = exc
            finally:
                with self._done:
                    self._pending -= 1
                    self._done.notify_all()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def submit(self, job: Callable[[], None]) -> None:
        self._raise()
        with self._done:
            self._pending += 1
        self._queue.put(job)

    def call(self, fn: Callable[[], T]) -> Future[T]:
        """Run ``fn`` on the thread after what was submitted before it (e.g. a read the
        caller needs later); its result, or its error, comes in the future (cancelled if an
        earlier INSERT failed)."""
        job = _Call(fn)
        self.submit(job)
        return job.future

    def drain(self) -> None:
        """Wait for every submitted INSERT; raise the first one's error."""
        with self._done:
            self._done.wait_for(lambda: self._pending == 0)
        self._raise()

    def cancel(self) -> None:
        """Skip the INSERTs not started yet (the caller failed: its transaction rolls back)."""
        self._cancelled = True

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()


class _Call(Generic[T]):
    """A job whose result goes to a future."""

    def __init__(self, fn: Callable[[], T]) -> None:
        self.fn = fn
        self.future: Future[T] = Future()

    def __call__(self) -> None:
        try:
            result = self.fn()
        except BaseException as exc:  # the caller's to handle, not the INSERTs'
            self.future.set_exception(exc)
        else:
            self.future.set_result(result)


def done(value: T) -> Future[T]:
    """A future that already holds ``value``."""
    future: Future[T] = Future()
    future.set_result(value)
    return future


# How long a thread holding the interpreter lock keeps it from one waiting for it, while
# background inserts run: long enough for the caller's work, short enough that SQLite (whose
# statements take a few milliseconds each) is not left waiting.
SWITCH_INTERVAL = 0.0005


@contextmanager
def background_inserts(conn: Connection) -> Iterator[BackgroundInserts | None]:
    """A :class:`BackgroundInserts` for ``conn`` on SQLite or psycopg (None elsewhere), drained
    at the end of the block: its errors raise there. If the block fails, the INSERTs not
    started yet are skipped."""
    dialect = conn.dialect
    if dialect.name != "sqlite" and (dialect.name, dialect.driver) != ("postgresql", "psycopg"):
        yield None
        return
    inserts = BackgroundInserts()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, SWITCH_INTERVAL))
    try:
        yield inserts
        inserts.drain()
    except BaseException:
        inserts.cancel()
        raise
    finally:
        inserts.close()
        sys.setswitchinterval(interval)


def _quoted(conn: Connection, table: Table, columns: Sequence[str]) -> tuple[str, str]:
    quote = conn.dialect.identifier_preparer.quote
    return quote(table.name), ", ".join(quote(c) for c in columns)


# COPY's binary format, per column type (by its class name): what the type's values are sent
# as. An instant goes as ``timestamptz``, whose binary form (microseconds since 2000-01-01 UTC)
# a ``timestamp`` column reads as the UTC wall time: what UTCDateTime stores.
_BINARY_COPY = {
    "Boolean": "bool",
    "Date": "date",
    "Float": "float8",
    "Integer": "int4",
    "JSON": "json",
    "String": "varchar",
    "Text": "text",
    "UTCDateTime": "timestamptz",
}


def _copy(
    conn: Connection,
    table: Table,
    data: dict[str, list[Any]],
    inserts: BackgroundInserts | None = None,
) -> None:
    """COPY the rows whose values ``data`` holds (by column) in PostgreSQL's binary format
    (less work for the server than parsing text), or in text for a table with a column type
    not listed in ``_BINARY_COPY``."""
    columns = list(data)
    binary = [_BINARY_COPY.get(type(table.c[c].type).__name__) for c in columns]
    types = None if None in binary else binary
    processors = _processors(conn, table, columns)
    prepared = []
    for column, values in data.items():
        proc = processors.get(column)
        if proc is not None and types is not None and isinstance(table.c[column].type, UTCDateTime):
            naive = next((v for v in values if v is not None and v.tzinfo is None), None)
            if naive is not None:
                proc(naive)  # raises the processor's error
            proc = None  # aware values go as they are (timestamptz)
        if proc is not None:
            values = [None if v is None else proc(v) for v in values]
        prepared.append(values)
    records = list(zip(*prepared, strict=True))
    name, cols = _quoted(conn, table, columns)
    driver = conn.connection.driver_connection
    options = "" if types is None else " (FORMAT BINARY)"

    def run() -> None:
        cursor = driver.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {name} ({cols}) FROM STDIN{options}") as copy:
            if types is not None:
                copy.set_types(types)
            for record in records:
                copy.write_row(record)

    run_later(run, inserts)


def run_later(job: Callable[[], None], inserts: BackgroundInserts | None) -> None:
    """``job`` now, or on the thread of ``inserts`` (after what was submitted before it)."""
    if inserts is None:
        job()
    else:
        inserts.submit(job)


_TZINFO = attrgetter("tzinfo")


class _TextMemo(dict[Any, str]):
    """``make(key)`` for keys seen before, from a dict (at C speed); forgets everything when it
    holds ``limit`` texts."""

    def __init__(self, make: Callable[[Any], str], limit: int = 100_000) -> None:
        super().__init__()
        self._make = make
        self._limit = limit

    def __missing__(self, key: Any) -> str:
        if len(self) >= self._limit:
            self.clear()
        text = self[key] = self._make(key)
        return text


# An import holds a few hundred distinct days and, at minute precision, at most 1,440 times of
# day: formatting each once is several times faster than ``isoformat`` per value.
_DAY_TEXTS = _TextMemo(lambda day: day.isoformat() + " ")
_CLOCK_TEXTS = _TextMemo(lambda clock: clock.isoformat("microseconds"))


def _utc_texts(values: Iterable[datetime]) -> list[str]:
    """Aware UTC datetimes as ``YYYY-MM-DD HH:MM:SS.ffffff`` (UTC wall time, no offset)."""
    values = list(values)
    days = map(_DAY_TEXTS.__getitem__, map(datetime.date, values))
    return list(map(add, days, map(_CLOCK_TEXTS.__getitem__, map(datetime.time, values))))


def _sqlite_column(values: list[Any], proc: Processor | None, instant: bool) -> list[Any]:
    """One column's values as sqlite3 receives them (None stays None)."""
    if proc is None:
        return values
    given = [v for v in values if v is not None] if None in values else values
    if (
        instant
        and set(map(_TZINFO, given)) == {UTC}
        and _utc_texts(_PROBES) == list(map(proc, _PROBES))
    ):
        done = _utc_texts(given)  # what the UTCDateTime processor stores, at C speed
    else:
        done = list(map(proc, given))
    if given is values:
        return done
    it = iter(done)
    return [None if v is None else next(it) for v in values]


def bind_nulls_fast() -> None:
    """Have sqlite3 bind None through an adapter written in C (a dict's ``get``: None for
    None). Without one, sqlite3 looks for ``__adapt__`` and ``__conform__`` on each None it
    binds, two failed attribute lookups that make a NULL parameter cost several times what a
    text one does (0.8 µs against 0.15 µs with the adapter). The value bound is the same NULL
    either way; this only registers the adapter for the process's sqlite3 module, once."""
    if (type(None), sqlite3.PrepareProtocol) not in sqlite3.adapters:
        nothing: dict[None, None] = {}
        sqlite3.register_adapter(type(None), nothing.get)


def _sqlite(
    conn: Connection,
    table: Table,
    given: dict[str, list[Any]],
    inserts: BackgroundInserts | None = None,
) -> None:
    """Column by column: the bind processors over each column, then multi-row ``VALUES``
    lists (far fewer statement steps than one row each), NULLs and all."""
    bind_nulls_fast()
    processors = _processors(conn, table, list(given))
    data: dict[str, list[Any]] = {}
    for name, values in given.items():
        if values[0] is None and values.count(None) == len(values):
            continue  # an omitted column is NULL anyway
        instant = isinstance(table.c[name].type, UTCDateTime)
        data[name] = _sqlite_column(values, processors.get(name), instant)
    driver = conn.connection.driver_connection
    limit = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)  # type: ignore[union-attr]
    quote = conn.dialect.identifier_preparer.quote
    quoted = [quote(c) for c in data]
    statements = _sqlite_statements(quote(table.name), quoted, list(data.values()), limit)

    def run() -> None:
        cursor = driver.cursor()  # type: ignore[union-attr]
        try:
            for sql, params in statements:
                cursor.executemany(sql, params)
        finally:
            cursor.close()

    run_later(run, inserts)


def _sqlite_statements(
    name: str, quoted: Sequence[str], columns: list[list[Any]], limit: int
) -> list[tuple[str, list[list[Any]]]]:
    """INSERTs of the rows whose values ``columns`` holds (one list per column of
    ``quoted``) into the table ``name``, with their parameter lists: statements of ``per``
    rows each, and one of the rows left over.

    The parameters are laid out here, in full, so that the thread running the statements has
    no Python code of its own to run: it needs the interpreter lock only to bind them.
    """
    width = len(quoted)
    count = len(columns[0])
    flat: list[Any] = [None] * (count * width)
    for position, values in enumerate(columns):
        flat[position::width] = values
    cols = ", ".join(quoted)
    one = "(" + ", ".join("?" * width) + ")"
    per = max(1, min(SQLITE_ROWS_PER_INSERT, limit // width))
    full = count - count % per
    statements = []
    if full:
        step = per * width
        many = f"INSERT INTO {name} ({cols}) VALUES " + ", ".join([one] * per)
        statements.append((many, [flat[s : s + step] for s in range(0, full * width, step)]))
    if full < count:
        rest = f"INSERT INTO {name} ({cols}) VALUES " + ", ".join([one] * (count - full))
        statements.append((rest, [flat[full * width :]]))
    return statements


SQLITE_ROWS_PER_INSERT = 500  # rows per multi-row INSERT statement on SQLite
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
    conn: Connection,
    column: ColumnElement[Any] | InstrumentedAttribute[Any],
    values: Sequence[Any],
) -> ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL ``column = ANY(:array)``, one parameter instead of
    thousands (much cheaper to send and plan)."""
    if conn.dialect.name == "postgresql":
        texts = isinstance(column.type, String) and all(type(v) is str for v in values)
        if len(values) > PG_TEXT_LIST and texts:
            # (text[], not varchar(n)[]: a cast that checks each element's length is not
            # folded into a constant, and the scan then compares each row with every element)
            return column == any_(cast(_array_text(values), ARRAY(Text)))
        array = bindparam("members", list(values), type_=ARRAY(column.type))
        return column == any_(array)
    return column.in_(values)


# From how many strings a PostgreSQL list goes as the text of an array: psycopg dumps an
# array parameter element by element in Python (a regular expression each), about 2 µs per
# id, on the thread that also needs the interpreter lock for the import's own work. As one
# text, the server reads it as a constant too, which it can hash to filter a scan.
PG_TEXT_LIST = 100
_ARRAY_QUOTES = str.maketrans({"\\": "\\\\", '"': '\\"'})


def _array_text(values: Sequence[str]) -> BindParameter[Any]:
    """``values`` as the text of a PostgreSQL array (each element quoted), made at C speed."""
    joined = "\x00".join(values)
    if '"' in joined or "\\" in joined:
        values = [v.translate(_ARRAY_QUOTES) for v in values]
    # (untyped: the server reads it straight as the array, a constant it can hash)
    return bindparam("members", '{"' + '","'.join(values) + '"}', type_=NullType())


SQLITE_JSON_CHUNK = 50_000  # strings per json_each list (one parameter, any length)


POSTGRES_MANY_CHUNK = 1_000_000  # ids per array parameter: one query, one scan, for most lists


def many_chunks(conn: Connection, values: Sequence[T]) -> Iterator[Sequence[T]]:
    """``values`` in pieces for one ``member_of_many`` each."""
    sqlite = conn.dialect.name == "sqlite"
    return chunks(values, SQLITE_JSON_CHUNK if sqlite else POSTGRES_MANY_CHUNK)


def member_of_many(
    conn: Connection,
    column: ColumnElement[Any] | InstrumentedAttribute[Any],
    values: Sequence[Any],
    *,
    any_length: bool = False,
) -> ColumnElement[bool]:
    """``column IN (values)`` for a long list: on SQLite, strings go as one JSON text parameter
    that ``json_each`` reads (a big import looks up hundreds of thousands of ids: as IN lists
    of 900 binds, building the statements cost more than running them); otherwise as
    ``member_of``. With ``any_length``, short lists go as JSON too: one statement whatever the
    list's length, compiled once per process (a sweep of some accounts)."""
    sqlite = conn.dialect.name == "sqlite"
    long = any_length or len(values) > SQLITE_CHUNK
    if sqlite and long and all(type(v) is str for v in values):
        listed = func.json_each(orjson.dumps(list(values)).decode()).table_valued("value")
        return column.in_(select(listed.c.value))
    return member_of(conn, column, values)


# ------------------------------------------------------------------ bulk loads on PostgreSQL

BULK_LOAD_ROWS = 10_000  # new rows from which a load into a table counts as a bulk load


def is_big_load(new_rows: int) -> bool:
    """Whether ``new_rows`` new rows into one table are worth keys checked at the end rather
    than row by row (``BULK_LOAD_ROWS`` or more)."""
    return new_rows >= BULK_LOAD_ROWS


def is_bulk_load(conn: Connection, table: Table, new_rows: int) -> bool:
    """Whether inserting ``new_rows`` into ``table`` is a bulk load worth checking its keys and
    building its indexes at the end (:class:`BulkLoad`): at least ``BULK_LOAD_ROWS`` new rows,
    and at least as many as the table holds (a first load, or one that doubles it — not a
    small change to a big table, whose indexes would be built again for a few rows, and which
    PostgreSQL would lock for nothing)."""
    if conn.dialect.name not in ("postgresql", "sqlite") or not is_big_load(new_rows):
        return False
    held = select(literal(1)).select_from(table).limit(new_rows + 1).subquery()
    return int(conn.execute(select(func.count()).select_from(held)).scalar_one()) <= new_rows


_FOREIGN_KEYS = text(
    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE conrelid = CAST(:table AS regclass) AND contype = 'f' ORDER BY conname"
)
# primary keys and unique constraints no foreign key (left in place) points at
_UNREFERENCED_KEYS = text(
    "SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
    "WHERE c.conrelid = CAST(:table AS regclass) AND c.contype IN ('p', 'u') "
    "AND NOT EXISTS (SELECT 1 FROM pg_constraint f "
    "WHERE f.contype = 'f' AND f.confrelid = c.conrelid) ORDER BY c.conname"
)
# indexes of their own (not a constraint's)
_PLAIN_INDEXES = text(
    "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
    "JOIN pg_class i ON i.oid = x.indexrelid "
    "WHERE x.indrelid = CAST(:table AS regclass) "
    "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) "
    "ORDER BY i.relname"
)


# SQLite: indexes of their own (a key's has no SQL), with the statement that makes each
_SQLITE_INDEXES = text(
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :table "
    "AND sql IS NOT NULL ORDER BY name"
)


class BulkLoad:
    """PostgreSQL: the foreign keys of the tables :meth:`add` is given are dropped while they
    are loaded, and so are the indexes and the (unreferenced) primary keys of those of them
    ``reindexed``; :meth:`restore` adds a table's back exactly as they were (keys, indexes, then
    foreign keys), as soon as its rows are written.

    Adding a foreign key back checks every row at once (one join), where an enforced key runs
    a trigger query for each row inserted; building an index over the loaded rows is a sort,
    where keeping it up to date costs a B-tree descent per row per index. Together that was
    most of a big COPY's time. A reindexed table must only take new rows: without its indexes,
    an UPDATE or DELETE by key would scan the table. A key some foreign key points at (one in
    place when its table is added) is never dropped, so each table can be restored on its own.

    All of it happens in the caller's transaction, so a row that breaks a key fails the whole
    transaction and leaves everything as it was. Until that transaction ends, each table added
    is locked (ACCESS EXCLUSIVE: other sessions wait to read it) — hence bulk loads only.

    A load too big for per-row checks into a table too big to rebuild may instead have its
    foreign keys checked once per referenced row (:meth:`check_keys_at_once`), when the role
    may skip the per-row triggers; nothing is dropped then. Only a table's owner may drop its
    keys and indexes: :meth:`add` leaves the tables of other owners as they are.

    SQLite: the indexes of their own (not a key's) of the tables ``reindexed`` are dropped
    and built again after the writes, from their own ``CREATE INDEX``. Rows that come in no
    particular order of an index (activities in time order, say, for the index by account)
    otherwise land all over it: 250,000 activities in random order took 6.1 s to write with
    the indexes in place, 3.5 s with them built after. Foreign keys stay (SQLite cannot drop
    them), and nothing is locked for readers: they read the last commit, indexes included."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._restore: dict[Table, list[str]] = {}  # the statements that restore each table
        self._may_skip_triggers: bool | None = None  # (asked once)
        # tables whose rows skip the per-row key checks: the values of each foreign key
        self._referenced: dict[Table, dict[ForeignKey, set[Any]]] = {}
        self._skipping: set[Table] = set()

    def add(self, tables: Sequence[Table], reindexed: Collection[Table] = ()) -> None:
        conn = self._conn
        if conn.dialect.name == "sqlite":
            self._add_sqlite([table for table in tables if table in reindexed])
            return
        if conn.dialect.name != "postgresql":
            return
        # only a table's owner may drop its keys and indexes (and the foreign keys to a table)
        tables = [t for t in tables if self._owns(t, *(fk.column.table for fk in t.foreign_keys))]
        reindexed = [t for t in reindexed if t in tables]
        if not tables:
            return
        log.info(
            "bulk load: the foreign keys of %s are checked after the writes",
            ", ".join(table.name for table in tables),
        )
        quote = conn.dialect.identifier_preparer.quote
        drops: list[str] = []
        for table in tables:  # read everything first, then drop
            name = quote(table.name)
            foreign, keys, indexes = [], [], []
            for con, definition in conn.execute(_FOREIGN_KEYS, {"table": name}):
                drops.append(f"ALTER TABLE {name} DROP CONSTRAINT {quote(con)}")
                foreign.append(f"ALTER TABLE {name} ADD CONSTRAINT {quote(con)} {definition}")
            if table in reindexed:
                for con, definition in conn.execute(_UNREFERENCED_KEYS, {"table": name}):
                    drops.append(f"ALTER TABLE {name} DROP CONSTRAINT {quote(con)}")
                    keys.append(f"ALTER TABLE {name} ADD CONSTRAINT {quote(con)} {definition}")
                for index, definition in conn.execute(_PLAIN_INDEXES, {"table": name}):
                    drops.append(f"DROP INDEX {quote(index)}")
                    indexes.append(definition)
            self._restore[table] = keys + indexes + foreign
        for statement in drops:
            conn.execute(text(statement))

    def _add_sqlite(self, tables: Sequence[Table]) -> None:
        conn = self._conn
        if not tables:
            return
        log.info(
            "bulk load: the indexes of %s are built after the writes",
            ", ".join(table.name for table in tables),
        )
        if not conn.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
            # sqlite3 opens the transaction before an INSERT, UPDATE or DELETE only: a DROP
            # INDEX first would be committed at once, and not undone by a rollback
            conn.exec_driver_sql("BEGIN")
        quote = conn.dialect.identifier_preparer.quote
        for table in tables:
            indexes = conn.execute(_SQLITE_INDEXES, {"table": table.name}).all()
            for index, _ in indexes:
                conn.execute(text(f"DROP INDEX {quote(index)}"))
            self._restore[table] = [definition for _, definition in indexes]

    def collect_references(self, table: Table) -> None:
        """Keep, from now on, the values of the foreign keys of the rows :meth:`note_references`
        is given for ``table``, so that :meth:`check_keys_at_once` may check them (PostgreSQL,
        tables whose foreign keys are each of one column)."""
        if self._conn.dialect.name == "postgresql" and _single_column_keys(table):
            self._referenced.setdefault(table, {fk: set() for fk in table.foreign_keys})

    def note_references(self, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """Rows about to be written into ``table`` (whole, or the columns they change)."""
        keys = self._referenced.get(table)
        for fk, values in (keys or {}).items():
            values.update(map(dict.get, rows, repeat(fk.parent.name)))

    def check_keys_at_once(self, tables: Sequence[Table]) -> bool:
        """PostgreSQL, for a role allowed to set ``session_replication_role``: the rows
        written from now on skip the per-row foreign key triggers (the ``replica`` role, as
        for logical replication or ``pg_restore --disable-triggers``), and :meth:`restore`
        checks at once the keys :meth:`note_references` was given, one query per foreign key.
        Nothing is dropped, so nothing is locked for readers. Only ``tables`` (each given to
        :meth:`collect_references`) may be written until they are restored. Returns whether
        it does (otherwise the triggers run as always)."""
        conn = self._conn
        if not tables or not all(t in self._referenced for t in tables):
            return False
        if not self._role_may_skip_triggers():
            return False
        log.info(
            "big load: the foreign keys of %s are checked at once",
            ", ".join(table.name for table in tables),
        )
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        self._skipping.update(tables)
        return True

    def _owns(self, *tables: Table) -> bool:
        """PostgreSQL: whether this session's role owns (or is a member of the owner of)
        every one of ``tables``."""
        owned = text(
            "SELECT bool_and(pg_has_role(relowner, 'USAGE')) FROM pg_class "
            "WHERE oid = ANY(CAST(:tables AS regclass[]))"
        )
        quote = self._conn.dialect.identifier_preparer.quote
        names = sorted({quote(table.name) for table in tables})
        return bool(self._conn.execute(owned, {"tables": names}).scalar_one())

    def _role_may_skip_triggers(self) -> bool:
        if self._may_skip_triggers is None:
            conn = self._conn
            version = conn.dialect.server_version_info or (0,)
            query = (
                "SELECT has_parameter_privilege('session_replication_role', 'SET')"
                if version >= (15,)
                else "SELECT current_setting('is_superuser') = 'on'"
            )
            self._may_skip_triggers = bool(conn.execute(text(query)).scalar_one())
        return self._may_skip_triggers

    def _check_references(self, table: Table) -> None:
        """The per-row triggers' work for the rows written since :meth:`check_keys_at_once`,
        once per distinct value: every referenced row must exist, and is locked FOR KEY SHARE
        until the transaction ends (so that no one deletes it or changes its key meanwhile).
        The first value missing fails the transaction, as a trigger would."""
        conn = self._conn
        self._skipping.discard(table)
        if not self._skipping:  # (the last of the tables written in the replica role)
            conn.execute(text("SET LOCAL session_replication_role = origin"))
        for fk, values in self._referenced.pop(table, {}).items():
            values.discard(None)
            target = fk.column
            wanted = sorted(values)
            for part in id_chunks(conn, wanted):
                found = set(
                    conn.execute(
                        select(target)
                        .where(member_of(conn, target, part))
                        .with_for_update(key_share=True)
                    ).scalars()
                )
                if len(found) < len(part):
                    missing = next(v for v in part if v not in found)
                    name = fk.constraint.name if fk.constraint is not None else fk.name
                    refused = conn.dialect.loaded_dbapi.IntegrityError(
                        f'insert or update on table "{table.name}" violates foreign key '
                        f'constraint "{name}": key ({fk.parent.name})=({missing}) is not '
                        f'present in table "{target.table.name}"'
                    )
                    raise IntegrityError("(foreign keys checked at once)", None, refused)

    def restore(self, table: Table) -> None:
        """Add back what was dropped from ``table`` (once), or check at once the keys its
        rows reference (:meth:`check_keys_at_once`)."""
        conn = self._conn
        if table in self._skipping:
            self._check_references(table)
        self._referenced.pop(table, None)
        for statement in self._restore.pop(table, ()):
            if conn.dialect.name == "sqlite":  # as SQLite wrote it (a ':' is no bind parameter)
                conn.exec_driver_sql(statement)
            else:
                conn.execute(text(statement))

    def restore_all(self) -> None:
        """Add back what was dropped from every table not restored yet (and check the keys
        of those whose rows skipped their checks)."""
        for table in [*self._restore, *self._skipping]:
            self.restore(table)


def _single_column_keys(table: Table) -> bool:
    """Whether ``table`` has foreign keys, each of one column."""
    keys = table.foreign_keys
    return bool(keys) and all(
        fk.constraint is not None and len(fk.constraint.elements) == 1 for fk in keys
    )
