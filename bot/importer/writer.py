"""Upserting converted records: compare with the stored rows, then write in bulk.

``read_stored`` reads the rows a kind's records may update (before anything is written);
``plan_kind`` decides per record whether it creates a row, updates one (only the columns the
record gives) or changes nothing; a ``PlanWriter`` writes each plan, in dependency order, inside
the caller's transaction: new rows through ``bulk_insert`` (COPY on PostgreSQL, grouped
executemany on SQLite, both on a background thread), changed ones with a Core ``update``
executemany per set of columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from operator import itemgetter
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Dialect, NestedTransaction, Table, bindparam, delete, update
from sqlalchemy.exc import DataError, IntegrityError

from bot.db.bulk import (
    BackgroundInserts,
    BulkLoad,
    background_inserts,
    bulk_insert,
    chunks,
    done,
    id_chunks,
    is_big_load,
    is_bulk_load,
    member_of,
    run_later,
)
from bot.db.models import Request, RequestAccount
from bot.importer.kinds import REQUEST_LINKS, Kind
from bot.importer.lookup import is_empty, rows_where_in
from bot.importer.records import Converted
from bot.importer.report import ImportIssue

T = TypeVar("T")

WRITE_BATCH = 5000  # rows per executemany
PK = "_pk"  # bind name of the primary key in bulk updates
# kinds whose writes change an account's rollups (refresh_rollups)
ROLLUP_KINDS = frozenset({"activities", "health_scores", "meetings"})
# kinds whose rows the sweep reads by account: a change marks the account for the incremental
# sweep (KindPlan.marked); accounts, requests (through their links), users and teams too
MARKED_KINDS = frozenset(
    {"contacts", "meetings", "health_scores", "activities", "tasks", "exclusions"}
)

REQUESTS_TABLE = Request.__table__
_LINKS_TABLE = RequestAccount.__table__
assert isinstance(_LINKS_TABLE, Table)
LINKS_TABLE: Table = _LINKS_TABLE


@dataclass
class KindPlan:
    kind: Kind
    # new rows: the columns their records give; ``defaults`` fills the rest (see _template)
    creates: list[dict[str, Any]] = field(default_factory=list)
    defaults: dict[str, Any] = field(default_factory=dict)
    columns: set[str] = field(default_factory=set)  # those the new rows may hold
    updates: list[dict[str, Any]] = field(default_factory=list)  # given columns + PK
    unchanged: int = 0
    # requests only: request id -> its account ids, for the requests whose links change
    links: dict[str, list[str]] = field(default_factory=dict)
    # activities, health scores, meetings: the accounts and requests whose rollups change
    touched_accounts: set[str] = field(default_factory=set)
    touched_requests: set[str] = field(default_factory=set)
    # the stored accounts whose swept data this plan changes (bot.engine.sweep_state)
    marked: set[str] = field(default_factory=set)

    def release(self) -> list[Any]:
        """Let go of the rows, once written (the counts and touched ids stay): returns them."""
        rows = [self.creates, self.updates, self.links]
        self.creates, self.updates, self.links = [], [], {}
        return rows

    def extend(self, other: KindPlan) -> None:
        """Add the plan of more records of the same kind."""
        self.creates.extend(other.creates)
        self.defaults = self.defaults or other.defaults
        self.columns |= other.columns
        self.updates.extend(other.updates)
        self.unchanged += other.unchanged
        self.links.update(other.links)
        self.touched_accounts |= other.touched_accounts
        self.touched_requests |= other.touched_requests
        self.marked |= other.marked


def _pk_column(table: Table) -> str:
    (column,) = table.primary_key.columns
    return column.name


@dataclass
class Stored:
    """What the database holds for the records of one kind: its rows by the kind's key and,
    for requests, their account links. Read before anything is written."""

    rows: dict[Any, dict[str, Any]] = field(default_factory=dict)
    links: dict[str, list[str]] = field(default_factory=dict)


def read_stored(conn: Connection, kind: Kind, items: list[Any]) -> Stored:
    """The stored rows the records of ``items`` (raw, not yet converted) may update.

    They are looked up by the raw value of the field that gives the first key column: an id
    or an account, which conversion leaves as it is (anything else matches nothing)."""
    table = kind.table
    if not items or is_empty(conn, table):
        return Stored()
    first = kind.key[0]
    (field_name,) = [f.name for f in kind.fields.values() if f.columns == (first,)]
    values = {
        value for item in items if type(item) is dict and type(value := item.get(field_name)) is str
    }
    found = rows_where_in(conn, table, table.c[first], values)
    if len(kind.key) == 1:
        rows = {old[first]: old for old in found}
    else:
        rows = {tuple(old[c] for c in kind.key): old for old in found}
    links = _stored_links(conn, set(rows)) if kind.name == "requests" else {}
    return Stored(rows, links)


def _stored_links(conn: Connection, request_ids: set[str]) -> dict[str, list[str]]:
    """The stored account links of ``request_ids``, in order."""
    links: dict[str, list[tuple[int, str]]] = {}
    if request_ids and not is_empty(conn, LINKS_TABLE):
        for row in rows_where_in(conn, LINKS_TABLE, LINKS_TABLE.c.request_id, request_ids):
            links.setdefault(row["request_id"], []).append((row["position"], row["account_id"]))
    return {req: [acc for _, acc in sorted(pairs)] for req, pairs in links.items()}


def _template(kind: Kind, now: datetime) -> dict[str, Any]:
    """A new row: every column (but autoincrement ids), NOT NULL ones at their defaults."""
    template: dict[str, Any] = {}
    for column in kind.table.columns:
        if column.primary_key and column.name not in kind.key:
            continue
        default = column.default
        scalar = default is not None and default.is_scalar
        template[column.name] = getattr(default, "arg", None) if scalar else None
    template.update(kind.defaults)
    if kind.name == "exclusions":
        template["created_at"] = now
    return template


def _unfilled_columns(kind: Kind, template: dict[str, Any]) -> list[str]:
    """NOT NULL columns a new record may leave empty (e.g. a new team without a name)."""
    always_given = {col for name in kind.required for col in kind.fields[name].columns}
    return [
        c.name
        for c in kind.table.columns
        if not c.nullable
        and c.name in template
        and template[c.name] is None
        and c.name not in always_given
    ]


def plan_kind(
    converted: Converted,
    stored: Stored,
    errors: list[ImportIssue],
    *,
    now: datetime,
    first: int = 0,
) -> KindPlan:
    """What writing the rows of ``converted`` from ``first`` on over the ``stored`` rows would
    do; problems that need the stored rows (a shipped request without ``shipped_at``, a new
    record missing a NOT NULL column) go to ``errors``."""
    kind = converted.kind
    plan = KindPlan(kind, defaults=_template(kind, now), columns=set(converted.columns))
    rows = converted.rows[first:] if first else converted.rows
    pk = _pk_column(kind.table)
    links_given: dict[int, list[str]] = {}
    if kind.name == "requests":  # the links are not a column (the converted rows keep them)
        rows = [dict(row) for row in rows]
        for j, row in enumerate(rows):
            if REQUEST_LINKS in row:
                links_given[j] = row.pop(REQUEST_LINKS) or []
    stored_links = stored.links
    template = plan.defaults
    unfilled = _unfilled_columns(kind, template)
    field_of = {col: f.name for f in kind.fields.values() for col in f.columns}
    is_activity = kind.name == "activities"
    rollup_kind = kind.name in ROLLUP_KINDS
    marked_kind = kind.name in MARKED_KINDS
    is_request = kind.name == "requests"

    def check_new(j: int, new: dict[str, Any]) -> None:
        for column in unfilled:  # their default is None
            if new.get(column) is None:
                where = f"{converted.path(first + j)}.{field_of.get(column, column)}"
                errors.append(ImportIssue(where, f"required for a new {kind.singular}"))

    if not stored.rows and kind.name != "requests":  # only new records: the fast path
        plan.creates = list(rows) if rows is converted.rows else rows
        if unfilled:
            for j, new in enumerate(plan.creates):
                check_new(j, new)
        if rollup_kind:
            plan.touched_accounts = set(map(itemgetter("account_id"), rows))
        if marked_kind:
            plan.marked = plan.touched_accounts or set(map(itemgetter("account_id"), rows))
        if is_activity and "request_id" in plan.columns:
            requests: set[str | None] = set(map(dict.get, rows, repeat("request_id")))
            requests.discard(None)
            plan.touched_requests = cast(set[str], requests)
        return plan

    key_cols = kind.key
    for j, row in enumerate(rows):
        key = row[key_cols[0]] if len(key_cols) == 1 else tuple(row[c] for c in key_cols)
        old = stored.rows.get(key)
        links = links_given.get(j)
        if old is None:
            check_new(j, row)
            plan.creates.append(row)
            if links:
                plan.links[row["id"]] = links
                plan.marked.update(links)
            if marked_kind:
                plan.marked.add(row["account_id"])
            if rollup_kind:
                plan.touched_accounts.add(row["account_id"])
                if is_activity and row.get("request_id"):
                    plan.touched_requests.add(row["request_id"])
        else:
            changed = any(old[c] != v for c, v in row.items())
            links_changed = links is not None and stored_links.get(old[pk], []) != links
            if links is not None and links_changed:
                plan.links[old[pk]] = links
            if changed or links_changed:
                if marked_kind:
                    plan.marked.add(old["account_id"])
                    plan.marked.add(row.get("account_id", old["account_id"]))
                elif kind.name == "accounts":
                    plan.marked.add(old[pk])
                elif is_request:
                    plan.marked.update(stored_links.get(old[pk], ()))
                    plan.marked.update(links or ())
                elif kind.name in ("users", "teams"):  # (their ids: see MARKED_KINDS)
                    plan.marked.add(old[pk])
            if changed:
                row[PK] = old[pk]
                plan.updates.append(row)
                if rollup_kind:
                    plan.touched_accounts.add(old["account_id"])
                    plan.touched_accounts.add(row.get("account_id", old["account_id"]))
                    if is_activity:
                        for req in (old["request_id"], row.get("request_id")):
                            if req:
                                plan.touched_requests.add(req)
            elif links_changed:
                plan.updates.append({PK: old[pk]})  # counted as updated; no column changes
            else:
                plan.unchanged += 1
        if kind.name == "requests" and _shipped_undated(template if old is None else old, row):
            where = f"{converted.path(first + j)}.shipped_at"
            errors.append(ImportIssue(where, "required when the status is shipped"))
    return plan


def _shipped_undated(before: dict[str, Any], given: dict[str, Any]) -> bool:
    """A request shipped without a date, once ``given`` is written over ``before``."""
    request = {**before, **given}
    return request.get("status") == "shipped" and request.get("shipped_at") is None


def refusals(dialect: Dialect) -> tuple[type[Exception], ...]:
    """The errors by which the database refuses rows: SQLAlchemy's, and the driver's own (a
    write on the background thread raises those)."""
    dbapi = dialect.loaded_dbapi
    return (IntegrityError, DataError, dbapi.IntegrityError, dbapi.DataError)


class PlanWriter:
    """Writes each plan as soon as it is made, inside the caller's transaction. While it
    writes, the connection belongs to the thread of ``inserts``: new rows, bulk-load changes
    and the caller's reads (:meth:`later`) run there in order, so the database works while the
    caller checks the next records; updates and request links run on the caller's thread once
    that one is idle.

    The first write the database refuses is kept in ``refused`` and ends the writing: the
    writes are undone back to ``savepoint`` (PostgreSQL refuses any query after an error until
    then), so the caller can still finish its checks, whose errors say more, before it reports
    the refusal and rolls back.
    """

    def __init__(
        self,
        conn: Connection,
        inserts: BackgroundInserts | None,
        savepoint: NestedTransaction | None = None,
    ) -> None:
        self.conn = conn
        self.inserts = inserts
        self.refused: Exception | None = None
        self._refusals = refusals(conn.dialect)
        self._savepoint = savepoint
        self._load = BulkLoad(conn)

    def later(self, read: Callable[[], T]) -> Future[T]:
        """``read`` (of the connection) run after what was handed over before it."""
        return self.inserts.call(read) if self.inserts is not None else done(read())

    def start(self, table: Table, new_rows: int, adds_only: bool) -> None:
        """``table`` is about to take up to ``new_rows`` rows (and no updates if ``adds_only``):
        a bulk load (``is_bulk_load``) drops, until :meth:`written`, its foreign keys on
        PostgreSQL, and if it only takes new rows its indexes (and keys, on PostgreSQL); a load
        of as many rows into a bigger table may have its foreign keys checked at once
        (``BulkLoad.check_keys_at_once``)."""

        # (not requests: their account links are written in the same window, unchecked)
        big = is_big_load(new_rows) and table is not REQUESTS_TABLE
        if big:
            self._load.collect_references(table)

        def begin() -> None:
            if is_bulk_load(self.conn, table, new_rows):
                self._load.add([table], [table] if adds_only else [])
            elif big:
                self._load.check_keys_at_once([table])

        self._hand_over(begin)

    def write(self, plan: KindPlan) -> None:
        """Write (part of) a kind's plan."""
        if self.refused is not None:
            return
        try:
            table = plan.kind.table
            self._load.note_references(table, plan.creates)
            self._load.note_references(table, plan.updates)
            for part in chunks(plan.creates, WRITE_BATCH):
                bulk_insert(
                    self.conn, table, part, self.inserts, defaults=plan.defaults, given=plan.columns
                )
            if plan.updates or plan.links:
                self._drain()  # the connection is this thread's again
                bulk_update(self.conn, table, plan.updates)
                if plan.links:
                    _replace_links(self.conn, plan.links)
        except self._refusals as exc:
            self._refuse(exc)

    def written(self, table: Table) -> None:
        """Every row of ``table`` has been handed over: a bulk load gets its keys and indexes
        back now (built while the caller goes on)."""
        self._hand_over(lambda: self._load.restore(table))

    def drain(self) -> None:
        """Wait for what was handed to the background thread: then the connection is the
        caller's to use (a refusal goes to ``refused``)."""
        if self.refused is not None:
            return
        try:
            self._drain()
        except self._refusals as exc:
            self._refuse(exc)

    def finish(self) -> None:
        """Drained: restore whatever a bulk load still holds, and raise a refusal."""
        self.drain()
        if self.refused is not None:
            raise self.refused
        self._load.restore_all()

    def _hand_over(self, job: Callable[[], None]) -> None:
        if self.refused is not None:
            return
        try:
            run_later(job, self.inserts)
        except self._refusals as exc:
            self._refuse(exc)

    def _drain(self) -> None:
        if self.inserts is not None:
            self.inserts.drain()

    def _refuse(self, exc: Exception) -> None:
        self.refused = exc
        with suppress(*self._refusals):
            self._drain()  # the background thread skips what is left; wait until it has
        if self._savepoint is not None:
            self._savepoint.rollback()


@contextmanager
def plan_writer(conn: Connection) -> Iterator[PlanWriter]:
    """A :class:`PlanWriter` on ``conn``. The block must end with nothing refused (the writer
    raises the refusal otherwise)."""
    savepoint = conn.begin_nested() if conn.dialect.name == "postgresql" else None
    with _roomy_cache(conn), background_inserts(conn) as inserts:
        writer = PlanWriter(conn, inserts, savepoint)
        yield writer
        writer.finish()
    if savepoint is not None:
        savepoint.commit()


# SQLite's page cache while an import writes, in KiB (its default is 2 MiB): index entries
# that land all over a big index find its pages in memory more often. 250,000 activities in
# random order were written in 4.2 s instead of 6.1 s (the same in an order the index likes).
IMPORT_CACHE_KIB = 65_536


@contextmanager
def _roomy_cache(conn: Connection) -> Iterator[None]:
    """On SQLite, a page cache of ``IMPORT_CACHE_KIB`` for the block (this connection only),
    then the one it had."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
    conn.exec_driver_sql(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")


def bulk_update(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """UPDATE by primary key, one executemany per set of columns given."""
    pk = table.c[_pk_column(table)]
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        columns = tuple(sorted(c for c in row if c != PK))
        if columns:
            groups.setdefault(columns, []).append(row)
    for columns, group in groups.items():
        stmt = (
            update(table)
            .where(pk == bindparam(PK))
            .values({c: bindparam(f"v_{c}", type_=table.c[c].type) for c in columns})
        )
        params = [{PK: row[PK], **{f"v_{c}": row[c] for c in columns}} for row in group]
        for part in chunks(params, WRITE_BATCH):
            conn.execute(stmt, list(part))


def _replace_links(conn: Connection, links: dict[str, list[str]]) -> None:
    """``requests.accounts`` replaces the request's account links."""
    request_ids: Sequence[str] = sorted(links)
    for part in id_chunks(conn, request_ids):
        conn.execute(delete(LINKS_TABLE).where(member_of(conn, LINKS_TABLE.c.request_id, part)))
    rows = [
        {"request_id": req, "account_id": acc, "position": pos}
        for req, accounts in links.items()
        for pos, acc in enumerate(accounts)
    ]
    bulk_insert(conn, LINKS_TABLE, rows)
