"""After a change, every place that shows it is rendered again from the database.

* the daily DM: the delivery that holds the clicked message (its stored ``(channel, ts)``),
  and the card owner's latest delivery — a dry-run sweep of that reader, their digest, the
  digest messages, ``chat.update`` of each stored message (a message Slack no longer has is
  not an error);
* the ``/followup today`` ephemeral the click came from (replaced through its response_url);
* the App Home of the caller (keeping their filters) and of the card's owner.

Failures here are logged and never undo the change itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ContextBlock
from sqlalchemy import Connection, select

from bot.blocks import mrkdwn as m
from bot.blocks.digest import digest_messages
from bot.blocks.message import SlackMessage
from bot.blocks.values import BadValue, HomeFilters
from bot.db.models import Delivery, DeliveryMessage
from bot.engine.digest import Digest, select_digest
from bot.engine.facts import UserFacts, load_org, load_users
from bot.engine.sweep import DrySweeps
from bot.handlers import Deps
from bot.handlers.access import Caller
from bot.handlers.events import publish_home
from bot.handlers.replies import Replier
from bot.ids import BlockId
from bot.slack.client import error_code

log = logging.getLogger(__name__)

# chat.update answers that mean the message is not there to update (deleted, too old …).
GONE = frozenset({"message_not_found", "cant_update_message", "channel_not_found"})


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an interaction came from: a message (``channel``, ``ts``; ephemeral or not), the
    App Home (with its filters), or neither (a modal opened from the App Home)."""

    channel: str | None = None
    ts: str | None = None
    ephemeral: bool = False
    home: bool = False
    filters: HomeFilters | None = None

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> Origin:
        container = body.get("container")
        container = container if isinstance(container, Mapping) else {}
        if container.get("type") == "message":
            return cls(
                channel=_str(container.get("channel_id")),
                ts=_str(container.get("message_ts")),
                ephemeral=bool(container.get("is_ephemeral")),
            )
        view = body.get("view")
        if isinstance(view, Mapping) and view.get("type") == "home":
            try:
                filters: HomeFilters | None = HomeFilters.parse(view.get("private_metadata"))
            except BadValue:
                filters = None
            return cls(home=True, filters=filters)
        return cls()

    @property
    def message(self) -> tuple[str, str] | None:
        """The stored-message key of a non-ephemeral message."""
        if self.channel and self.ts and not self.ephemeral:
            return self.channel, self.ts
        return None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


# --------------------------------------------------------------------- rendering


def today_messages(
    deps: Deps, caller: Caller, *, max_messages: int = 2, sweeps: DrySweeps | None = None
) -> list[SlackMessage]:
    """``/followup today``: the caller's lanes now, as their digest shows them — even when they
    paused their daily DM or the org's is off (they asked)."""
    user = replace(caller.user, digest={**caller.user.digest, "opt_out": False})
    org = replace(caller.org, digest={**caller.org.digest, "enabled": True})
    result = (sweeps or DrySweeps(deps.engine, deps.clock())).of(user.id)
    digest = select_digest(result, user, org)
    names = {u.id: u.name for u in caller.users.values()}
    return digest_messages(digest, names=names, max_messages=max_messages)


# -------------------------------------------------------------------- the daily DM


@dataclass(frozen=True, slots=True)
class StoredDm:
    delivery_id: int
    user_id: str
    messages: list[tuple[str, str]]  # (channel, ts) by position


def dm_of_message(conn: Connection, channel: str, ts: str) -> int | None:
    found = conn.execute(
        select(DeliveryMessage.delivery_id)
        .where(DeliveryMessage.channel == channel, DeliveryMessage.ts == ts)
        .limit(1)
    ).scalar()
    return int(found) if found is not None else None


def latest_dm(conn: Connection, user_id: str) -> int | None:
    found = conn.execute(
        select(Delivery.id)
        .join(DeliveryMessage, DeliveryMessage.delivery_id == Delivery.id)
        .where(Delivery.user_id == user_id, DeliveryMessage.ts.is_not(None))
        .order_by(Delivery.local_date.desc(), Delivery.id.desc())
        .limit(1)
    ).scalar()
    return int(found) if found is not None else None


def load_dm(conn: Connection, delivery_id: int) -> StoredDm | None:
    user_id = conn.execute(select(Delivery.user_id).where(Delivery.id == delivery_id)).scalar()
    if user_id is None:
        return None
    rows = conn.execute(
        select(DeliveryMessage.channel, DeliveryMessage.ts)
        .where(DeliveryMessage.delivery_id == delivery_id)
        .order_by(DeliveryMessage.position)
    ).all()
    # A message whose post is still in flight (ts NULL) ends what can be updated.
    messages: list[tuple[str, str]] = []
    for channel, ts in rows:
        if not channel or not ts:
            break
        messages.append((channel, ts))
    return StoredDm(delivery_id, str(user_id), messages)


def _nothing_more(digest: Digest) -> SlackMessage:
    """What a second DM message becomes when everything now fits in the first."""
    return SlackMessage(
        text="Your follow-ups (continued): nothing more here.",
        blocks=[
            ContextBlock(
                block_id=BlockId.DIGEST_HEADER,
                elements=[m.context_text(":white_check_mark: _Continued above — nothing more._")],
            )
        ],
        channel=digest.user.slack_user_id,
    )


def refresh_dm(
    deps: Deps, client: WebClient, delivery_id: int, sweeps: DrySweeps | None = None
) -> None:
    """``chat.update`` a delivered DM with its reader's digest as it stands now."""
    with deps.engine.connect() as conn:
        dm = load_dm(conn, delivery_id)
        if dm is None or not dm.messages:
            return
        org = load_org(conn)
        users = load_users(conn, org.timezone)
    reader = users.get(dm.user_id)
    if reader is None:
        return
    result = (sweeps or DrySweeps(deps.engine, deps.clock())).of(reader.id)
    digest = select_digest(result, reader, org)
    names = {u.id: u.name for u in users.values()}
    messages = digest_messages(digest, names=names, max_messages=len(dm.messages))
    if not messages:
        log.info(
            "DM %s left as it is: %s's digest is off (%s)", delivery_id, reader.id, digest.skipped
        )
        return
    messages += [_nothing_more(digest)] * (len(dm.messages) - len(messages))
    for (channel, ts), message in zip(dm.messages, messages, strict=True):
        payload = message.to_dict()
        try:
            client.chat_update(
                channel=channel, ts=ts, text=payload["text"], blocks=payload["blocks"]
            )
        except SlackApiError as exc:
            code = error_code(exc)
            if code in GONE:
                log.info("DM %s (%s, %s): chat.update answered %s", delivery_id, channel, ts, code)
            else:
                log.warning(
                    "DM %s (%s, %s): chat.update failed: %s", delivery_id, channel, ts, code
                )


def dms_to_refresh(deps: Deps, origin: Origin, owner_ids: Iterable[str | None]) -> list[int]:
    """The delivery of the clicked message, then each owner's latest DM (no duplicates)."""
    found: list[int] = []
    with deps.engine.connect() as conn:
        if origin.message is not None:
            clicked = dm_of_message(conn, *origin.message)
            if clicked is not None:
                found.append(clicked)
        for owner_id in owner_ids:
            if owner_id:
                latest = latest_dm(conn, owner_id)
                if latest is not None and latest not in found:
                    found.append(latest)
    return found


# ------------------------------------------------------------------------ homes


def republish_home(
    deps: Deps,
    client: WebClient,
    slack_user_id: str,
    filters: HomeFilters | None = None,
    sweeps: DrySweeps | None = None,
) -> None:
    try:
        publish_home(deps, client, slack_user_id, filters=filters, sweeps=sweeps)
    except SlackApiError as exc:
        log.warning("views.publish for %s failed: %s", slack_user_id, error_code(exc))


# ---------------------------------------------------------------- after a change


def refresh_after_change(
    deps: Deps,
    client: WebClient,
    caller: Caller,
    origin: Origin,
    owners: Sequence[UserFacts | None],
    replier: Replier | None = None,
) -> None:
    """Re-render everything that shows the changed card (see the module docstring), each
    reader's cards from one read-only sweep."""
    sweeps = DrySweeps(deps.engine, deps.clock())
    for delivery_id in dms_to_refresh(deps, origin, [o.id if o else None for o in owners]):
        refresh_dm(deps, client, delivery_id, sweeps)
    if origin.ephemeral and replier is not None and replier.has_response_url:
        fresh = today_messages(deps, caller, max_messages=1, sweeps=sweeps)
        if fresh:
            replier.replace(fresh[0])
    homes: dict[str, HomeFilters | None] = {caller.slack_user_id: origin.filters}
    for owner in owners:
        if owner is not None and owner.slack_user_id and owner.slack_user_id not in homes:
            homes[owner.slack_user_id] = None
    for slack_user_id, filters in homes.items():
        republish_home(deps, client, slack_user_id, filters, sweeps)
