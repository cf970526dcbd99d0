"""Checking the records of a portfolio file: field conversion, duplicate keys and references.

Every problem becomes an ``ImportIssue`` with its path; nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

from sqlalchemy import Connection

from bot.importer.compiled import FastConvert, compile_record
from bot.importer.fields import Invalid, describe, suggest
from bot.importer.kinds import FieldSpec, Kind, RefSpec
from bot.importer.lookup import existing_ids, rows_where_in
from bot.importer.progress import Ticker
from bot.importer.report import ImportIssue

BATCH = 5000  # records between progress reports


@dataclass
class Converted:
    """The valid records of one kind: ``rows[j]`` holds the columns that ``items[index[j]]``
    gives (an absent field is absent from the row). The valid fields of the invalid records are
    kept apart: their references are checked too, so that every error is listed at once."""

    kind: Kind
    rows: list[dict[str, Any]] = field(default_factory=list)
    index: list[int] = field(default_factory=list)
    invalid_rows: list[dict[str, Any]] = field(default_factory=list)
    invalid_index: list[int] = field(default_factory=list)
    # every column some row of ``rows`` may hold (the others are absent from every row)
    columns: set[str] = field(default_factory=set)
    # the kind's compiled converters, made as record shapes come (once for all the parts)
    fast: FastConvert | None = None

    def path(self, j: int) -> str:
        return f"{self.kind.name}[{self.index[j]}]"

    def every_row(self) -> list[tuple[dict[str, Any], int]]:
        """(columns, position in the file) of the valid and the invalid records."""
        return [
            *zip(self.rows, self.index, strict=True),
            *zip(self.invalid_rows, self.invalid_index, strict=True),
        ]


def _path(name: str, index: int | None) -> str:
    return name if index is None else f"{name}[{index}]"


def convert_record(
    specs: dict[str, FieldSpec],
    required: frozenset[str],
    record: Any,
    name: str,
    index: int | None,
    errors: list[ImportIssue],
) -> tuple[dict[str, Any], bool]:
    """The columns one record gives and whether it is valid. Its problems go to ``errors``
    under the path ``name[index]`` (``name`` when index is None); the columns of an invalid
    record are those of its valid fields.

    This is the hot loop of a big import: paths are only built for errors.
    """
    if type(record) is not dict:
        where = _path(name, index)
        errors.append(ImportIssue(where, f"expected an object, got {describe(record)}"))
        return {}, False
    row: dict[str, Any] = {}
    valid = True
    for key, value in record.items():
        spec = specs.get(key)
        if spec is None:
            where = f"{_path(name, index)}.{key}"
            errors.append(ImportIssue(where, "unknown field" + suggest(key, specs)))
            valid = False
        elif value is None:
            if not spec.nullable:
                where = f"{_path(name, index)}.{key}"
                errors.append(ImportIssue(where, "required, must not be null"))
                valid = False
            elif spec.column is not None:
                row[spec.column] = spec.null_value
            else:
                row.update(dict.fromkeys(spec.columns))
        else:
            try:
                converted = spec.convert(value)
            except Invalid as exc:
                where = f"{_path(name, index)}.{key}"
                errors.extend(ImportIssue(f"{where}{sub}", msg) for sub, msg in exc.issues)
                valid = False
                continue
            column = spec.column
            if column is not None:
                row[column] = converted
            else:
                row.update(zip(spec.columns, converted, strict=True))
    if not record.keys() >= required:
        for field_name in sorted(required - record.keys()):
            errors.append(ImportIssue(f"{_path(name, index)}.{field_name}", "required"))
        valid = False
    return row, valid


def convert_records(
    kind: Kind,
    items: list[Any],
    errors: list[ImportIssue],
    ticker: Ticker,
    part: range | None = None,
    out: Converted | None = None,
) -> Converted:
    """The records of ``items`` (those of ``part``, by default all) converted to columns and
    added to ``out`` (by default a new ``Converted``): the compiled fast path first, and
    ``convert_record`` for the records it turns down (to list their problems)."""
    out = Converted(kind) if out is None else out
    part = range(len(items)) if part is None else part
    specs, name = kind.fields, kind.name
    required = frozenset(kind.required)
    check, derive = kind.check, kind.derive
    if out.fast is None and part:
        out.fast = compile_record(specs, required, out.columns)
    fast = out.fast
    for start in range(part.start, part.stop, BATCH):
        stop = min(start + BATCH, part.stop)
        for i in range(start, stop):
            item = items[i]
            fast_row = fast(item) if fast is not None else None
            if fast_row is not None:
                row, valid = fast_row, True
            else:
                row, valid = convert_record(specs, required, item, name, i, errors)
            if valid and check is not None:
                problems = check(row)
                if problems:
                    errors.extend(ImportIssue(f"{name}[{i}].{f}", msg) for f, msg in problems)
                    valid = False
            if not valid:
                out.invalid_rows.append(row)
                out.invalid_index.append(i)
                continue
            if derive is not None:
                derive(row)
            if derive is not None or fast_row is None:  # (compiled shapes count their own)
                out.columns.update(row)
            out.rows.append(row)
            out.index.append(i)
        ticker.add(stop - start)
    return out


# ------------------------------------------------------------------------ duplicates


def file_ids(kind: Kind, items: list[Any], errors: list[ImportIssue]) -> set[str]:
    """The ids of the records of ``items`` (valid or not), reporting ids given twice."""
    ids = [r.get("id") if type(r) is dict else None for r in items]
    strings = [x for x in ids if type(x) is str]
    unique = set(strings)
    if len(unique) != len(strings):
        first: dict[str, int] = {}
        for i, x in enumerate(ids):
            if type(x) is not str:
                continue
            if x in first:
                errors.append(
                    ImportIssue(
                        f"{kind.name}[{i}].id",
                        f"duplicate id '{x}' (first at {kind.name}[{first[x]}])",
                    )
                )
            else:
                first[x] = i
    return unique


def natural_key_duplicates(converted: Converted, errors: list[ImportIssue]) -> None:
    """Report records of a kind without ids that share their natural key."""
    kind = converted.kind
    cols = kind.key
    keys = [tuple(row[c] for c in cols) for row in converted.rows]
    if len(set(keys)) == len(keys):
        return
    fields = ", ".join(c.removesuffix("_id") for c in cols)
    first: dict[tuple[Any, ...], int] = {}
    for j, key in enumerate(keys):
        if key in first:
            errors.append(
                ImportIssue(
                    converted.path(j),
                    f"duplicate of {converted.path(first[key])} (same {fields})",
                )
            )
        else:
            first[key] = j


# ------------------------------------------------------------------------ references


def _ref_ids(ref: RefSpec, rows: list[dict[str, Any]]) -> set[str]:
    column = ref.column
    if ref.extract is None:
        found: set[Any] = set(map(dict.get, rows, repeat(column)))
        found.discard(None)
        return found
    extract = ref.extract
    return {item for row in rows for _, item in extract(row.get(column))}


@dataclass
class OutsideRefs:
    """The references a file makes to ids it does not hold, which the database must hold."""

    in_file: dict[str, set[str]]  # the file's ids per kind
    # (records, reference, ids it names that the file does not hold)
    pending: list[tuple[Converted, RefSpec, set[str]]] = field(default_factory=list)
    wanted: dict[str, set[str]] = field(default_factory=dict)  # those ids per target kind
    # single references outside the record lists: (path, target kind, id)
    extra: list[tuple[str, str, str]] = field(default_factory=list)


def references_outside(
    converted: dict[str, Converted],
    in_file: dict[str, set[str]],
    extra: Iterable[tuple[str, str, str]] = (),
) -> OutsideRefs:
    """The referenced ids the file does not hold (no database needed)."""
    out = OutsideRefs(in_file, extra=list(extra))
    for conv in converted.values():
        for ref in conv.kind.refs:
            unknown = _ref_ids(ref, conv.invalid_rows)
            if ref.column in conv.columns:
                unknown |= _ref_ids(ref, conv.rows)
            for target in ref.targets:
                unknown -= in_file.get(target, set())
            if unknown:
                out.pending.append((conv, ref, unknown))
                for target in ref.targets:
                    out.wanted.setdefault(target, set()).update(unknown)
    for _path, target, value in out.extra:
        if value not in in_file.get(target, set()):
            out.wanted.setdefault(target, set()).add(value)
    return out


def check_references(
    conn: Connection, kinds: dict[str, Kind], refs: OutsideRefs, errors: list[ImportIssue]
) -> None:
    """Every reference must name a record of the file or of the database: report those that
    name neither where they occur."""
    stored = {t: existing_ids(conn, kinds[t].table, ids) for t, ids in refs.wanted.items()}
    for conv, ref, unknown in refs.pending:
        for target in ref.targets:
            unknown -= stored.get(target, set())
        if not unknown:
            continue
        what = " or ".join(kinds[t].singular for t in ref.targets)
        column = ref.column
        for row, position in sorted(conv.every_row(), key=lambda pair: pair[1]):
            held = row.get(column)
            if held is None:
                continue
            pairs: Iterable[tuple[str, Any]] = (
                [("", held)] if ref.extract is None else ref.extract(held)
            )
            for sub, item in pairs:
                if item in unknown:
                    where = f"{conv.kind.name}[{position}].{ref.field}{sub}"
                    errors.append(ImportIssue(where, f"unknown {what} '{item}'"))
    for path, target, value in refs.extra:
        if value not in refs.in_file.get(target, set()) and value not in stored.get(target, set()):
            errors.append(ImportIssue(path, f"unknown {kinds[target].singular} '{value}'"))


def check_attendees(
    conn: Connection,
    kinds: dict[str, Kind],
    converted: dict[str, Converted],
    in_file: dict[str, set[str]],
    errors: list[ImportIssue],
) -> None:
    """A meeting's attendees are users, or contacts of the meeting's own account
    (data-format.md): report a contact of another account where it is listed."""
    meetings = converted.get("meetings")
    if meetings is None:
        return
    listed = [(row, at) for row, at in meetings.every_row() if row.get("attendees")]
    if not listed:
        return
    owner: dict[str, str] = {}  # contact id -> its account, the file's word first
    contacts = converted.get("contacts")
    if contacts is not None:
        for row, _ in contacts.every_row():
            if "id" in row and row.get("account_id") is not None:
                owner[row["id"]] = row["account_id"]
    named = {item for row, _ in listed for item in row["attendees"]}
    contacts_table = kinds["contacts"].table
    for row in rows_where_in(conn, contacts_table, contacts_table.c.id, named - owner.keys()):
        owner[row["id"]] = row["account_id"]
    strays: list[tuple[int, int, str, str, str]] = []  # (position, index, id, owner, account)
    for row, at in listed:
        account = row.get("account_id")  # (required: absent only from an invalid record)
        for i, item in enumerate(row["attendees"]):
            theirs = owner.get(item)
            if account is not None and theirs is not None and theirs != account:
                strays.append((at, i, item, theirs, account))
    if not strays:
        return
    # an id that is also a user's is that user; a contact whose own account is unknown has
    # that reported already
    users = in_file.get("users", set())
    users = users | existing_ids(conn, kinds["users"].table, {s[2] for s in strays} - users)
    accounts = in_file.get("accounts", set())
    accounts = accounts | existing_ids(conn, kinds["accounts"].table, {s[3] for s in strays})
    for at, i, item, theirs, account in sorted(strays):
        if item not in users and theirs in accounts:
            errors.append(
                ImportIssue(
                    f"meetings[{at}].attendees[{i}]",
                    f"contact '{item}' belongs to account '{theirs}', "
                    f"not to the meeting's account '{account}'",
                )
            )
