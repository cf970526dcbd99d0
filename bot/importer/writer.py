"""Upserting converted records: compare with the stored rows, then write in bulk.

``plan_kind`` decides per record whether it creates a row, updates one (only the columns the
record gives) or changes nothing; ``apply_plans`` writes the plans in dependency order inside
the caller's transaction: new rows through ``bulk_insert`` (COPY on PostgreSQL, grouped
executemany on SQLite), changed ones with a Core ``update`` executemany per set of columns.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, update

from bot.db.bulk import (
    BackgroundInserts,
    bulk_insert,
    bulk_load,
    chunks,
    id_chunks,
    is_bulk_load,
    member_of,
)
from bot.db.models import RequestAccount
from bot.importer.kinds import KIND_ORDER, REQUEST_LINKS, Kind
from bot.importer.lookup import is_empty, rows_where_in
from bot.importer.progress import Ticker
from bot.importer.records import Converted
from bot.importer.report import ImportIssue

log = logging.getLogger(__name__)

WRITE_BATCH = 5000  # rows per executemany
PK = "_pk"  # bind name of the primary key in bulk updates
# kinds whose writes change an account's rollups (refresh_rollups)
ROLLUP_KINDS = frozenset({"activities", "health_scores", "meetings"})

_LINKS_TABLE = RequestAccount.__table__
assert isinstance(_LINKS_TABLE, Table)
LINKS_TABLE: Table = _LINKS_TABLE


@dataclass
class KindPlan:
    kind: Kind
    creates: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)  # given columns + PK
    unchanged: int = 0
    # requests only: request id -> its account ids, for the requests whose links change
    links: dict[str, list[str]] = field(default_factory=dict)
    # activities, health scores, meetings: the accounts and requests whose rollups change
    touched_accounts: set[str] = field(default_factory=set)
    touched_requests: set[str] = field(default_factory=set)


def _pk_column(table: Table) -> str:
    (column,) = table.primary_key.columns
    return column.name


def _stored_rows(
    conn: Connection, kind: Kind, rows: list[dict[str, Any]]
) -> dict[Any, dict[str, Any]]:
    """The stored rows the records may update, by the kind's key."""
    table = kind.table
    if not rows or is_empty(conn, table):
        return {}
    first = kind.key[0]
    values = {row[first] for row in rows}
    stored = rows_where_in(conn, table, table.c[first], values)
    if len(kind.key) == 1:
        return {old[first]: old for old in stored}
    return {tuple(old[c] for c in kind.key): old for old in stored}


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
    conn: Connection, converted: Converted, errors: list[ImportIssue], *, now: datetime
) -> KindPlan:
    """What writing ``converted`` would do; problems that need the stored rows (a shipped
    request without ``shipped_at``, a new record missing a NOT NULL column) go to ``errors``."""
    kind = converted.kind
    plan = KindPlan(kind)
    rows = converted.rows
    pk = _pk_column(kind.table)
    links_given: dict[int, list[str]] = {}
    if kind.name == "requests":
        for j, row in enumerate(rows):
            if REQUEST_LINKS in row:
                links_given[j] = row.pop(REQUEST_LINKS) or []
    stored = _stored_rows(conn, kind, rows)
    stored_links = _stored_links(conn, {rows[j]["id"] for j in links_given})
    template = _template(kind, now)
    unfilled = _unfilled_columns(kind, template)
    field_of = {col: f.name for f in kind.fields.values() for col in f.columns}
    is_activity = kind.name == "activities"
    rollup_kind = kind.name in ROLLUP_KINDS

    def check_new(j: int, new: dict[str, Any]) -> None:
        for column in unfilled:
            if new[column] is None:
                where = f"{converted.path(j)}.{field_of.get(column, column)}"
                errors.append(ImportIssue(where, f"required for a new {kind.singular}"))

    if not stored and kind.name != "requests":  # only new records: the fast path
        plan.creates = [{**template, **row} for row in rows]
        if unfilled:
            for j, new in enumerate(plan.creates):
                check_new(j, new)
        if rollup_kind:
            plan.touched_accounts = {row["account_id"] for row in rows}
        if is_activity:
            requests = {row.get("request_id") for row in rows}
            plan.touched_requests = {r for r in requests if r is not None}
        return plan

    key_cols = kind.key
    for j, row in enumerate(rows):
        key = row[key_cols[0]] if len(key_cols) == 1 else tuple(row[c] for c in key_cols)
        old = stored.get(key)
        links = links_given.get(j)
        if old is None:
            new = {**template, **row}
            check_new(j, new)
            plan.creates.append(new)
            if links:
                plan.links[row["id"]] = links
            if rollup_kind:
                plan.touched_accounts.add(row["account_id"])
                if is_activity and row.get("request_id"):
                    plan.touched_requests.add(row["request_id"])
            effective = new
        else:
            changed = any(old[c] != v for c, v in row.items())
            links_changed = links is not None and stored_links.get(old[pk], []) != links
            if links is not None and links_changed:
                plan.links[old[pk]] = links
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
            effective = {**old, **row}
        if (
            kind.name == "requests"
            and effective.get("status") == "shipped"
            and effective.get("shipped_at") is None
        ):
            where = f"{converted.path(j)}.shipped_at"
            errors.append(ImportIssue(where, "required when the status is shipped"))
    return plan


def apply_plans(
    conn: Connection,
    plans: dict[str, KindPlan],
    ticker: Ticker,
    inserts: BackgroundInserts | None = None,
) -> None:
    """Write every plan in dependency order. Foreign keys are enforced: row by row, or — for
    the tables a plan bulk-loads on PostgreSQL — all at once after the writes (when such a
    plan only creates rows, its table's indexes are built after the writes too). With
    ``inserts``, new rows are inserted on its thread, in the same order."""
    bulk = [p for p in plans.values() if is_bulk_load(conn, p.kind.table, len(p.creates))]
    if bulk:
        names = ", ".join(p.kind.table.name for p in bulk)
        log.info("bulk load: the foreign keys of %s are checked after the writes", names)
    tables = [p.kind.table for p in bulk]
    only_new = [p.kind.table for p in bulk if not p.updates and not p.links]
    with bulk_load(conn, tables, only_new):
        for name in KIND_ORDER:
            plan = plans.get(name)
            if plan is None:
                continue
            table = plan.kind.table
            for part in chunks(plan.creates, WRITE_BATCH):
                bulk_insert(conn, table, part, inserts)
                ticker.add(len(part))
            if inserts is not None and (plan.updates or plan.links):
                inserts.drain()  # the connection is this thread's again
            bulk_update(conn, table, plan.updates)
            ticker.add(len(plan.updates))
            if plan.links:
                _replace_links(conn, plan.links)
        if bulk and inserts is not None:
            inserts.drain()  # before the foreign keys are added back


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
