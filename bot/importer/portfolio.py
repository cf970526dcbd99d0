"""Importing a portfolio JSON file (data-format.md, ``followup-portfolio/1``).

Everything happens in one transaction. The kinds of records are taken in dependency order,
``PART`` records at a time: each part is checked (field values, the rules that need the stored
rows) and planned, and handed to a background thread that writes it while the next part is
checked. Duplicate ids, references (to the file or the database) and the rollups of the
touched accounts and requests come after the last part. Anything wrong, found at any point —
a bad field, a dangling reference, a row the database refuses — rolls the whole transaction
back: a failed import writes nothing, and lists every problem with its path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import nullcontext
from datetime import UTC, datetime, tzinfo
from functools import partial
from pathlib import Path
from threading import Thread
from time import perf_counter
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Table, insert, select, update

from bot.db.bulk import done, id_chunks, member_of
from bot.db.models import Org, RequestAccount
from bot.engine.rollups import FreshFolds, refresh_rollups, store_folds
from bot.engine.sweep_state import (
    mark_all_changed,
    mark_changed,
    mark_csms_changed,
    mark_teams_changed,
)
from bot.importer.fields import Invalid, describe, suggest, timestamp, zone
from bot.importer.kinds import KIND_ORDER, ORG_DEFAULTS, Kind, org_fields, portfolio_kinds
from bot.importer.progress import Ticker
from bot.importer.records import (
    Converted,
    check_attendees,
    check_references,
    convert_record,
    convert_records,
    file_ids,
    natural_key_duplicates,
    references_outside,
)
from bot.importer.report import ImportFailed, ImportIssue, ImportReport, Progress
from bot.importer.writer import (
    KindPlan,
    PlanWriter,
    Stored,
    plan_kind,
    plan_writer,
    read_stored,
    refusals,
)

FORMAT = "followup-portfolio/1"
PART = 25_000  # records of a kind checked, planned and handed to the writer at a time
TOP_LEVEL = ("format", "reference_time", "org", *KIND_ORDER)

_ORG_TABLE = Org.__table__
assert isinstance(_ORG_TABLE, Table)
ORG_TABLE: Table = _ORG_TABLE


class _NonFinite(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NonFinite(name)


def load_json(path: Path) -> Any:
    """The parsed file; ``ImportFailed`` with the line and column of malformed JSON."""
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFailed(
            source, [ImportIssue("", f"cannot read the file: {exc.strerror}")]
        ) from None
    try:
        # orjson is several times faster; it rejects NaN/Infinity itself. On any complaint the
        # standard parser runs instead, for its line/column message (or a value orjson can't
        # hold, such as an integer beyond 64 bits).
        return orjson.loads(raw.removeprefix(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError:
        pass
    try:
        decoded = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        issue = ImportIssue(f"byte {exc.start}", "invalid JSON: the file is not UTF-8 text")
        raise ImportFailed(source, [issue]) from None
    try:
        data = json.loads(decoded, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        issue = ImportIssue(f"line {exc.lineno}, column {exc.colno}", f"invalid JSON: {exc.msg}")
        raise ImportFailed(source, [issue]) from None
    except _NonFinite as exc:
        issue = ImportIssue("", f"invalid JSON: {exc} is not a JSON number")
        raise ImportFailed(source, [issue]) from None
    # What orjson refuses and the standard parser lets through: an integer beyond 64 bits (the
    # converters bound numbers) and a lone surrogate escape, which is no text a database can
    # store.
    issues = _lone_surrogates(data)
    if issues:
        raise ImportFailed(source, issues)
    return data


_SURROGATE = re.compile("[\ud800-\udfff]")
_LONE_SURROGATE = (
    "not valid text: it holds a lone surrogate escape (\\ud800-\\udfff without its pair)"
)


def _lone_surrogates(data: Any) -> list[ImportIssue]:
    """An issue, with its path, for each string (or key) of ``data`` that holds a lone
    surrogate, in the order of the file."""
    issues: list[ImportIssue] = []
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if type(value) is str:
            if _SURROGATE.search(value):
                issues.append(ImportIssue(path, _LONE_SURROGATE))
        elif type(value) is dict:
            for key, item in reversed(value.items()):
                shown = key.encode("utf-8", "backslashreplace").decode("utf-8")
                if shown != key:
                    issues.append(
                        ImportIssue(
                            f"{path}.{shown}" if path else shown, "the key is " + _LONE_SURROGATE
                        )
                    )
                stack.append((f"{path}.{shown}" if path else shown, item))
        elif type(value) is list:
            stack.extend((f"{path}[{i}]", value[i]) for i in reversed(range(len(value))))
    return issues


def _stored_org(conn: Connection) -> dict[str, Any] | None:
    row = conn.execute(select(ORG_TABLE).order_by(ORG_TABLE.c.id).limit(1)).mappings().first()
    return dict(row) if row is not None else None


def _org_timezone(org: Any, stored: dict[str, Any] | None) -> tzinfo:
    """The zone naive timestamps are read in: the file's org timezone, else the stored org's,
    else UTC."""
    if type(org) is dict and "timezone" in org:
        name = org["timezone"]
        if name is None:
            return UTC
        if type(name) is str and (found := zone(name)) is not None:
            return found
    if stored is not None:
        return zone(stored["timezone"]) or UTC
    return UTC


def _convert_org(
    data: dict[str, Any], stored: dict[str, Any] | None, tz: tzinfo, errors: list[ImportIssue]
) -> dict[str, Any] | None:
    """The org columns the file gives (``reference_time`` included), or None."""
    raw = data.get("org")
    row: dict[str, Any] | None = None
    if raw is not None:
        given, valid = convert_record(org_fields(), frozenset({"name"}), raw, "org", None, errors)
        row = given if valid else None
        if row is not None and stored is not None and row["name"] != stored["name"]:
            errors.append(
                ImportIssue(
                    "org.name",
                    f"this database holds the org '{stored['name']}', not '{row['name']}' "
                    "(one database holds one org)",
                )
            )
    if "reference_time" in data:
        try:
            value = data["reference_time"]
            reference_time = None if value is None else timestamp(tz)(value)
        except Invalid as exc:
            errors.extend(ImportIssue("reference_time", msg) for _, msg in exc.issues)
        else:
            if raw is None and stored is None:
                errors.append(
                    ImportIssue(
                        "reference_time",
                        "there is no org to store it on: give `org` in this file "
                        "or import one first",
                    )
                )
            elif row is not None:
                row["reference_time"] = reference_time
            elif raw is None:
                row = {"reference_time": reference_time}
    return row


def _write_org(conn: Connection, row: dict[str, Any], stored: dict[str, Any] | None) -> None:
    if stored is None:
        new = {c.name: None for c in ORG_TABLE.columns if c.name != "id"}
        new.update(ORG_DEFAULTS)
        new.update(row)
        conn.execute(insert(ORG_TABLE).values(new))
    else:
        conn.execute(update(ORG_TABLE).where(ORG_TABLE.c.id == stored["id"]).values(row))


def _top_level(data: Any, source: str) -> tuple[dict[str, list[Any]], list[ImportIssue]]:
    """The record lists of the file; a missing or wrong ``format`` stops here."""
    if type(data) is not dict:
        issue = ImportIssue("", f"expected a JSON object at the top level, got {describe(data)}")
        raise ImportFailed(source, [issue])
    if "format" not in data:
        raise ImportFailed(source, [ImportIssue("format", f'required: "{FORMAT}"')])
    if data["format"] != FORMAT:
        issue = ImportIssue("format", f'expected "{FORMAT}", got {describe(data["format"])}')
        raise ImportFailed(source, [issue])
    errors: list[ImportIssue] = []
    for key in data:
        if key not in TOP_LEVEL:
            errors.append(ImportIssue(key, "unknown top-level key" + suggest(key, TOP_LEVEL)))
    lists: dict[str, list[Any]] = {}
    for name in KIND_ORDER:
        value = data.get(name)
        if value is None:
            continue
        if type(value) is not list:
            errors.append(ImportIssue(name, f"expected a list, got {describe(value)}"))
            continue
        lists[name] = value
    return lists, errors


def import_portfolio(
    engine: Engine,
    path: Path,
    *,
    now: datetime,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    started = perf_counter()
    source = str(path)
    ticker = Ticker(progress)
    ticker.phase("reading", None)
    data = load_json(path)
    lists, errors = _top_level(data, source)
    has_org = "org" in data and data["org"] is not None
    total = sum(len(items) for items in lists.values()) + int(has_org)
    report = ImportReport(source, "portfolio", dry_run=dry_run, records=total)
    garbage: list[Any] = []
    freeing: Thread | None = None
    try:
        with engine.begin() as conn:
            stored_org = _stored_org(conn)
            tz = _org_timezone(data.get("org"), stored_org)
            kinds = portfolio_kinds(tz)
            ticker.phase("checking" if dry_run else "importing", total)
            org_row = _convert_org(data, stored_org, tz, errors)
            org_changed = _count_org(report, org_row, stored_org)
            # Each kind is written as soon as it is checked, while the next is checked: a
            # problem found later rolls the whole transaction back.
            writing = nullcontext(None) if dry_run or errors else plan_writer(conn)
            with writing as writer:
                if writer is not None and org_row is not None and org_changed:
                    _write_org(conn, org_row, stored_org)
                stored = {
                    name: _later(writer, partial(read_stored, conn, kinds[name], items))
                    for name, items in lists.items()
                }
                converted, ids, plans, folding = _check_and_write(
                    lists, kinds, stored, writer, errors, ticker, now
                )
                # The parsed file is done with: freed now, while the database takes the last
                # rows, rather than after the commit.
                data.clear()
                lists.clear()
                stored.clear()

                ticker.phase("checking references", None)
                extra = []
                if org_row is not None and org_row.get("fallback_csm_id") is not None:
                    extra.append(("org.fallback_csm", "users", org_row["fallback_csm_id"]))
                outside = references_outside(converted, ids, extra)
                # the rollups of the new accounts, folded while the database takes the rows
                fresh = folding.folds() if folding is not None and not errors else []
                fresh_ids = {f.account_id for f in fresh}
                if writer is not None:
                    writer.drain()  # the connection is this thread's again
                check_references(conn, kinds, outside, errors)
                check_attendees(conn, kinds, converted, ids, errors)
                ticker.finish()
                if errors:
                    raise ImportFailed(source, errors)
                if writer is not None and writer.refused is not None:
                    raise _refused(source, writer.refused)
                for name, plan in plans.items():
                    report.created[name] = len(plan.creates)
                    report.updated[name] = len(plan.updates)
                    report.unchanged[name] = plan.unchanged
                new_accounts = (
                    {r["id"] for r in plans["accounts"].creates} if "accounts" in plans else set()
                )
                if writer is not None:
                    ticker.phase("refreshing rollups", None)
                    store_folds(conn, fresh, writer.inserts, new=True)
                    # Every row is written or handed over (as parameters): only `garbage`
                    # holds them now.
                    garbage.extend([converted, outside, fresh, folding])
                    garbage.extend(plan.release() for plan in plans.values())
                    del converted, outside, fresh, folding
            if dry_run:
                return _done(report, started)
            _refresh(conn, plans, fresh_ids, ticker)
            _mark(conn, plans, new_accounts, org_row if org_changed else None, stored_org)
            ticker.phase("saving", None)
            freeing = _free_meanwhile(garbage)
    except refusals(engine.dialect) as exc:  # a rule the checks above missed
        raise _refused(source, exc) from exc
    if freeing is not None:
        freeing.join()
    ticker.finish()
    return _done(report, started)


def _free_meanwhile(garbage: list[Any]) -> Thread:
    """Drop ``garbage`` (the last references to the import's rows) on another thread, while
    this one commits: freeing the rows of a big file takes the interpreter most of a second,
    which the commit, waiting for the database, leaves free."""
    thread = Thread(target=garbage.clear, name="import-free", daemon=True)
    thread.start()
    return thread


def _check_and_write(
    lists: dict[str, list[Any]],
    kinds: dict[str, Kind],
    stored: dict[str, Future[Stored]],
    writer: PlanWriter | None,
    errors: list[ImportIssue],
    ticker: Ticker,
    now: datetime,
) -> tuple[dict[str, Converted], dict[str, set[str]], dict[str, KindPlan], FreshFolds | None]:
    """Convert and plan the records of each kind, ``PART`` at a time, and hand each part to
    ``writer`` at once while nothing is wrong yet; then look for duplicate keys. Returns the
    converted records, the file's ids and the plans, by kind, and the history of the accounts
    the file creates, gathered part by part as it is written (to fold their rollups from)."""
    converted: dict[str, Converted] = {}
    ids: dict[str, set[str]] = {}
    plans: dict[str, KindPlan] = {}
    folding: FreshFolds | None = None
    for name, items in lists.items():
        kind = kinds[name]
        conv = converted[name] = Converted(kind)
        plan = plans[name] = KindPlan(kind)
        held = stored[name].result()
        if writer is not None and not errors:
            writer.start(kind.table, len(items) - len(held.rows), not held.rows)
        for start in range(0, len(items), PART):
            first = len(conv.rows)
            part = range(start, min(start + PART, len(items)))
            convert_records(kind, items, errors, ticker, part, conv)
            more = plan_kind(conv, held, errors, now=now, first=first)
            if writer is not None and not errors:
                writer.write(more)
                if folding is not None:  # (while the database takes the part)
                    if name == "activities":
                        folding.add_activities(more.creates)
                        folding.forget(r["account_id"] for r in more.updates if "account_id" in r)
                    elif name == "health_scores":
                        folding.add_health(more.creates)
            plan.extend(more)
        if writer is not None and not errors:
            writer.written(kind.table)
            if name == "accounts" and plan.creates:
                folding = FreshFolds(row["id"] for row in plan.creates)
        if kind.has_id:
            ids[name] = file_ids(kind, items, errors)
        else:
            natural_key_duplicates(conv, errors)
    ticker.finish()
    return converted, ids, plans, folding


def _later(writer: PlanWriter | None, read: Callable[[], Stored]) -> Future[Stored]:
    """``read`` on the writer's thread (while this one converts records), or now."""
    return writer.later(read) if writer is not None else done(read())


def _refused(source: str, exc: Exception) -> ImportFailed:
    orig = getattr(exc, "orig", None) or exc
    reason = str(orig).strip().splitlines()[0]
    return ImportFailed(source, [ImportIssue("", f"the database refused it: {reason}")])


def _count_org(
    report: ImportReport, row: dict[str, Any] | None, stored: dict[str, Any] | None
) -> bool:
    """Count the org record; True when writing it changes something."""
    if row is None:
        return False
    if stored is None:
        report.created["org"] = 1
        return True
    if any(stored[c] != v for c, v in row.items()):
        report.updated["org"] = 1
        return True
    report.unchanged["org"] = 1
    return False


def _refresh(conn: Connection, plans: dict[str, KindPlan], fresh: set[str], ticker: Ticker) -> None:
    """Refresh the stored rollups of the accounts and requests whose history changed (but the
    ``fresh`` accounts, whose folds are stored already)."""
    accounts: set[str] = set()
    requests: set[str] = set()
    for plan in plans.values():
        accounts |= plan.touched_accounts
        requests |= plan.touched_requests
    accounts -= fresh
    if accounts or requests:
        ticker.phase("refreshing rollups", len(accounts))
        refresh_rollups(conn, sorted(accounts), sorted(requests))
    ticker.finish()


# org columns a card depends on: a change marks every account
SWEPT_ORG_COLUMNS = ("rules", "business_hours", "timezone", "fallback_csm_id")


def _mark(
    conn: Connection,
    plans: dict[str, KindPlan],
    new_accounts: set[str],
    org_row: dict[str, Any] | None,
    stored_org: dict[str, Any] | None,
) -> None:
    """Mark for the incremental sweep what the file changed (bot.engine.sweep_state): the
    stored accounts it touched (accounts created by the file have no sweep state yet: they are
    due anyway), the accounts linked to a request whose activities changed, the accounts of
    changed users and teams, and every account when the org's rules, hours, time zone or
    fallback CSM changed."""
    accounts: set[str] = set()
    requests: set[str] = set()
    for name, plan in plans.items():
        if name not in ("users", "teams"):
            accounts |= plan.marked
        requests |= plan.touched_requests
    for part in id_chunks(conn, sorted(requests)):
        linked = select(RequestAccount.account_id).where(
            member_of(conn, RequestAccount.request_id, part)
        )
        accounts.update(conn.execute(linked).scalars())
    mark_changed(conn, accounts - new_accounts)
    if "users" in plans:
        mark_csms_changed(conn, plans["users"].marked)
    if "teams" in plans:
        mark_teams_changed(conn, plans["teams"].marked)
    if (
        org_row is not None
        and stored_org is not None
        and any(c in org_row and org_row[c] != stored_org[c] for c in SWEPT_ORG_COLUMNS)
    ):
        mark_all_changed(conn)


def _done(report: ImportReport, started: float) -> ImportReport:
    report.seconds = perf_counter() - started
    return report
