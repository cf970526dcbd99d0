"""A small builder of portfolio files (data-format.md) for tests, and a sweep runner that goes
through the real importer and the real sweep."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.db.session import make_engine
from bot.engine.sweep import SweepResult, run_sweep
from bot.importer import import_file

NY = ZoneInfo("America/New_York")
# Monday 2026-11-16, 15:00 in New York (20:00 UTC): the default "now" of the signal tests.
NOW = datetime(2026, 11, 16, 15, 0, tzinfo=NY).astimezone(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY).astimezone(UTC)


_ids = itertools.count(1)


def next_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


@dataclass
class Portfolio:
    """One org (New York), a team with a manager and CSM ``u-ana``; add records as needed."""

    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data = {
            "format": "followup-portfolio/1",
            "org": {"name": "Test Org", "timezone": "America/New_York", "fallback_csm": "u-ana"},
            "teams": [{"id": "t-1", "name": "CS", "manager": "u-mgr"}],
            "users": [
                {
                    "id": "u-mgr",
                    "name": "Mia Manager",
                    "role": "manager",
                    "team": "t-1",
                    "slack_user_id": "U0MGR",
                },
                {
                    "id": "u-ana",
                    "name": "Ana CSM",
                    "role": "csm",
                    "team": "t-1",
                    "timezone": "America/New_York",
                    "slack_user_id": "U0ANA",
                },
            ],
        }

    def add(self, collection: str, /, **record: Any) -> dict[str, Any]:
        self.data.setdefault(collection, []).append(record)
        return record

    def account(self, account_id: str = "acc-1", **fields: Any) -> dict[str, Any]:
        record = {
            "id": account_id,
            "name": fields.pop("name", f"Account {account_id}"),
            "csm": "u-ana",
            "mrr": 1000,
            "segment": "mid_market",
            "touch_policy": "standard",
            "created_at": iso(NOW - timedelta(days=400)),
            **fields,
        }
        return self.add("accounts", **record)

    def touch(self, account_id: str, at: datetime, **fields: Any) -> dict[str, Any]:
        """An outbound email: a customer touchpoint."""
        return self.activity(account_id, at, kind="email", direction="outbound", **fields)

    def activity(self, account_id: str, at: datetime, **fields: Any) -> dict[str, Any]:
        return self.add(
            "activities",
            id=fields.pop("id", next_id("act")),
            account=account_id,
            at=iso(at),
            **fields,
        )

    def quiet_account(self, account_id: str = "acc-1", **fields: Any) -> dict[str, Any]:
        """An account with a recent call, a meeting last week and one ahead: flags nothing."""
        acc = self.account(account_id, **fields)
        self.activity(
            account_id,
            NOW - timedelta(days=2),
            kind="call",
            direction="outbound",
            outcome="connected",
        )
        self.add(
            "meetings",
            id=next_id("m"),
            account=account_id,
            title="Weekly sync",
            starts_at=iso(NOW - timedelta(days=7)),
            next_step="Keep going",
        )
        self.add(
            "meetings",
            id=next_id("m"),
            account=account_id,
            title="Next sync",
            starts_at=iso(NOW + timedelta(days=14)),
        )
        return acc

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(self.data, indent=1))
        return path


def load(url: str, portfolio: Portfolio, tmp_path: Path) -> None:
    engine = make_engine(url)
    import_file(engine, portfolio.write(tmp_path / "portfolio.json"), now=NOW)
    engine.dispose()


def sweep(
    url: str, now: datetime = NOW, *, dry_run: bool = True, user: str | None = None
) -> SweepResult:
    engine = make_engine(url)
    try:
        return run_sweep(engine, now, dry_run=dry_run, csm_id=user)
    finally:
        engine.dispose()


def signals(result: SweepResult, account: str = "acc-1") -> dict[str, dict[str, Any]]:
    """signal id → reason JSON, for one account's card (empty when it has no card)."""
    for card in result.cards:
        if card.account == account:
            return {r.signal: r.to_json() for r in card.reasons}
    return {}


def card(result: SweepResult, account: str = "acc-1") -> dict[str, Any]:
    for c in result.cards:
        if c.account == account:
            return c.to_json()
    raise AssertionError(f"no card for {account}; cards: {[c.account for c in result.cards]}")
