"""The column-wise conversion (the importer's fast path) must accept exactly the records the
record-by-record conversion accepts and produce the same rows; on any problem it must leave
the records untouched so that the record-by-record path reports it."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.importer.fields import DATE, Invalid, identifier, integer, number, text, timestamp
from bot.importer.kinds import Kind, portfolio_kinds
from bot.importer.records import _convert_fast, convert_record
from bot.importer.report import ImportIssue


def _sample() -> dict[str, Any]:
    raw = resources.files("bot.data").joinpath("sample_portfolio.json").read_text()
    data: dict[str, Any] = json.loads(raw)
    return data


def _slow_rows(kind: Kind, items: list[Any]) -> tuple[list[dict[str, Any]], list[ImportIssue]]:
    errors: list[ImportIssue] = []
    rows = []
    for i, item in enumerate(items):
        row, _valid = convert_record(
            kind.fields, frozenset(kind.required), item, kind.name, i, errors
        )
        rows.append(row)
    return rows, errors


@pytest.mark.parametrize("tz", [UTC, ZoneInfo("America/New_York")])
def test_fast_rows_equal_slow_rows_on_the_sample(tz: Any) -> None:
    data = _sample()
    kinds = portfolio_kinds(tz)
    checked = 0
    for name, kind in kinds.items():
        items = data.get(name) or []
        slow, errors = _slow_rows(kind, copy.deepcopy(items))
        assert errors == []
        fast = _convert_fast(kind, copy.deepcopy(items))
        assert fast == slow, name
        checked += len(items)
    assert checked > 100


def _mutations() -> list[tuple[str, int, str, Any]]:
    """(kind, record, field, new value): each makes the record invalid."""
    return [
        ("accounts", 0, "mrr", -1),
        ("accounts", 0, "mrr", True),
        ("accounts", 0, "segment", "huge"),
        ("accounts", 0, "id", " a1"),
        ("accounts", 0, "id", ""),
        ("accounts", 0, "id", "a" * 65),
        ("accounts", 0, "name", None),
        ("accounts", 0, "renewal_date", "2026-13-01"),
        ("accounts", 0, "renewal_date", "20260101"),
        ("accounts", 0, "created_at", "yesterday"),
        ("accounts", 0, "adoption", 1.5),
        ("accounts", 0, "open_issues", 2.5),
        ("accounts", 0, "traits", []),
        ("accounts", 0, "csm_pulse", {"score": 11}),
        ("accounts", 0, "nickname", "x"),
        ("activities", 3, "kind", "fax"),
        ("activities", 3, "at", 12),
        ("activities", 3, "subject", "a\x00b"),
        ("activities", 3, "account", ["a1"]),
        ("activities", 3, "account", None),
        ("users", 1, "timezone", "Mars/Base"),
        ("users", 1, "active", 1),
        ("meetings", 0, "attendees", ["c1", 5]),
    ]


@pytest.mark.parametrize(("name", "index", "key", "value"), _mutations())
def test_fast_path_declines_invalid_records_untouched(
    name: str, index: int, key: str, value: Any
) -> None:
    data = _sample()
    kind = portfolio_kinds(UTC)[name]
    items = copy.deepcopy(data[name])
    items[index][key] = value
    before = copy.deepcopy(items)
    _rows, errors = _slow_rows(kind, copy.deepcopy(items))
    assert errors, "the mutation must be invalid"
    assert _convert_fast(kind, items) is None
    assert items == before


def test_fast_path_declines_missing_required_and_non_objects() -> None:
    data = _sample()
    kind = portfolio_kinds(UTC)["activities"]
    items = copy.deepcopy(data["activities"])
    del items[2]["at"]
    assert _convert_fast(kind, items) is None
    assert _convert_fast(kind, [*copy.deepcopy(data["activities"]), "x"]) is None


def test_fast_path_converts_nulls_and_whole_floats_as_one_by_one() -> None:
    data = _sample()
    kind = portfolio_kinds(UTC)["tasks"]
    items = copy.deepcopy(data["tasks"])
    items[0]["priority"] = None  # null stores the column default
    items[1]["assignee"] = None
    slow, errors = _slow_rows(kind, copy.deepcopy(items))
    assert not errors
    assert _convert_fast(kind, items) == slow
    accounts = portfolio_kinds(UTC)["accounts"]
    records = copy.deepcopy(data["accounts"])
    records[0]["open_issues"] = 3.0
    slow, errors = _slow_rows(accounts, copy.deepcopy(records))
    assert not errors
    fast = _convert_fast(accounts, records)
    assert fast == slow
    assert fast is not None
    assert type(fast[0]["open_issues"]) is int


@pytest.mark.parametrize(
    ("checked", "values"),
    [
        (text(5), ["abc", "", "abcde"]),
        (text(5), ["abcdef"]),
        (text(), ["a\x00"]),
        (identifier(), ["a", "b b", "c"]),
        (identifier(), ["a", " b"]),
        (identifier(3), ["abcd"]),
        (number(0, 10), [0, 10, 2.5]),
        (number(0, 10), [11]),
        (number(), [float("inf")]),
        (number(), [False]),
        (integer(1, 3), [1, 3]),
        (integer(1, 3), [2.0]),
        (integer(1, 3), [4]),
        (DATE, ["2026-01-02", "2024-02-29"]),
        (DATE, ["2026-02-30"]),
        (DATE, ["2026/01/02"]),
        (timestamp(ZoneInfo("Europe/Berlin")), ["2026-03-29T02:30:00", "2026-01-01T00:00:00Z"]),
        (timestamp(UTC), ["2026-01-01T00:00:00+02:00", "2026-01-01"]),
        (timestamp(UTC), ["soon"]),
    ],
)
def test_many_agrees_with_one(checked: Any, values: list[Any]) -> None:
    try:
        expected: list[Any] | None = [checked.one(v) for v in values]
    except Invalid:
        expected = None
    got = checked.many(list(values))
    if got is None:  # the caller then converts one by one: only allowed for whole floats
        assert expected is None or any(type(v) is float for v in values)
    else:
        assert got == expected
        for a, b in zip(got, expected or [], strict=True):
            assert type(a) is type(b)
            if isinstance(a, datetime):
                assert a.tzinfo is UTC
            if isinstance(a, date):
                assert a == b
