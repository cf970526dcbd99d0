"""Importing accounts from a CSV with a header row (data-format.md "Accounts CSV").

Headers are matched case-insensitively with aliases; unknown columns become traits. A row
updates the stored account with its ``id`` (when the CSV has an id column), else the one with
its name (case-insensitive), else creates an account with an id made from the name. Empty
cells leave the stored value alone. Bad rows are reported by line and column: nothing is
written unless every row is valid, or ``skip_invalid`` imports the valid rows and writes the
rejected ones, with the reason, to ``<name>.rejected.csv`` beside the CSV (an import that
rejects nothing removes an older one). A dry run with bad rows raises ``RowsRejected``, which
also carries the mapping and the preview of the valid rows.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from email.utils import parseaddr
from pathlib import Path
from time import perf_counter
from typing import Any

from sqlalchemy import Connection, Engine, Table, select

from bot.db.bulk import bulk_insert
from bot.db.models import Account, Contact, Org, User
from bot.engine.rollups import refresh_rollups
from bot.engine.sweep_state import mark_changed
from bot.importer.fields import (
    Invalid,
    identifier,
    integer,
    number,
    parse_date,
    timestamp,
    url,
    zone,
)
from bot.importer.kinds import sized_text
from bot.importer.lookup import existing_ids, rows_where_in
from bot.importer.progress import Ticker
from bot.importer.report import ImportFailed, ImportIssue, ImportReport, Progress
from bot.importer.writer import PK, bulk_update

PREVIEW_ROWS = 20


class RowsRejected(ImportFailed):
    """A dry run found bad rows: their errors, and the report of the valid rows (its mapping
    and preview are what to show: without ``skip_invalid`` nothing would be imported)."""

    def __init__(self, source: str, errors: list[ImportIssue], report: ImportReport):
        super().__init__(source, errors)
        self.report = report


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


ACCOUNTS = _table(Account)
CONTACTS = _table(Contact)
USERS = _table(User)
ORGS = _table(Org)

# normalised header -> field
HEADER_ALIASES: dict[str, str] = {
    "id": "id",
    "account id": "id",
    "name": "name",
    "account": "name",
    "company": "name",
    "account name": "name",
    "company name": "name",
    "mrr": "mrr",
    "revenue": "mrr",
    "monthly revenue": "mrr",
    "segment": "segment",
    "touch policy": "touch_policy",
    "status": "status",
    "account status": "status",
    "csm": "csm",
    "owner": "csm",
    "csm email": "csm",
    "csm id": "csm",
    "renewal date": "renewal_date",
    "renewal": "renewal_date",
    "primary contact": "primary_contact",
    "contact email": "primary_contact",
    "primary contact email": "primary_contact",
    "created at": "created_at",
    "usage trend": "usage_trend",
    "adoption": "adoption",
    "csat": "csat",
    "open issues": "open_issues",
    "blocker": "blocker",
    "crm url": "crm_url",
}

# human spellings (normalised: lower case, spaces and dashes as "_") -> value
ENUM_SPELLINGS: dict[str, dict[str, str]] = {
    "segment": {
        "smb": "smb",
        "small_business": "smb",
        "small": "smb",
        "mid_market": "mid_market",
        "midmarket": "mid_market",
        "mid": "mid_market",
        "mm": "mid_market",
        "enterprise": "enterprise",
        "ent": "enterprise",
    },
    "touch_policy": {
        "strategic": "strategic",
        "standard": "standard",
        "low_touch": "low_touch",
        "lowtouch": "low_touch",
        "low": "low_touch",
        "onboarding": "onboarding",
        "on_boarding": "onboarding",
    },
    "status": {
        "active": "active",
        "onboarding": "onboarding",
        "on_boarding": "onboarding",
        "inactive": "inactive",
        "churned": "churned",
    },
    "blocker": {"none": "none", "minor": "minor", "major": "major"},
}

_MONEY = re.compile(r"[$€£¥]?\s*(\d{1,3}(?:,\d{3})+|\d+)?(\.\d+)?")
_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")


def normalise_header(header: str) -> str:
    return re.sub(r"[\s_\-]+", " ", header.strip().lower())


def trait_key(header: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", header.strip().lower()).strip("_") or "column"


def slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "-", text.lower()).strip("-")


# --------------------------------------------------------------------------- cell parsers


def _enum(field_name: str) -> Callable[[str], str]:
    spellings = ENUM_SPELLINGS[field_name]
    listing = ", ".join(dict.fromkeys(spellings.values()))

    def parse(cell: str) -> str:
        value = spellings.get(re.sub(r"[\s\-]+", "_", cell.strip().lower()))
        if value is None:
            raise Invalid(f"expected one of {listing}; got '{cell}'")
        return value

    return parse


def _amount(lo: float | None = None, hi: float | None = None) -> Callable[[str], float]:
    """A number such as ``1200``, ``1,200.50`` or ``$1,200``."""
    check = number(lo, hi)

    def parse(cell: str) -> float:
        text = cell.strip()
        negative = text.startswith("-")
        match = _MONEY.fullmatch(text.removeprefix("-").strip())
        if not match or not (match.group(1) or match.group(2)):
            raise Invalid(f"expected a number such as 1200 or 1,200.50; got '{cell}'")
        value = float((match.group(1) or "0").replace(",", "") + (match.group(2) or ""))
        result: float = check(-value if negative else value)
        return result

    return parse


def _fraction(lo: float | None = None, hi: float | None = None) -> Callable[[str], float]:
    """A number, or a percentage (``45%`` is 0.45)."""
    check = number(lo, hi)

    def parse(cell: str) -> float:
        text = cell.strip()
        scale = 100.0 if text.endswith("%") else 1.0
        try:
            value = float(text.removesuffix("%").strip()) / scale
        except ValueError:
            raise Invalid(f"expected a number; got '{cell}'") from None
        result: float = check(value)
        return result

    return parse


def _count(cell: str) -> int:
    try:
        value = int(cell.strip())
    except ValueError:
        raise Invalid(f"expected a whole number; got '{cell}'") from None
    result: int = integer(0)(value)
    return result


def _renewal(cell: str) -> date:
    text = cell.strip()
    if re.fullmatch(r"\d{4}/\d{2}/\d{2}", text):
        text = text.replace("/", "-")
    return parse_date(text)


def _contact(cell: str) -> tuple[str | None, str]:
    """``email`` or ``Name <email>`` -> (name, email)."""
    name, email = parseaddr(cell.strip())
    if not _EMAIL.fullmatch(email):
        raise Invalid(f"expected an email address; got '{cell}'")
    return (name or None), email


# ------------------------------------------------------------------------------- reading


@dataclass
class Sheet:
    headers: list[str]
    rows: list[tuple[int, list[str]]]  # (line number, cells)


def read_sheet(path: Path) -> Sheet:
    source = str(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            text = handle.read()
    except OSError as exc:
        raise ImportFailed(
            source, [ImportIssue("", f"cannot read the file: {exc.strerror}")]
        ) from None
    except UnicodeDecodeError:
        raise ImportFailed(source, [ImportIssue("", "the file is not UTF-8 text")]) from None
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count) if path.suffix.lower() != ".tsv" else "\t"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        headers = next(reader, None)
        if not headers or not any(h.strip() for h in headers):
            raise ImportFailed(source, [ImportIssue("line 1", "the CSV has no header row")])
        rows: list[tuple[int, list[str]]] = []
        line = reader.line_num + 1
        for cells in reader:
            if any(c.strip() for c in cells):
                rows.append((line, cells))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise ImportFailed(
            source, [ImportIssue(f"line {reader.line_num}", f"invalid CSV: {exc}")]
        ) from None
    return Sheet(headers, rows)


def map_headers(headers: list[str], errors: list[ImportIssue]) -> list[str]:
    """The field of each column (``trait:key`` for unknown ones)."""
    fields: list[str] = []
    seen: dict[str, str] = {}
    for number_, header in enumerate(headers, start=1):
        if not header.strip():
            errors.append(ImportIssue(f"line 1, column {number_}", "empty header"))
            fields.append("")
            continue
        target = HEADER_ALIASES.get(normalise_header(header)) or f"trait:{trait_key(header)}"
        if target in seen:
            errors.append(
                ImportIssue(
                    f"line 1, column '{header}'",
                    f"gives the same {target.removeprefix('trait:')} as column '{seen[target]}'",
                )
            )
        seen[target] = header
        fields.append(target)
    if "name" not in seen and "id" not in seen:
        errors.append(
            ImportIssue(
                "line 1",
                "no name column (name, account, company, account name) and no id column",
            )
        )
    return fields


# ----------------------------------------------------------------------------- importing


@dataclass
class Stored:
    """What the database holds that rows are matched against."""

    names: dict[str, list[str]]  # lower-case name -> account ids
    ids: set[str]
    users: dict[str, str]  # user id, and lower-case email -> user id
    timezone: tzinfo


@dataclass
class Row:
    line: int
    cells: list[str]
    values: dict[str, Any] = field(default_factory=dict)  # account columns given
    traits: dict[str, str] = field(default_factory=dict)
    contact: tuple[str | None, str] | None = None
    account_id: str = ""
    new: bool = False
    by_name: bool = False  # matched a stored account by its name


def _load_stored(conn: Connection) -> Stored:
    names: dict[str, list[str]] = {}
    ids: set[str] = set()
    for account_id, name in conn.execute(select(ACCOUNTS.c.id, ACCOUNTS.c.name)):
        ids.add(account_id)
        names.setdefault(name.lower(), []).append(account_id)
    users: dict[str, str] = {}
    for user_id, email in conn.execute(select(USERS.c.id, USERS.c.email)):
        users[user_id] = user_id
        if email:
            users.setdefault(email.lower(), user_id)
    tz_name = conn.execute(select(ORGS.c.timezone).order_by(ORGS.c.id).limit(1)).scalar()
    timezone = (zone(tz_name) if tz_name else None) or UTC
    return Stored(names, ids, users, timezone)


def _parsers(stored: Stored) -> dict[str, Callable[[str], Any]]:
    users = stored.users
    name_text = sized_text(ACCOUNTS, "name")

    def csm(cell: str) -> str:
        text = cell.strip()
        found = users.get(text) or users.get(text.lower())
        if found is None:
            raise Invalid(f"unknown user '{text}' (give a user id or email)")
        return found

    return {
        "id": lambda cell: identifier()(cell.strip()),
        "name": lambda cell: name_text(cell.strip()),
        "mrr": _amount(0),
        "segment": _enum("segment"),
        "touch_policy": _enum("touch_policy"),
        "status": _enum("status"),
        "csm": csm,
        "renewal_date": _renewal,
        "created_at": lambda cell: timestamp(stored.timezone)(cell.strip()),
        "usage_trend": _fraction(),
        "adoption": _fraction(0, 1),
        "csat": _amount(1, 5),
        "open_issues": _count,
        "blocker": _enum("blocker"),
        "crm_url": lambda cell: url(cell.strip()),
    }


COLUMN_OF = {"csm": "csm_id"}  # field -> account column where they differ


def _parse_row(
    line: int,
    cells: list[str],
    headers: list[str],
    fields: list[str],
    parsers: dict[str, Callable[[str], Any]],
) -> tuple[Row, list[ImportIssue]]:
    row = Row(line, cells)
    problems: list[ImportIssue] = []
    if len(cells) > len(headers) and any(c.strip() for c in cells[len(headers) :]):
        problems.append(
            ImportIssue(f"line {line}", f"{len(cells)} cells but the header has {len(headers)}")
        )
    for header, target, cell in zip(headers, fields, cells, strict=False):
        if not target or not cell.strip():
            continue
        try:
            if target.startswith("trait:"):
                row.traits[target.removeprefix("trait:")] = cell.strip()
            elif target == "primary_contact":
                row.contact = _contact(cell)
            else:
                row.values[COLUMN_OF.get(target, target)] = parsers[target](cell)
        except Invalid as exc:
            problems.extend(
                ImportIssue(f"line {line}, column '{header}'", msg) for _, msg in exc.issues
            )
    return row, problems


def _resolve(
    row: Row, stored: Stored, taken: set[str], claimed: dict[str, int]
) -> ImportIssue | None:
    """Find the account the row is about, or give the new one its id."""
    given_id = row.values.get("id")
    name = row.values.get("name")
    if given_id is not None:
        row.account_id = given_id
        row.new = given_id not in stored.ids
    elif name is not None:
        matches = stored.names.get(name.lower(), [])
        if len(matches) > 1:
            listed = ", ".join(sorted(matches))
            return ImportIssue(
                f"line {row.line}",
                f"{len(matches)} accounts are called '{name}' ({listed}); add an id column",
            )
        if matches:
            row.account_id = matches[0]
            row.by_name = True
        else:
            key = f"name:{name.lower()}"
            if key in claimed:
                return ImportIssue(
                    f"line {row.line}", f"the same new account as line {claimed[key]} ('{name}')"
                )
            claimed[key] = row.line
            row.account_id = _new_id(name, taken)
            row.new = True
    else:
        return ImportIssue(f"line {row.line}", "no name and no id")
    if row.account_id in claimed:
        return ImportIssue(
            f"line {row.line}",
            f"the same account as line {claimed[row.account_id]} ('{row.account_id}')",
        )
    claimed[row.account_id] = row.line
    if row.new and name is None:
        return ImportIssue(f"line {row.line}", f"a new account ('{row.account_id}') needs a name")
    return None


def _new_id(name: str, taken: set[str]) -> str:
    base = ("acc-" + slug(name))[:56].rstrip("-") or "acc"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    taken.add(candidate)
    return candidate


def import_accounts_csv(
    engine: Engine,
    path: Path,
    *,
    now: datetime,
    dry_run: bool = False,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    del now  # nothing the CSV import writes is stamped
    started = perf_counter()
    source = str(path)
    sheet = read_sheet(path)
    report = ImportReport(source, "accounts_csv", dry_run=dry_run, records=len(sheet.rows))
    header_errors: list[ImportIssue] = []
    fields = map_headers(sheet.headers, header_errors)
    if header_errors:
        raise ImportFailed(source, header_errors)
    report.mapping = {h: f for h, f in zip(sheet.headers, fields, strict=True)}
    ticker = Ticker(progress)

    with engine.begin() as conn:
        stored = _load_stored(conn)
        parsers = _parsers(stored)
        taken = set(stored.ids)
        claimed: dict[str, int] = {}
        good: list[Row] = []
        rejected: list[tuple[Row, list[ImportIssue]]] = []
        ticker.phase("validating", len(sheet.rows))
        for line, cells in sheet.rows:
            row, problems = _parse_row(line, cells, sheet.headers, fields, parsers)
            if not problems:
                problem = _resolve(row, stored, taken, claimed)
                if problem is not None:
                    problems.append(problem)
            if problems:
                rejected.append((row, problems))
            else:
                good.append(row)
            ticker.add(1)
        ticker.finish()
        errors = [issue for _, problems in rejected for issue in problems]
        if errors and not skip_invalid and not dry_run:
            raise ImportFailed(source, errors)

        account_plan, contact_rows = _plan(conn, good, fields, report)
        report.rejected = len(rejected)
        if errors and not skip_invalid:
            raise RowsRejected(source, errors, report)
        if dry_run:
            report.warnings.extend(f"would reject {issue}" for issue in errors)
            report.seconds = perf_counter() - started
            return report

        ticker.phase("writing", len(good))
        creates, updates = account_plan
        bulk_insert(conn, ACCOUNTS, creates)
        bulk_update(conn, ACCOUNTS, updates)
        bulk_insert(conn, CONTACTS, contact_rows)
        # the stored accounts this file changes (their own fields or new contacts)
        mark_changed(conn, [row[PK] for row in updates] + [r["account_id"] for r in contact_rows])
        ticker.finish()
        new_ids = [row.account_id for row in good if row.new]
        if new_ids:
            refresh_rollups(conn, new_ids, ())
    if rejected:  # once the valid rows are in
        report.rejects_file = _write_rejects(path, sheet.headers, rejected)
    elif (stale := _rejects_path(path)).exists():  # no longer says what this file's bad rows are
        try:
            stale.unlink()
        except OSError as exc:
            report.warnings.append(f"no row was rejected, but {stale} is left: {exc.strerror}")
        else:
            report.warnings.append(f"no row was rejected: removed {stale}, left by an earlier run")
    report.seconds = perf_counter() - started
    return report


def _plan(
    conn: Connection, rows: list[Row], fields: list[str], report: ImportReport
) -> tuple[tuple[list[dict[str, Any]], list[dict[str, Any]]], list[dict[str, Any]]]:
    """Account creates and updates, and the primary contacts to create; counts them and
    previews the first rows."""
    existing = {
        old["id"]: old
        for old in rows_where_in(
            conn, ACCOUNTS, ACCOUNTS.c.id, {r.account_id for r in rows if not r.new}
        )
    }
    template: dict[str, Any] = {c.name: None for c in ACCOUNTS.columns}
    creates: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    unchanged = 0
    report.preview = [
        _preview(row, fields, existing.get(row.account_id)) for row in rows[:PREVIEW_ROWS]
    ]
    for row in rows:
        values = dict(row.values)
        values.pop("id", None)
        if row.by_name:  # the name was the key: its spelling in the CSV is not a rename
            values.pop("name", None)
        old = existing.get(row.account_id)
        if old is None:
            new = {**template, **values, "id": row.account_id}
            if row.traits:
                new["traits"] = dict(row.traits)
            creates.append(new)
            continue
        if row.traits:
            values["traits"] = {**(old["traits"] or {}), **row.traits}
        if any(old[c] != v for c, v in values.items()):
            values[PK] = row.account_id
            updates.append(values)
        else:
            unchanged += 1
    report.created["accounts"] = len(creates)
    report.updated["accounts"] = len(updates)
    report.unchanged["accounts"] = unchanged
    contacts = _plan_contacts(conn, [r for r in rows if r.contact is not None])
    if any(r.contact is not None for r in rows):
        report.created["contacts"] = len(contacts)
        report.unchanged["contacts"] = sum(r.contact is not None for r in rows) - len(contacts)
    return (creates, updates), contacts


def _plan_contacts(conn: Connection, rows: list[Row]) -> list[dict[str, Any]]:
    """A contact for each primary contact email the account does not have yet."""
    if not rows:
        return []
    known: set[tuple[str, str]] = set()
    for contact in rows_where_in(
        conn, CONTACTS, CONTACTS.c.account_id, {r.account_id for r in rows}
    ):
        if contact["email"]:
            known.add((contact["account_id"], contact["email"].lower()))
    wanted: dict[str, tuple[str, str | None, str]] = {}  # id -> (account, name, email)
    for row in rows:
        assert row.contact is not None
        name, email = row.contact
        if (row.account_id, email.lower()) in known:
            continue
        known.add((row.account_id, email.lower()))
        base = f"{row.account_id}-{slug(email)}"[:60].rstrip("-")
        wanted[base] = (row.account_id, name, email)
    taken = existing_ids(conn, CONTACTS, set(wanted))
    template: dict[str, Any] = {c.name: None for c in CONTACTS.columns}
    out: list[dict[str, Any]] = []
    for base, (account_id, name, email) in wanted.items():
        contact_id, n = base, 1
        while contact_id in taken:
            n += 1
            contact_id = f"{base}-{n}"
        taken.add(contact_id)
        out.append(
            {**template, "id": contact_id, "account_id": account_id, "name": name, "email": email}
        )
    return out


def _preview(row: Row, fields: list[str], old: dict[str, Any] | None) -> dict[str, Any]:
    """One row as it would be imported (JSON-friendly values): for a stored account, what it
    will hold, i.e. the stored value where the cell is empty and the stored name where the
    name matched it."""
    out: dict[str, Any] = {
        "line": row.line,
        "action": "create" if row.new else "update",
        "id": row.account_id,
    }
    for target in fields:
        if not target or target == "id" or target.startswith("trait:"):
            continue
        if target == "primary_contact":
            if row.contact:
                out[target] = row.contact[1]
            else:  # the import never removes a contact
                out[target] = None if old is None else "(unchanged)"
            continue
        column = COLUMN_OF.get(target, target)
        value = row.values.get(column)
        if old is not None and (value is None or (column == "name" and row.by_name)):
            value = old[column]
        out[target] = value.isoformat() if isinstance(value, date | datetime) else value
    keys = [t.removeprefix("trait:") for t in fields if t.startswith("trait:")]
    if keys:
        stored = (old or {}).get("traits") or {}
        out["traits"] = {
            k: row.traits[k] if k in row.traits else stored[k]
            for k in keys
            if k in row.traits or k in stored
        }
    return out


def _rejects_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.rejected.csv")


def _write_rejects(
    path: Path, headers: list[str], rejected: list[tuple[Row, list[ImportIssue]]]
) -> Path:
    target = _rejects_path(path)
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*headers, "reason"])
        for row, problems in rejected:
            cells = row.cells + [""] * (len(headers) - len(row.cells))
            reason = "; ".join(str(issue) for issue in problems)  # e.g. line 7, column 'mrr': …
            writer.writerow([*cells, reason])
    return target
