"""Digest settings: a user's own (``users.digest``) and the org's (``orgs.digest``), validated and
saved with an audit-log entry. No Slack here: the handlers turn :class:`InvalidSettings` into
view errors.

User settings: ``sensitivity`` (absent: the org default), ``opt_out``, ``send_at`` ("HH:MM" in
the user's time zone). Org settings: ``enabled``, ``sensitivity``, ``max_per_lane``,
``send_at``. Other keys already stored in either JSON object are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from bot.db.models import AuditLog, Org, User
from bot.engine.digest import SENSITIVITY_FLOOR

SENSITIVITIES = tuple(SENSITIVITY_FLOOR)
MAX_PER_LANE = (1, 15)  # a daily DM message holds about 15 cards
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


class InvalidSettings(ValueError):
    """``errors``: field name → what is wrong with it (every problem at once)."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


class UnknownUser(LookupError):
    pass


def parse_send_at(value: object) -> str:
    """``"8:30"`` → ``"08:30"``; ValueError for anything that is not a wall-clock time."""
    found = _CLOCK.match(str(value or "").strip())
    if found is None:
        raise ValueError("Use a time like 08:30.")
    hours, minutes = int(found.group(1)), int(found.group(2))
    if hours > 23 or minutes > 59:
        raise ValueError("Use a time between 00:00 and 23:59.")
    return f"{hours:02d}:{minutes:02d}"


def _sensitivity(value: object, errors: dict[str, str], *, optional: bool) -> str | None:
    if value is None and optional:
        return None
    if value not in SENSITIVITIES:
        errors["sensitivity"] = "Choose a noise level from the list."
        return None
    return str(value)


@dataclass(frozen=True, slots=True)
class UserDigestSettings:
    sensitivity: str | None  # None: the org's default
    opt_out: bool
    send_at: str

    @classmethod
    def parse(cls, *, sensitivity: object, opt_out: object, send_at: object) -> UserDigestSettings:
        errors: dict[str, str] = {}
        sens = _sensitivity(sensitivity, errors, optional=True)
        try:
            clock = parse_send_at(send_at)
        except ValueError as exc:
            errors["send_at"] = str(exc)
            clock = ""
        if errors:
            raise InvalidSettings(errors)
        return cls(sensitivity=sens, opt_out=bool(opt_out), send_at=clock)

    def merge_into(self, stored: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in stored.items() if k != "sensitivity"}
        if self.sensitivity is not None:
            out["sensitivity"] = self.sensitivity
        out["opt_out"] = self.opt_out
        out["send_at"] = self.send_at
        return out


AUTOMATION_LEVELS = ("recommend", "assisted", "autonomous")  # bot.engine.policy.AutomationLevel


@dataclass(frozen=True, slots=True)
class OrgDigestSettings:
    enabled: bool
    sensitivity: str
    max_per_lane: int
    send_at: str
    automation_level: str | None = None  # None: left as it is

    @classmethod
    def parse(
        cls,
        *,
        enabled: object,
        sensitivity: object,
        max_per_lane: object,
        send_at: object,
        automation_level: object = None,
    ) -> OrgDigestSettings:
        errors: dict[str, str] = {}
        level: str | None = None
        if automation_level is not None:
            if str(automation_level) in AUTOMATION_LEVELS:
                level = str(automation_level)
            else:
                errors["automation_level"] = "Choose how much the bot may do on its own."
        sens = _sensitivity(sensitivity, errors, optional=False)
        cap = 0
        try:
            cap = int(str(max_per_lane))
        except ValueError:
            errors["max_per_lane"] = "Choose how many cards per lane."
        else:
            low, high = MAX_PER_LANE
            if not low <= cap <= high:
                errors["max_per_lane"] = f"Choose between {low} and {high} cards per lane."
        try:
            clock = parse_send_at(send_at)
        except ValueError as exc:
            errors["send_at"] = str(exc)
            clock = ""
        if errors or sens is None:
            raise InvalidSettings(errors)
        return cls(
            enabled=bool(enabled),
            sensitivity=sens,
            max_per_lane=cap,
            send_at=clock,
            automation_level=level,
        )

    def merge_into(self, stored: dict[str, Any]) -> dict[str, Any]:
        return {
            **stored,
            "enabled": self.enabled,
            "sensitivity": self.sensitivity,
            "max_per_lane": self.max_per_lane,
            "send_at": self.send_at,
        }


def _audit(
    conn: Connection,
    now: datetime,
    actor: str | None,
    action: str,
    subject: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    conn.execute(
        insert(AuditLog).values(
            at=now,
            actor=actor,
            action=action,
            subject=subject,
            details={"before": before, "after": after},
        )
    )


def save_user_digest(
    conn: Connection,
    user_id: str,
    settings: UserDigestSettings,
    *,
    actor: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Store ``user_id``'s digest settings (audited as ``settings.user``); the new JSON."""
    row = conn.execute(select(User.digest).where(User.id == user_id)).first()
    if row is None:
        raise UnknownUser(user_id)
    before = dict(row.digest or {})
    after = settings.merge_into(before)
    conn.execute(update(User).where(User.id == user_id).values(digest=after))
    _audit(conn, now, actor, "settings.user", f"user:{user_id}", before, after)
    return after


def save_org_digest(
    conn: Connection, settings: OrgDigestSettings, *, actor: str | None, now: datetime
) -> dict[str, Any]:
    """Store the org's digest settings (audited as ``settings.org``); the new JSON. A database
    without an org row gets one."""
    row = conn.execute(
        select(Org.id, Org.digest, Org.automation_level).order_by(Org.id).limit(1)
    ).first()
    before = dict(row.digest or {}) if row is not None else {}
    after = settings.merge_into(before)
    values: dict[str, Any] = {"digest": after}
    audited_before, audited_after = before, after
    if settings.automation_level is not None:
        values["automation_level"] = settings.automation_level
        old_level = row.automation_level if row is not None else None
        audited_before = {**before, "automation_level": old_level}
        audited_after = {**after, "automation_level": settings.automation_level}
    if row is None:
        conn.execute(insert(Org).values(name="Org", timezone="UTC", **values))
    else:
        conn.execute(update(Org).where(Org.id == row.id).values(**values))
    _audit(conn, now, actor, "settings.org", "org", audited_before, audited_after)
    return after
