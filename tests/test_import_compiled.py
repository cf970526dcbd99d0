"""The compiled fast path of the import accepts exactly what the field converters accept, and
stores the same values: a record it lets through must be one ``convert_record`` finds valid,
with the same row, or a bad value would be stored without a word to the user."""

from __future__ import annotations

import json
from datetime import date, datetime
from importlib.resources import files
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.importer.compiled import compile_record
from bot.importer.kinds import org_fields, portfolio_kinds
from bot.importer.records import convert_record
from bot.importer.report import ImportIssue

# Values that are right for some fields and wrong for others, and edge cases of each check.
CATALOGUE: list[Any] = [
    None,
    "",
    " ",
    "x",
    " x",
    "x ",
    "a\x00b",
    "a" * 64,
    "a" * 65,
    "a" * 201,
    "a" * 2001,
    0,
    -1,
    1,
    5,
    10,
    11,
    100,
    101,
    -0.5,
    0.5,
    1.0,
    2.5,
    1e300,
    float("inf"),
    float("nan"),
    2**70,
    -(2**63) - 1,
    2**31,
    10**400,  # no float holds it
    True,
    False,
    [],
    ["x"],
    ["x", "x"],
    [" x"],
    [1],
    {},
    {"score": 3},
    {"score": 11},
    {"score": 3, "note": "n", "set_at": "2026-01-02T03:04:05Z", "set_by": "u1"},
    {"score": 3, "bogus": 1},
    [{"text": "Send the deck", "owner": "u1", "done": False, "due_at": "2026-02-01"}],
    [{"owner": "u1"}],
    "2026-01-01",
    "2026-1-01",
    "2026-02-30",
    "2026-01-01T10:00:00",
    "2026-01-01T10:00:00Z",
    "2026-01-01T10:00:00.123456Z",
    "2026-01-01T10:00:00+02:00",
    "2026-03-08T02:30:00",  # inside the DST gap in New York
    "2026-11-01T01:30:00",  # the repeated hour in New York
    "2026-13-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
    "9999-12-31T23:00:00",  # after 9999 in UTC when read in New York
    "yesterday",
    "12:30",
    "24:00",
    "https://crm.example.com/a/1",
    "ftp://example.com",
    "Europe/Berlin",
    "Mars/Olympus",
    "email",
    "inbound",
    "internal",
    "note",
    "csm",
    "smb",
    "high",
    "open",
    "shipped",
    "important",
]


def _sample() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        files("bot.data").joinpath("sample_portfolio.json").read_text(encoding="utf-8")
    )
    return data


def _typed(row: dict[str, Any] | None) -> Any:
    """The row with each value's type (and zone) made part of the comparison: ``1 == 1.0``
    and two aware datetimes at the same instant are equal, but not stored alike."""
    if row is None:
        return None

    def typed(value: Any) -> Any:
        if isinstance(value, datetime):
            return ("datetime", value.isoformat(), value.tzinfo)
        if isinstance(value, date):
            return ("date", value.isoformat())
        if isinstance(value, float) and value != value:
            return ("float", "nan")
        return (type(value).__name__, repr(value))

    return {key: typed(value) for key, value in row.items()}


def _slow(specs: Any, required: frozenset[str], record: Any) -> dict[str, Any] | None:
    errors: list[ImportIssue] = []
    row, valid = convert_record(specs, required, record, "kind", 0, errors)
    assert valid == (not errors)
    return row if valid else None


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
@pytest.mark.parametrize("by_shape", [True, False], ids=["by shape", "any shape"])
def test_the_fast_path_accepts_and_converts_exactly_what_the_converters_do(
    zone: str, by_shape: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both ways of the fast path: compiled per record shape, and (past ``MAX_SHAPES``) the
    function for records of any shape."""
    if not by_shape:
        monkeypatch.setattr("bot.importer.compiled.MAX_SHAPES", 0)
    kinds = portfolio_kinds(ZoneInfo(zone))
    sample = _sample()
    compared = accepted = 0
    for name, kind in kinds.items():
        required = frozenset(kind.required)
        fast = compile_record(kind.fields, required)
        bases = sample.get(name, [])[:3]
        assert bases, f"the sample portfolio has no {name}"
        for base in bases:
            assert _typed(fast(base)) == _typed(_slow(kind.fields, required, base))
            for field in kind.fields:
                for value in CATALOGUE:
                    record = {**base, field: value}
                    expected = _typed(_slow(kind.fields, required, record))
                    assert _typed(fast(record)) == expected, (name, field, value)
                    compared += 1
                    accepted += expected is not None
                without = {k: v for k, v in base.items() if k != field}
                assert _typed(fast(without)) == _typed(_slow(kind.fields, required, without))
            for odd in (None, [], "x", {**base, "bogus": 1}):
                assert fast(odd) is None
    assert compared > 10_000 and accepted > 1_000  # both outcomes well covered


def test_the_org_record_takes_the_same_path() -> None:
    specs = org_fields()
    required = frozenset({"name"})
    fast = compile_record(specs, required)
    org = _sample()["org"]
    assert _typed(fast(org)) == _typed(_slow(specs, required, org))
    for field in specs:
        for value in CATALOGUE:
            record = {**org, field: value}
            assert _typed(fast(record)) == _typed(_slow(specs, required, record)), (field, value)
