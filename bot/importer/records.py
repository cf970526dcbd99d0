"""Checking the records of a portfolio file: field conversion, duplicate keys and references.

Every problem becomes an ``ImportIssue`` with its path; nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

from sqlalchemy import Connection

from bot.importer.fields import Invalid, describe, suggest
from bot.importer.kinds import FieldSpec, Kind, RefSpec
from bot.importer.lookup import existing_ids
from bot.importer.progress import Ticker
from bot.importer.report import ImportIssue

BATCH = 5000  # records between progress reports


@dataclass
class Converted:
    """The valid records of one kind: ``rows[j]`` holds the columns that ``items[index[j]]``
    gives (an absent field is absent from the row)."""

    kind: Kind
    rows: list[dict[str, Any]] = field(default_factory=list)
    index: list[int] = field(default_factory=list)

    def path(self, j: int) -> str:
        return f"{self.kind.name}[{self.index[j]}]"


def convert_object(
    specs: dict[str, FieldSpec],
    record: Any,
    path: str,
    errors: list[ImportIssue],
    required: Iterable[str] = (),
) -> dict[str, Any] | None:
    """One record's columns, or None (with its problems added to ``errors``) when invalid."""
    if type(record) is not dict:
        errors.append(ImportIssue(path, f"expected an object, got {describe(record)}"))
        return None
    row: dict[str, Any] = {}
    bad = False
    for key, value in record.items():
        spec = specs.get(key)
        if spec is None:
            errors.append(ImportIssue(f"{path}.{key}", "unknown field" + suggest(key, specs)))
            bad = True
            continue
        if value is None:
            if not spec.nullable:
                errors.append(ImportIssue(f"{path}.{key}", "required, must not be null"))
                bad = True
            elif len(spec.columns) == 1:
                row[spec.columns[0]] = spec.null_value
            else:
                row.update(dict.fromkeys(spec.columns))
            continue
        try:
            converted = spec.convert(value)
        except Invalid as exc:
            errors.extend(ImportIssue(f"{path}.{key}{sub}", msg) for sub, msg in exc.issues)
            bad = True
            continue
        if len(spec.columns) == 1:
            row[spec.columns[0]] = converted
        else:
            row.update(zip(spec.columns, converted, strict=True))
    for name in required:
        if name not in record:
            errors.append(ImportIssue(f"{path}.{name}", "required"))
            bad = True
    return None if bad else row


def convert_records(
    kind: Kind, items: list[Any], errors: list[ImportIssue], ticker: Ticker
) -> Converted:
    """The valid records of ``items`` converted to columns (the hot loop of a big import)."""
    out = Converted(kind)
    rows, index = out.rows, out.index
    name = kind.name
    specs = kind.fields
    # field -> (single column or None, columns, converter, nullable, null value)
    table = {
        n: (
            f.columns[0] if len(f.columns) == 1 else None,
            f.columns,
            f.convert,
            f.nullable,
            f.null_value,
        )
        for n, f in specs.items()
    }
    required = kind.required
    required_set = frozenset(required)
    check = kind.check
    derive = kind.derive
    for start in range(0, len(items), BATCH):
        for i in range(start, min(start + BATCH, len(items))):
            record = items[i]
            if type(record) is not dict:
                errors.append(
                    ImportIssue(f"{name}[{i}]", f"expected an object, got {describe(record)}")
                )
                continue
            row: dict[str, Any] = {}
            bad = False
            for key, value in record.items():
                spec = table.get(key)
                if spec is None:
                    errors.append(
                        ImportIssue(f"{name}[{i}].{key}", "unknown field" + suggest(key, specs))
                    )
                    bad = True
                    continue
                column, columns, convert, can_be_null, null_value = spec
                if value is None:
                    if not can_be_null:
                        errors.append(
                            ImportIssue(f"{name}[{i}].{key}", "required, must not be null")
                        )
                        bad = True
                    elif column is None:
                        row.update(dict.fromkeys(columns))
                    else:
                        row[column] = null_value
                    continue
                try:
                    converted = convert(value)
                except Invalid as exc:
                    errors.extend(
                        ImportIssue(f"{name}[{i}].{key}{sub}", msg) for sub, msg in exc.issues
                    )
                    bad = True
                    continue
                if column is None:
                    row.update(zip(columns, converted, strict=True))
                else:
                    row[column] = converted
            if not record.keys() >= required_set:
                for req in required:
                    if req not in record:
                        errors.append(ImportIssue(f"{name}[{i}].{req}", "required"))
                bad = True
            if check is not None and not bad:
                for fld, msg in check(row):
                    errors.append(ImportIssue(f"{name}[{i}].{fld}", msg))
                    bad = True
            if not bad:
                if derive is not None:
                    derive(row)
                rows.append(row)
                index.append(i)
        ticker.add(min(BATCH, len(items) - start))
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
            unknown = _ref_ids(ref, conv.rows)
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
        for j, row in enumerate(conv.rows):
            held = row.get(column)
            if held is None:
                continue
            pairs: Iterable[tuple[str, Any]] = (
                [("", held)] if ref.extract is None else ref.extract(held)
            )
            for sub, item in pairs:
                if item in unknown:
                    errors.append(
                        ImportIssue(f"{conv.path(j)}.{ref.field}{sub}", f"unknown {what} '{item}'")
                    )
    for path, target, value in extra:
        if value not in in_file.get(target, set()) and value not in stored.get(target, set()):
            errors.append(ImportIssue(path, f"unknown {kinds[target].singular} '{value}'"))
