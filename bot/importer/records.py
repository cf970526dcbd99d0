"""Checking the records of a portfolio file: field conversion, duplicate keys and references.

Every problem becomes an ``ImportIssue`` with its path; nothing here writes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import ge, is_not
from typing import Any, Final

from sqlalchemy import Connection

from bot.importer.fields import Invalid, describe, suggest
from bot.importer.kinds import FieldSpec, Kind, RefSpec
from bot.importer.lookup import existing_ids
from bot.importer.progress import Ticker
from bot.importer.report import ImportIssue

BATCH = 5000  # records between progress reports, and per column-wise conversion
_ABSENT: Final = object()  # a field the record does not give


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


def _column(spec: FieldSpec, raw: list[Any]) -> list[Any] | None:
    """The converted values of one field over a batch (``_ABSENT`` where a record does not
    give it), or None when any value is invalid."""
    absent = raw.count(_ABSENT)
    nulls = raw.count(None)
    if nulls and not spec.nullable:
        return None
    whole = not absent and not nulls
    values = raw if whole else [v for v in raw if v is not _ABSENT and v is not None]
    many = spec.many
    converted = many(values) if many is not None else None
    if converted is None:  # some values need the one-by-one converter (or are invalid)
        try:
            converted = list(map(spec.convert, values))
        except Invalid:
            return None
    if whole:
        return converted
    null_value = spec.null_value if spec.column is not None else None
    if converted is values and null_value is None:
        return raw
    given = iter(converted)
    return [v if v is _ABSENT else null_value if v is None else next(given) for v in raw]


def _convert_fast(kind: Kind, items: list[Any]) -> list[dict[str, Any]] | None:
    """Convert the records of ``items`` in place, column by column, into rows (column names,
    converted values; a field a record leaves out stays out of its row) and return them; or
    return None, leaving every record untouched, when any field of any record is invalid: the
    record-by-record path then reports each problem with its path. Both paths accept exactly
    the same records and produce the same rows. (The kind's ``check`` is not applied here.)"""
    if not items:
        return []
    if set(map(type, items)) != {dict}:
        return None
    specs = kind.fields
    if not all(map(frozenset(specs).issuperset, items)):
        return None
    required = frozenset(kind.required)
    if required and not all(map(ge, map(dict.keys, items), repeat(required))):
        return None
    # 1. convert every column; nothing is changed until all of them are valid
    changes: list[tuple[FieldSpec, list[Any], list[Any]]] = []
    for spec in specs.values():
        raw = list(map(dict.get, items, repeat(spec.name), repeat(_ABSENT)))
        if raw.count(_ABSENT) == len(raw):
            continue
        column = _column(spec, raw)
        if column is None:
            return None
        if column is not raw or spec.column != spec.name:
            changes.append((spec, raw, column))
    # 2. store them under their column names (C-level loops: map over the dict methods)
    for spec, raw, column in changes:
        given = (
            items
            if _ABSENT not in raw
            else list(compress(items, map(is_not, raw, repeat(_ABSENT))))
        )
        if len(given) != len(items):
            column = [v for v in column if v is not _ABSENT]
        if spec.column is None:  # a nested object stored flattened: one column per key
            for k, name in enumerate(spec.columns):
                values = [None if v is None else v[k] for v in column]
                deque(map(dict.__setitem__, given, repeat(name), values), maxlen=0)
        else:
            deque(map(dict.__setitem__, given, repeat(spec.column), column), maxlen=0)
        if spec.column != spec.name:
            deque(map(dict.__delitem__, given, repeat(spec.name)), maxlen=0)
    return items


def convert_records(
    kind: Kind, items: list[Any], errors: list[ImportIssue], ticker: Ticker
) -> Converted:
    """The records of ``items`` converted to columns: a batch at a time column by column
    (the fast path, which turns the valid records themselves into rows), or record by record
    when the batch holds a problem."""
    out = Converted(kind)
    specs, name = kind.fields, kind.name
    required = frozenset(kind.required)
    check, derive = kind.check, kind.derive
    for start in range(0, len(items), BATCH):
        stop = min(start + BATCH, len(items))
        fast = _convert_fast(kind, items[start:stop])
        if fast is not None and (check is None or not any(map(check, fast))):
            if derive is not None:
                for row in fast:
                    derive(row)
            out.rows.extend(fast)
            out.index.extend(range(start, stop))
            ticker.add(stop - start)
            continue
        for i in range(start, stop):
            if fast is None:
                row, valid = convert_record(specs, required, items[i], name, i, errors)
            else:  # every field is valid, the check fails for some records
                row, valid = fast[i - start], True
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


def check_references(
    conn: Connection,
    kinds: dict[str, Kind],
    converted: dict[str, Converted],
    in_file: dict[str, set[str]],
    errors: list[ImportIssue],
    extra: Iterable[tuple[str, str, str]] = (),
) -> None:
    """Every reference must name a record of the file or of the database.

    ``extra`` are single references outside the record lists: ``(path, target kind, id)``.
    """
    extra = list(extra)
    # 1. the referenced ids the file does not hold, per target kind
    outside: dict[str, set[str]] = {}
    pending: list[tuple[Converted, RefSpec, set[str]]] = []
    for conv in converted.values():
        for ref in conv.kind.refs:
            unknown = _ref_ids(ref, conv.rows) | _ref_ids(ref, conv.invalid_rows)
            for target in ref.targets:
                unknown -= in_file.get(target, set())
            if unknown:
                pending.append((conv, ref, unknown))
                for target in ref.targets:
                    outside.setdefault(target, set()).update(unknown)
    for _path, target, value in extra:
        if value not in in_file.get(target, set()):
            outside.setdefault(target, set()).add(value)
    # 2. which of those the database holds
    stored = {t: existing_ids(conn, kinds[t].table, ids) for t, ids in outside.items()}
    # 3. report the rest where they occur
    for conv, ref, unknown in pending:
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
    for path, target, value in extra:
        if value not in in_file.get(target, set()) and value not in stored.get(target, set()):
            errors.append(ImportIssue(path, f"unknown {kinds[target].singular} '{value}'"))
