"""The fast path of record conversion: generated functions per record kind and shape.

``convert_record`` walks a record key by key and calls a converter per field: general, and
able to list every problem with its path. Most records of a big file are valid, though, and for
them all that work is overhead. ``compile_record`` writes the checks of a kind's fields
(``bot.importer.fields.INLINE``) into the body of one straight-line function, which returns
the record's row, or None as soon as anything is off; the caller then runs ``convert_record``
on that record for the messages. A field whose converter registered no inline form is checked
by calling the converter. There is one such function per record shape (its keys, in order),
which reads exactly those fields; past ``MAX_SHAPES``, one that looks up every field.

The fast path must never accept what ``convert_record`` rejects, and must build the same row:
``tests/test_import_compiled.py`` compares the two on a catalogue of good and bad values.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from bot.importer.fields import INLINE, Invalid
from bot.importer.kinds import FieldSpec

FastConvert = Callable[[Any], dict[str, Any] | None]

_MISSING = object()

INLINE_GLOBALS: dict[str, Any] = {  # the names templates may use
    "MISSING": _MISSING,
    "Invalid": Invalid,
    "NUL": "\x00",
    "UTC": UTC,
    "isfinite": math.isfinite,
    "date_fromisoformat": date.fromisoformat,
    "datetime_fromisoformat": datetime.fromisoformat,
}


def _indent(source: str, depth: int) -> list[str]:
    pad = "    " * depth
    return [pad + line for line in source.splitlines() if line.strip()]


def _field_source(i: int, spec: FieldSpec, names: dict[str, Any]) -> list[str]:
    """The statements that convert one field into ``row`` (``v`` holds its raw value)."""
    lines = ["if v is None:"]
    if not spec.nullable:
        lines.append("    return None")
    elif spec.column is not None:
        names[f"null_{i}"] = spec.null_value
        lines.append(f"    row[{spec.column!r}] = null_{i}")
    else:
        lines.extend(f"    row[{column!r}] = None" for column in spec.columns)
    lines.append("else:")
    inline = INLINE.get(spec.convert)
    if inline is not None:
        renamed = {key: f"c{i}_{key}" for key in inline.constants}
        names.update({renamed[key]: value for key, value in inline.constants.items()})
        lines.extend(_indent(inline.source.format(**renamed), 1))
    else:
        names[f"convert_{i}"] = spec.convert
        lines.extend(_indent(f"try:\n    v = convert_{i}(v)\nexcept Invalid:\n    return None", 1))
    if spec.column is not None:
        lines.append(f"    row[{spec.column!r}] = v")
    else:
        targets = ", ".join(f"row[{column!r}]" for column in spec.columns)
        lines.append(f"    {targets} = v")
    return lines


# Record shapes (the keys of a record, in order) compiled per kind; a file with more shapes than
# this (keys in ever-changing orders) has the rest take the function for any shape.
MAX_SHAPES = 256


def compile_record(
    specs: dict[str, FieldSpec], required: frozenset[str], columns: set[str] | None = None
) -> FastConvert:
    """A function from a raw record to its row, or None when ``convert_record`` must look.

    Records are converted by a function compiled for their shape (their keys, in order): it
    reads each of those fields directly, and knows already whether they are all known and the
    required ones there. A file's records come in a few shapes, so each is compiled once.
    ``columns``, if given, collects the columns the rows may hold: those of each shape met."""
    any_shape = _compile(specs, required, None)
    by_shape: dict[tuple[str, ...], FastConvert] = {}
    seen = set() if columns is None else columns

    def fast(record: Any) -> dict[str, Any] | None:
        if type(record) is not dict:
            return None
        shape = tuple(record)
        convert = by_shape.get(shape)
        if convert is None:
            if len(by_shape) >= MAX_SHAPES:
                seen.update(c for spec in specs.values() for c in spec.columns)
                return any_shape(record)
            convert = by_shape[shape] = _compile(specs, required, shape)
            seen.update(c for key in shape if key in specs for c in specs[key].columns)
        return convert(record)

    return fast


def _refuse(record: Any) -> None:
    return None


def _compile(
    specs: dict[str, FieldSpec], required: frozenset[str], shape: tuple[str, ...] | None
) -> FastConvert:
    """The converter of records of ``shape`` (None: of any shape)."""
    names: dict[str, Any] = {"KNOWN": frozenset(specs), "REQUIRED": required}
    if shape is None:
        body = [
            "if type(record) is not dict or not record.keys() <= KNOWN"
            " or not record.keys() >= REQUIRED:",
            "    return None",
            "get = record.get",
            "row = {}",
        ]
    elif not set(shape) <= specs.keys() or not set(shape) >= required:
        return _refuse
    else:
        # the row's keys made at once, in the order the fields set them (no growing dict)
        names["BLANK"] = dict.fromkeys(
            c for spec in specs.values() if spec.name in shape for c in spec.columns
        )
        body = ["row = BLANK.copy()"]
    for i, spec in enumerate(specs.values()):
        if shape is None:
            body.extend([f"v = get({spec.name!r}, MISSING)", "if v is not MISSING:"])
            body.extend(_indent("\n".join(_field_source(i, spec, names)), 1))
        elif spec.name in shape:
            body.append(f"v = record[{spec.name!r}]")
            body.extend(_field_source(i, spec, names))
    body.append("return row")
    source = "def fast(record):\n" + "\n".join(_indent("\n".join(body), 1)) + "\n"
    namespace = {**INLINE_GLOBALS, **names}
    exec(compile(source, "<compiled record converter>", "exec"), namespace)
    fast: FastConvert = namespace["fast"]
    fast.__doc__ = source  # for whoever debugs it
    return fast
