"""Who each user is in Slack: their user id and their time zone.

The Slack id comes from ``users.slack_user_id`` (the import), else from ``users.lookupByEmail``;
the time zone from the import, else from Slack (``users.info``, or the user object that
lookupByEmail already returned). Whatever Slack tells is cached in the users row
(``slack_user_id``, ``slack_timezone``) so the next run asks nothing. A user with no Slack id
and no email, or whose email Slack does not know, cannot get a DM: they are reported with the
reason and a warning is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine, func, select, update

from bot.db.models import User
from bot.engine.sweep_state import mark_csms_changed
from bot.slack.client import error_code

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SlackIdentity:
    user_id: str
    slack_user_id: str | None
    timezone: str | None  # the import's, else Slack's; None: the org's applies
    problem: str | None = None  # why the user cannot be reached
    looked_up: bool = False  # found through users.lookupByEmail on this call

    @property
    def reachable(self) -> bool:
        return self.slack_user_id is not None


def _valid_tz(name: object) -> str | None:
    if not isinstance(name, str) or not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def _slack_user(response: Any) -> Mapping[str, Any]:
    user = response.get("user") if response is not None else None
    return user if isinstance(user, Mapping) else {}


def resolve_users(
    engine: Engine, client: WebClient, user_ids: Iterable[str]
) -> dict[str, SlackIdentity]:
    """The Slack identity of each user in ``user_ids`` (unknown ids are left out), asking Slack
    only for what the database does not know yet, and caching the answers there."""
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                User.id, User.email, User.slack_user_id, User.timezone, User.slack_timezone
            ).where(User.id.in_(wanted))
        ).all()
    found = {
        uid: resolve_user(engine, client, uid, email, slack_id, tz, slack_tz)
        for uid, email, slack_id, tz, slack_tz in rows
    }
    return {uid: found[uid] for uid in wanted if uid in found}


def resolve_user(
    engine: Engine,
    client: WebClient,
    user_id: str,
    email: str | None,
    slack_user_id: str | None,
    timezone: str | None,
    slack_timezone: str | None,
) -> SlackIdentity:
    ident = SlackIdentity(user_id, slack_user_id, _valid_tz(timezone) or _valid_tz(slack_timezone))
    slack_tz: str | None = None
    if ident.slack_user_id is None:
        if not email:
            ident.problem = "no Slack user id and no email to look it up"
            log.warning("user %s: %s; no DM can be sent", user_id, ident.problem)
            return ident
        try:
            found = _slack_user(client.users_lookupByEmail(email=email))
        except SlackApiError as exc:
            code = error_code(exc)
            ident.problem = (
                "no Slack user has their email"
                if code == "users_not_found"
                else f"users.lookupByEmail failed ({code})"
            )
            log.warning("user %s: %s; no DM can be sent", user_id, ident.problem)
            return ident
        if not found.get("id") or found.get("deleted"):
            ident.problem = "their Slack account is deactivated"
            log.warning("user %s: %s; no DM can be sent", user_id, ident.problem)
            return ident
        ident.slack_user_id = str(found["id"])
        ident.looked_up = True
        slack_tz = _valid_tz(found.get("tz"))
    if ident.timezone is None and slack_tz is None:
        try:
            slack_tz = _valid_tz(_slack_user(client.users_info(user=ident.slack_user_id)).get("tz"))
        except SlackApiError as exc:
            log.warning(
                "user %s: users.info failed (%s); using the org's time zone",
                user_id,
                error_code(exc),
            )
    if ident.timezone is None:
        ident.timezone = slack_tz
    _remember(engine, user_id, ident.slack_user_id if ident.looked_up else None, slack_tz)
    return ident


def _remember(
    engine: Engine, user_id: str, slack_user_id: str | None, slack_tz: str | None
) -> None:
    if slack_user_id is None and slack_tz is None:
        return
    with engine.begin() as conn:
        if slack_user_id is not None:
            conn.execute(
                update(User)
                .where(User.id == user_id, User.slack_user_id.is_(None))
                .values(slack_user_id=slack_user_id)
            )
        if slack_tz is not None:
            changed = conn.execute(
                update(User)
                .where(User.id == user_id, User.slack_timezone.is_distinct_from(slack_tz))
                .values(slack_timezone=slack_tz)
            ).rowcount
            if changed:  # the business hours of their accounts may move
                mark_csms_changed(conn, [user_id])


def user_for_slack_id(engine: Engine, client: WebClient, slack_user_id: str) -> str | None:
    """Our user id for a Slack user: by ``slack_user_id``, else by the email of their Slack
    profile (``users.info``; then the link is stored). None when they are not set up."""
    with engine.connect() as conn:
        uid = conn.execute(
            select(User.id)
            .where(User.slack_user_id == slack_user_id, User.active.is_not(False))
            .order_by(User.id)
            .limit(1)
        ).scalar()
    if uid is not None:
        return str(uid)
    try:
        profile_user = _slack_user(client.users_info(user=slack_user_id))
    except SlackApiError as exc:
        log.info("users.info %s failed (%s)", slack_user_id, error_code(exc))
        return None
    profile = profile_user.get("profile")
    email = profile.get("email") if isinstance(profile, Mapping) else None
    if not isinstance(email, str) or not email:
        return None
    with engine.begin() as conn:
        uid = conn.execute(
            select(User.id)
            .where(
                func.lower(User.email) == email.lower(),
                User.slack_user_id.is_(None),
                User.active.is_not(False),
            )
            .order_by(User.id)
            .limit(1)
        ).scalar()
        if uid is None:
            return None
        values: dict[str, Any] = {"slack_user_id": slack_user_id}
        tz = _valid_tz(profile_user.get("tz"))
        if tz is not None:
            values["slack_timezone"] = tz
        conn.execute(update(User).where(User.id == uid).values(**values))
        if tz is not None:
            mark_csms_changed(conn, [uid])
    log.info("linked Slack user %s to user %s by email", slack_user_id, uid)
    return str(uid)
