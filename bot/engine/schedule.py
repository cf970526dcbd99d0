"""When a reader's daily DM is due (followup-rules.md "Schedule"). No I/O.

A user's DM is due on the org's business days (``business_hours.days``, weekdays in the user's
own time zone) once their local wall clock reaches their ``send_at`` (the user's, else the
org's, else 08:30). Any moment later that same local day it is still due if it has not been
sent (a catch-up after downtime); it is never due twice on one local day. DST: the local day
and wall clock come from the zone database. A ``send_at`` inside a spring-forward gap (02:30
when 02:00 jumps to 03:00) is read with the offset before the jump, so it is due at 03:30 that
day; one inside a fall-back overlap (01:30 twice) is due from its first occurrence, and the
once-per-local-day rule keeps the second from sending again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time

from bot.engine.business_time import BusinessHours, local_time_on, zone
from bot.engine.facts import OrgFacts, UserFacts

DEFAULT_SEND_AT = time(8, 30)


def send_at(user: UserFacts, org: OrgFacts) -> time:
    """The local wall-clock time of ``user``'s daily DM."""
    raw = user.digest.get("send_at") or org.digest.get("send_at")
    if not raw:
        return DEFAULT_SEND_AT
    try:
        hours, _, minutes = str(raw).partition(":")
        return time(int(hours), int(minutes or 0))
    except ValueError:
        return DEFAULT_SEND_AT


@dataclass(frozen=True, slots=True)
class Due:
    user: UserFacts
    day: date  # the user's local day the DM is for
    at: datetime  # when it became due (UTC)


def due_on(user: UserFacts, org: OrgFacts, hours: BusinessHours, now: datetime) -> Due | None:
    """``user``'s DM of their local today, if it is due at ``now`` (sent or not)."""
    tz = zone(user.timezone)
    local = now.astimezone(tz)
    day = local.date()
    if day.isoweekday() not in hours.days:
        return None
    at = local_time_on(day, send_at(user, org), user.timezone)
    if now < at:
        return None
    return Due(user, day, at)


def due_digests(
    readers: Iterable[UserFacts],
    org: OrgFacts,
    now: datetime,
    delivered: Collection[tuple[str, date]],
) -> list[Due]:
    """The readers whose DM is due at ``now`` and was not delivered yet on their local day
    (``delivered``: ``(user id, local day)`` of the DMs sent or being sent), earliest due
    first. Opted-out and inactive users, and everyone when the org's digest is off, are never
    due."""
    if not org.digest.get("enabled", True):
        return []
    hours = org.business_hours
    out = []
    for user in readers:
        if not user.active or user.digest.get("opt_out"):
            continue
        due = due_on(user, org, hours, now)
        if due is not None and (user.id, due.day) not in delivered:
            out.append(due)
    out.sort(key=lambda d: (d.at, d.user.id))
    return out
