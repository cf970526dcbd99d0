"""What a reader sees, rendered from the stored queue and the alerts' current states — never
from a sweep (followup-rules.md "Surfaces"): the App Home, ``/followup today``, and a daily DM
(that day's list, :mod:`bot.service.daily_dm`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.models.views import View
from sqlalchemy import Connection, Engine, select

from bot.blocks.digest import digest_messages
from bot.blocks.message import SlackMessage
from bot.blocks.values import HomeFilters
from bot.blocks.views import home_view, not_set_up_view
from bot.db.models import Delivery, DeliveryCard, OutboxMessage
from bot.engine.business_time import local_date
from bot.engine.digest import Digest, select_digest
from bot.engine.facts import UserFacts
from bot.engine.overview import snoozed_alerts
from bot.engine.queue import QueueView, load_queue
from bot.engine.summary.saved import recent_saved
from bot.engine.sweep import SweepResult
from bot.service.daily_dm import load_day_list
from bot.service.outbox_admin import count_not_sent
from bot.service.people import People, load_people
from bot.service.suggestions import attach_suggestions
from bot.slack.users import resolve_users, user_for_slack_id


def queue_of(conn: Connection, people: People, user: UserFacts, now: datetime) -> QueueView:
    """``user``'s queue at ``now``: their stored cards with the reasons still on them."""
    return load_queue(conn, people.org, user.id, now, local_date(now, people.org.timezone))


# ----------------------------------------------------------------------- App Home


def home_for(
    engine: Engine,
    client: WebClient,
    slack_user_id: str,
    now: datetime,
    *,
    filters: HomeFilters | None = None,
    refreshing: Collection[str] = (),
) -> View:
    """The App Home of a Slack user (a short "not set up" home for one who is not ours), under
    ``filters``; ``refreshing``: the users whose queue is being swept again right now."""
    user_id = user_for_slack_id(engine, client, slack_user_id)
    if user_id is None:
        return not_set_up_view()
    resolve_users(engine, client, [user_id])  # the time zone, when nobody gave one yet
    with engine.connect() as conn:
        people = load_people(conn)
        user = people.users[user_id]
        queue = queue_of(conn, people, user, now)
        attach_suggestions(conn, people, queue.cards, now)
        snoozed = snoozed_alerts(conn, user_id, now)
        saved = recent_saved(conn, user_id)
        not_sent = count_not_sent(conn) if user.role == "admin" else 0
    return home_view(
        user,
        people.org,
        queue.cards,
        now=now,
        as_of=queue.as_of,
        refreshing=user_id in refreshing,
        snoozed=snoozed,
        saved=saved,
        filters=filters,
        names=people.names(),
        not_sent=not_sent,
    )


# ------------------------------------------------------------------ /followup today


def today_digest(conn: Connection, people: People, user: UserFacts, now: datetime) -> Digest:
    """``/followup today``: the reader's queue as their digest would show it — even when they
    paused their daily DM or the org's is off (they asked)."""
    reader = replace(user, digest={**user.digest, "opt_out": False})
    org = replace(people.org, digest={**people.org.digest, "enabled": True})
    queue = queue_of(conn, people, user, now)
    attach_suggestions(conn, people, queue.cards, now)
    as_of = queue.as_of or now
    return select_digest(SweepResult(as_of=as_of, cards=queue.cards, suppressed=[]), reader, org)


def today_messages(
    engine: Engine, user_id: str, now: datetime, *, max_messages: int = 2
) -> list[SlackMessage]:
    with engine.connect() as conn:
        people = load_people(conn)
        digest = today_digest(conn, people, people.users[user_id], now)
    return digest_messages(digest, names=people.names(), max_messages=max_messages, now=now)


# ------------------------------------------------------------------- a daily DM


@dataclass(frozen=True, slots=True)
class StoredDm:
    """A daily DM in Slack: its delivery, its reader, its messages' ``(channel, ts)``."""

    delivery_id: int
    user_id: str
    messages: list[tuple[str, str]]


# A daily DM's messages: its delivery's outbox rows with a position (bot.service.dm_delivery).


def dm_of_message(conn: Connection, channel: str, ts: str) -> int | None:
    found = conn.execute(
        select(OutboxMessage.delivery_id)
        .where(
            OutboxMessage.channel == channel,
            OutboxMessage.ts == ts,
            OutboxMessage.position.is_not(None),
        )
        .limit(1)
    ).scalar()
    return int(found) if found is not None else None


def latest_dm(conn: Connection, user_id: str) -> int | None:
    found = conn.execute(
        select(Delivery.id)
        .join(OutboxMessage, OutboxMessage.delivery_id == Delivery.id)
        .where(
            Delivery.user_id == user_id,
            OutboxMessage.position.is_not(None),
            OutboxMessage.status == "sent",
        )
        .order_by(Delivery.local_date.desc(), Delivery.id.desc())
        .limit(1)
    ).scalar()
    return int(found) if found is not None else None


def load_dm(conn: Connection, delivery_id: int) -> StoredDm | None:
    user_id = conn.execute(select(Delivery.user_id).where(Delivery.id == delivery_id)).scalar()
    if user_id is None:
        return None
    rows = conn.execute(
        select(OutboxMessage.status, OutboxMessage.channel, OutboxMessage.ts)
        .where(OutboxMessage.delivery_id == delivery_id, OutboxMessage.position.is_not(None))
        .order_by(OutboxMessage.position)
    ).all()
    # A message not in Slack (its post in flight, or refused) ends what can be updated.
    messages: list[tuple[str, str]] = []
    for status, channel, ts in rows:
        if status != "sent" or not channel or not ts:
            break
        messages.append((channel, ts))
    return StoredDm(delivery_id, str(user_id), messages)


def dm_render(
    engine: Engine, delivery_id: int, now: datetime
) -> tuple[StoredDm, list[SlackMessage]] | None:
    """A delivered DM and its messages as its list stands at ``now`` (at most as many messages
    as it has in Slack); None when there is nothing to update (no such delivery, nothing in
    Slack, its reader gone, or a DM sent before lists were stored)."""
    with engine.connect() as conn:
        dm = load_dm(conn, delivery_id)
        if dm is None or not dm.messages:
            return None
        people = load_people(conn)
        reader = people.users.get(dm.user_id)
        if reader is None:
            return None
        try:
            digest = load_day_list(conn, delivery_id, reader, now)
        except LookupError:
            return None
    messages = digest_messages(digest, names=people.names(), max_messages=len(dm.messages), now=now)
    return dm, messages


def dms_showing(
    engine: Engine,
    clicked: tuple[str, str] | None,
    owner_ids: Sequence[str],
    account_id: str | None,
) -> list[int]:
    """The DMs to render again after a change to ``account_id``'s card. A click in a DM changes
    that DM only (another day's DM keeps its own list: a card handled since shows as handled
    when that DM is next rendered). A change made elsewhere (the App Home, an escalation)
    renders each owner's latest DM when its list holds the account."""
    with engine.connect() as conn:
        if clicked is not None:
            delivery_id = dm_of_message(conn, *clicked)
            if delivery_id is not None:
                return [delivery_id]
        found: list[int] = []
        for owner_id in owner_ids:
            latest = latest_dm(conn, owner_id)
            if latest is None or latest in found:
                continue
            if account_id is None or lists_account(conn, latest, account_id):
                found.append(latest)
    return found


def lists_account(conn: Connection, delivery_id: int, account_id: str) -> bool:
    return (
        conn.execute(
            select(DeliveryCard.position)
            .where(DeliveryCard.delivery_id == delivery_id, DeliveryCard.account_id == account_id)
            .limit(1)
        ).first()
        is not None
    )
