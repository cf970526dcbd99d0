"""Field converters: each takes a raw JSON value and returns what the column stores, or raises
``Invalid`` with a message for the user.

They are plain closures on purpose: the importer calls them a few million times for a big file,
so each one is a couple of type checks and nothing more. The common ones also register the same
checks as Python source (``INLINE``), which ``bot.importer.compiled`` pastes into one function
per record kind: the fast path for valid records.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Convert = Callable[[Any], Any]


@dataclass(frozen=True)
class Inline:
    """A converter's checks as Python statements, for the compiled fast path.

    The statements test the raw value in ``v``, execute ``return None`` when it is not valid
    (the caller then runs the converter itself, for its messages) and leave the converted
    value in ``v``. ``{name}`` placeholders stand for ``constants``, which the compiler binds
    under names of its own; a template may also use ``bot.importer.compiled.INLINE_GLOBALS``
    (NUL, UTC, isfinite, date_fromisoformat, datetime_fromisoformat). A template
    must accept exactly the values its converter accepts, and convert them alike
    (``tests/test_import_compiled.py`` checks this on a catalogue of values).
    """

    source: str
    constants: dict[str, Any] = field(default_factory=dict)


INLINE: WeakKeyDictionary[Convert, Inline] = WeakKeyDictionary()


def _inline(convert: Convert, source: str, **constants: Any) -> None:
    INLINE[convert] = Inline(source, constants)


class Invalid(Exception):
    """One or more problems with a value: ``issues`` holds ``(subpath, message)`` pairs, the
    subpath relative to the value (``""``, ``".score"``, ``"[2].owner"``)."""

    def __init__(self, message: str, subpath: str = "") -> None:
        super().__init__(message)
        self.issues: list[tuple[str, str]] = [(subpath, message)]

    @classmethod
    def many(cls, issues: list[tuple[str, str]]) -> Invalid:
        exc = cls(issues[0][1], issues[0][0])
        exc.issues = issues
        return exc


def describe(value: Any) -> str:
    """A short rendering of a JSON value for messages."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"'{shown}'"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _fmt_num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# ---------------------------------------------------------------------------- scalars


def text(max_len: int | None = None) -> Convert:
    def convert(value: Any) -> str:
        if type(value) is not str:
            raise Invalid(f"expected a string, got {describe(value)}")
        if max_len is not None and len(value) > max_len:
            raise Invalid(f"longer than {max_len} characters")
        if "\x00" in value:
            raise Invalid("contains a NUL character")
        return value

    longer = "" if max_len is None else " or len(v) > {max_len}"
    _inline(convert, f"if type(v) is not str{longer} or NUL in v: return None", max_len=max_len)
    return convert


def identifier(max_len: int = 64) -> Convert:
    def convert(value: Any) -> str:
        if type(value) is not str:
            raise Invalid(f"expected an id string, got {describe(value)}")
        if not value or value.strip() != value:
            raise Invalid(f"expected an id without surrounding spaces, got {describe(value)}")
        if len(value) > max_len:
            raise Invalid(f"id longer than {max_len} characters")
        if "\x00" in value:
            raise Invalid("contains a NUL character")
        return value

    _inline(
        convert,
        "if type(v) is not str or not v or len(v) > {max_len} or v.strip() != v or NUL in v:"
        " return None",
        max_len=max_len,
    )
    return convert


def enum(*values: str) -> Convert:
    allowed = frozenset(values)
    listing = ", ".join(values)

    def convert(value: Any) -> str:
        if type(value) is not str or value not in allowed:
            raise Invalid(f"expected one of {listing}; got {describe(value)}")
        return value

    _inline(convert, "if type(v) is not str or v not in {allowed}: return None", allowed=allowed)
    return convert


def _range_message(lo: float | None, hi: float | None, value: float) -> str:
    if lo is not None and hi is not None:
        return f"must be between {_fmt_num(lo)} and {_fmt_num(hi)}, got {_fmt_num(value)}"
    if lo is not None:
        return f"must be ≥ {_fmt_num(lo)}, got {_fmt_num(value)}"
    return f"must be ≤ {_fmt_num(hi or 0)}, got {_fmt_num(value)}"


# The range of a 64-bit integer: what SQLite and PostgreSQL bind as an integer.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# The range of an ``Integer`` column (PostgreSQL's 32-bit ``integer``).
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def number(lo: float | None = None, hi: float | None = None) -> Convert:
    """A JSON number for a floating-point column: an integer beyond 64 bits is stored as the
    nearest float (the databases bind no wider integer)."""

    def convert(value: Any) -> float | int:
        kind = type(value)
        if kind is not int and kind is not float:
            raise Invalid(f"expected a number, got {describe(value)}")
        if kind is int and not INT64_MIN <= value <= INT64_MAX:
            try:
                value = float(value)
            except OverflowError:
                raise Invalid("expected a finite number") from None
        elif kind is float and not math.isfinite(value):
            raise Invalid("expected a finite number")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise Invalid(_range_message(lo, hi, value))
        return value  # type: ignore[no-any-return]

    _inline(
        convert,
        "t = type(v)\n"
        "if t is float:\n"
        "    if not isfinite(v): return None\n"
        "elif t is not int: return None\n"
        "elif v < {int_min} or v > {int_max}:\n"
        "    try:\n"
        "        v = float(v)\n"
        "    except OverflowError:\n"
        "        return None\n" + _bounds_source(lo, hi),
        int_min=INT64_MIN,
        int_max=INT64_MAX,
        lo=lo,
        hi=hi,
    )
    return convert


def _bounds_source(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return "if v < {lo} or v > {hi}: return None\n"
    if lo is not None:
        return "if v < {lo}: return None\n"
    if hi is not None:
        return "if v > {hi}: return None\n"
    return ""


def integer(lo: int | None = None, hi: int | None = None) -> Convert:
    """A whole number (``5.0`` is 5) from ``lo`` to ``hi``, and within what an ``Integer``
    column holds."""

    def convert(value: Any) -> int:
        kind = type(value)
        if kind is float and math.isfinite(value) and value.is_integer():
            value = int(value)
        elif kind is not int:
            raise Invalid(f"expected a whole number, got {describe(value)}")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise Invalid(_range_message(lo, hi, value))
        if not INT32_MIN <= value <= INT32_MAX:
            raise Invalid(f"out of range: whole numbers here go from {INT32_MIN} to {INT32_MAX}")
        return value  # type: ignore[no-any-return]

    _inline(
        convert,
        "t = type(v)\n"
        "if t is float:\n"
        "    if not (isfinite(v) and v.is_integer()): return None\n"
        "    v = int(v)\n"
        "elif t is not int: return None\n"
        "if v < {int_min} or v > {int_max}: return None\n" + _bounds_source(lo, hi),
        lo=lo,
        hi=hi,
        int_min=INT32_MIN,
        int_max=INT32_MAX,
    )
    return convert


def boolean(value: Any) -> bool:
    if type(value) is not bool:
        raise Invalid(f"expected true or false, got {describe(value)}")
    return value


_inline(boolean, "if type(v) is not bool: return None")


def parse_date(value: Any) -> date:
    """A plain ``YYYY-MM-DD`` date."""
    if type(value) is not str or len(value) != 10 or value[4] != "-" or value[7] != "-":
        raise Invalid(f"expected a date YYYY-MM-DD, got {describe(value)}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"not a valid date: {describe(value)}") from None


_inline(
    parse_date,
    "if type(v) is not str or len(v) != 10 or v[4] != '-' or v[7] != '-': return None\n"
    "try:\n"
    "    v = date_fromisoformat(v)\n"
    "except ValueError:\n"
    "    return None\n",
)


def timestamp(tz: tzinfo) -> Convert:
    """ISO 8601 with an offset or ``Z`` (absolute) or without one (read in ``tz``); a plain
    date is midnight at its start in ``tz``. Returns an aware UTC datetime."""

    def convert(value: Any) -> datetime:
        if type(value) is not str:
            raise Invalid(f"expected an ISO 8601 timestamp, got {describe(value)}")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise Invalid(f"expected an ISO 8601 timestamp, got {describe(value)}") from None
        offset = parsed.tzinfo
        if offset is UTC:
            return parsed
        if offset is None:
            parsed = parsed.replace(tzinfo=tz)
        try:
            return parsed.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00
            raise Invalid(
                f"out of range: {describe(value)} is before year 1 or after 9999 in UTC"
            ) from None

    _inline(
        convert,
        "if type(v) is not str: return None\n"
        "try:\n"
        "    v = datetime_fromisoformat(v)\n"
        "except ValueError:\n"
        "    return None\n"
        "t = v.tzinfo\n"
        "if t is not UTC:\n"
        "    if t is None:\n"
        "        v = v.replace(tzinfo={tz})\n"
        "    try:\n"
        "        v = v.astimezone(UTC)\n"
        "    except OverflowError:\n"
        "        return None\n",
        tz=tz,
    )
    return convert


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo | None:
    """The IANA zone called ``name``, or None."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def timezone_name(value: Any) -> str:
    if type(value) is not str:
        raise Invalid(f"expected an IANA timezone name, got {describe(value)}")
    if not value or zone(value) is None:
        raise Invalid(f"unknown IANA timezone {describe(value)}")
    return value


def url(value: Any) -> str:
    if type(value) is not str:
        raise Invalid(f"expected a URL, got {describe(value)}")
    if len(value) > 2000:
        raise Invalid("longer than 2000 characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Invalid(f"expected an http(s) URL, got {describe(value)}")
    return value


def free_object(value: Any) -> dict[str, Any]:
    """A free-form object (traits, properties, factors): any JSON object."""
    if type(value) is not dict:
        raise Invalid(f"expected an object, got {describe(value)}")
    return value


_inline(free_object, "if type(v) is not dict: return None")

_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def clock_time(value: Any) -> str:
    """A wall-clock time ``HH:MM``."""
    if type(value) is not str or not _HHMM.fullmatch(value):
        raise Invalid(f"expected a time HH:MM, got {describe(value)}")
    return value


def nullable(convert: Convert) -> Convert:
    """``convert``, letting ``null`` through (for keys inside JSON objects)."""

    def wrapped(value: Any) -> Any:
        return None if value is None else convert(value)

    return wrapped


# ---------------------------------------------------------------------------- structures


def obj(
    fields: Mapping[str, Convert], required: Iterable[str] = (), *, what: str = "field"
) -> Callable[[Any], dict[str, Any]]:
    """A JSON object with exactly these keys (``required`` must be present and not null);
    returns the converted values of the keys given."""
    needed = tuple(required)

    def convert(value: Any) -> dict[str, Any]:
        if type(value) is not dict:
            raise Invalid(f"expected an object, got {describe(value)}")
        out: dict[str, Any] = {}
        issues: list[tuple[str, str]] = []
        for key, item in value.items():
            conv = fields.get(key)
            if conv is None:
                issues.append((f".{key}", f"unknown {what}{suggest(key, fields)}"))
                continue
            try:
                out[key] = conv(item)
            except Invalid as exc:
                issues.extend((f".{key}{sub}", msg) for sub, msg in exc.issues)
        for key in needed:
            if value.get(key) is None and not any(p == f".{key}" for p, _ in issues):
                issues.append((f".{key}", "required"))
        if issues:
            raise Invalid.many(issues)
        return out

    return convert


def list_of(convert: Convert) -> Callable[[Any], list[Any]]:
    def convert_list(value: Any) -> list[Any]:
        if type(value) is not list:
            raise Invalid(f"expected a list, got {describe(value)}")
        out: list[Any] = []
        issues: list[tuple[str, str]] = []
        for i, item in enumerate(value):
            try:
                out.append(convert(item))
            except Invalid as exc:
                issues.extend((f"[{i}]{sub}", msg) for sub, msg in exc.issues)
        if issues:
            raise Invalid.many(issues)
        return out

    return convert_list


def unique_ids(value: Any) -> list[str]:
    """A list of distinct ids."""
    ids: list[str] = list_of(identifier())(value)
    seen: dict[str, int] = {}
    issues: list[tuple[str, str]] = []
    for i, item in enumerate(ids):
        if item in seen:
            issues.append((f"[{i}]", f"'{item}' is listed twice"))
        seen.setdefault(item, i)
    if issues:
        raise Invalid.many(issues)
    return ids


def suggest(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for a close match among ``known``, else ``""``."""
    return _suggest(name, tuple(known))


@lru_cache(maxsize=1024)
def _suggest(name: str, known: tuple[str, ...]) -> str:
    from difflib import get_close_matches

    match = get_close_matches(name, known, n=1, cutoff=0.75)
    return f" (did you mean '{match[0]}'?)" if match else ""
