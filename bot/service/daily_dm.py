"""The daily DM is that day's list (followup-rules.md "Surfaces").

``deliver`` sweeps (recording: the stored queue is replaced), then sends every reader their DM
through the claim-then-post slot of :func:`bot.service.dm_delivery.send_daily_dm` (each message
an outbox row, posted once). The first send of a local day stores the cards it shows, in order,
with the sweep's ``as_of`` (:func:`store_day_list`); from then on that DM is only ever rendered
from those cards plus their alerts' current states (:func:`load_day_list`): after a click, or a
second ``deliver`` the same local day. So the date, the cards and their order stay; a card whose
reasons were all handled collapses to one line, and lane counts follow. New alerts wait for the
App Home and the next day's DM.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from slack_sdk import WebClient
from slack_sdk.errors import SlackObjectFormationError
from sqlalchemy import Connection, Engine, delete, insert, or_, select, update

from bot.blocks.digest import digest_messages
from bot.db.models import Account, Delivery, DeliveryCard
from bot.engine.business_time import local_date
from bot.engine.digest import Digest, day_list, select_digest
from bot.engine.facts import NEVER_FLAGGED_STATUSES, OrgFacts, UserFacts
from bot.engine.queue import alert_views, card_alert_ids
from bot.engine.results import Card
from bot.engine.rules import Lane
from bot.engine.sweep import SweepResult, run_sweep
from bot.service.dm_delivery import Payload, send_daily_dm
from bot.service.dm_slot import delivered_today
from bot.service.people import load_people
from bot.service.suggestions import attach_suggestions
from bot.slack.delivery import (
    DEFAULT_LANES,
    Clock,
    DeliveryReport,
    Outcome,
    Pacer,
    Pacing,
    Status,
    paced_client,
    utc_now,
)
from bot.slack.users import resolve_users

if TYPE_CHECKING:
    from bot.ai.client import AiConfig


log = logging.getLogger(__name__)

_SKIPPED_DIGEST = {
    "opt_out": "opted out of the daily DM",
    "digest_off": "the org's daily DM is off",
}


# ------------------------------------------------------------------ the day's list


def store_day_list(conn: Connection, delivery_id: int, digest: Digest) -> None:
    """The cards ``digest`` shows become the list of delivery ``delivery_id``."""
    conn.execute(delete(DeliveryCard).where(DeliveryCard.delivery_id == delivery_id))
    rows = [
        {"delivery_id": delivery_id, "position": n, "account_id": c.account, "card": c.to_stored()}
        for n, c in enumerate(digest.cards())
    ]
    if rows:
        conn.execute(insert(DeliveryCard), rows)
    conn.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(
            list_as_of=digest.result.as_of,
            sensitivity=digest.sensitivity,
            more={lane.value: n for lane, n in digest.more.items() if n},
        )
    )


def load_day_list(conn: Connection, delivery_id: int, reader: UserFacts, now: datetime) -> Digest:
    """The list of delivery ``delivery_id`` as it stands at ``now``; LookupError when the delivery
    has no list (gone, or sent by a version that kept none)."""
    row = conn.execute(
        select(Delivery.list_as_of, Delivery.sensitivity, Delivery.more).where(
            Delivery.id == delivery_id
        )
    ).first()
    if row is None or row.list_as_of is None:
        raise LookupError(f"delivery {delivery_id} has no stored list")
    cards = [
        Card.from_stored(cast(dict[str, Any], data))
        for data in conn.execute(
            select(DeliveryCard.card)
            .where(DeliveryCard.delivery_id == delivery_id)
            .order_by(DeliveryCard.position)
        ).scalars()
    ]
    more = {Lane(k): int(v) for k, v in (row.more or {}).items() if k in Lane._value2member_map_}
    alerts = alert_views(conn, card_alert_ids(cards))
    as_listed = SweepResult(as_of=row.list_as_of, cards=[], suppressed=[])
    return day_list(reader, as_listed, row.sensitivity or "standard", cards, more, alerts, now)


def has_day_list(conn: Connection, delivery_id: int) -> bool:
    found = conn.execute(select(Delivery.list_as_of).where(Delivery.id == delivery_id)).scalar()
    return found is not None


# ------------------------------------------------------------------------ sending


def deliver_digest(
    engine: Engine,
    client: WebClient,
    digest: Digest,
    *,
    slack_user_id: str,
    names: Mapping[str, str] | None = None,
    pacer: Pacer | None = None,
    clock: Clock = utc_now,
) -> Outcome:
    """Send ``digest`` as today's DM of its reader — or, when today's DM is in Slack already,
    update it from the list it was sent with."""
    user = digest.user
    as_of = digest.result.as_of
    try:
        first = [msg.to_dict() for msg in digest_messages(digest, names=names)]
    except SlackObjectFormationError as exc:
        reason = f"the digest is not a valid message: {exc}"
        return Outcome(user.id, user.name, Status.FAILED, reason)
    if not first:
        return Outcome(user.id, user.name, Status.SKIPPED, "nothing to send")

    def compose(conn: Connection, delivery_id: int, in_slack: bool) -> Sequence[Payload]:
        if in_slack and has_day_list(conn, delivery_id):
            listed = load_day_list(conn, delivery_id, user, as_of)
            return [m.to_dict() for m in digest_messages(listed, names=names, now=as_of)]
        store_day_list(conn, delivery_id, digest)
        return first

    return send_daily_dm(
        engine,
        client,
        user_id=user.id,
        name=user.name,
        day=local_date(as_of, user.timezone),
        slack_user_id=slack_user_id,
        as_of=as_of,
        compose=compose,
        pacer=pacer,
        clock=clock,
    )


def enrich_digest(
    engine: Engine, ai: AiConfig, digest: Digest, *, top: int | None = None
) -> Digest:
    """``digest`` with its first ``top`` cards (in the order the DM shows them) AI-written where
    the AI can (cached per evidence; the rules text wherever it cannot)."""
    from bot.ai.cards import TOP_CARDS, enrich_cards

    top = TOP_CARDS if top is None else top
    order = digest.cards()[:top]
    try:
        enriched, report = enrich_cards(engine, ai, order, digest.result.as_of, top=top)
    except Exception:  # the DM goes out with the rules text whatever happens here
        log.exception("AI card enrichment failed for %s", digest.user.id)
        return digest
    for why in report.fallbacks:
        log.info("daily DM of %s: rules text kept for %s", digest.user.id, why)
    swap = {id(old): new for old, new in zip(order, enriched, strict=True)}
    lanes = {lane: [swap.get(id(c), c) for c in cards] for lane, cards in digest.lanes.items()}
    return dataclasses.replace(digest, lanes=lanes)


def digest_readers(conn: Connection, org: OrgFacts) -> list[str]:
    """Who gets a daily DM: the CSMs of accounts in scope, and the org's fallback CSM when
    some account has no CSM."""
    csms = conn.execute(
        select(Account.csm_id)
        .where(
            or_(Account.status.is_(None), Account.status.not_in(NEVER_FLAGGED_STATUSES)),
        )
        .group_by(Account.csm_id)
    ).scalars()
    readers: list[str] = []
    orphans = False
    for csm in csms:
        if csm is None:
            orphans = True
        else:
            readers.append(csm)
    if orphans and org.fallback_csm_id and org.fallback_csm_id not in readers:
        readers.append(org.fallback_csm_id)
    return readers


def deliver_digests(
    engine: Engine,
    client: WebClient,
    *,
    as_of: datetime,
    user_id: str | None = None,
    only: Sequence[str] | None = None,
    result: SweepResult | None = None,
    pacing: Pacing | None = None,
    lanes: int = DEFAULT_LANES,
    clock: Clock = utc_now,
    ai: AiConfig | None = None,
) -> DeliveryReport:
    """``followup-bot deliver``: sweep (recording alerts and the queue) at ``as_of``, then send
    every reader's daily DM now (or only ``user_id``'s; or only those of ``only``, the readers
    whose DM the scheduler found due), whatever their ``send_at``. ``result``: a recording sweep
    at ``as_of`` made already (the scheduler's round), used instead of sweeping again.

    ``lanes`` DMs are in flight at once behind one :class:`Pacer`, so the fan-out runs at the
    pace Slack's limits allow rather than at one round trip per message. With ``ai`` (an
    Anthropic key), the top cards of each digest get AI-written text (:func:`enrich_digest`)
    before the DM is composed; the stored day's list keeps that text."""
    with engine.connect() as conn:
        people = load_people(conn)
        if user_id is not None:
            readers = [user_id]
        elif only is not None:
            readers = list(only)
        else:
            readers = digest_readers(conn, people.org)
    users = people.users
    readers = [uid for uid in readers if uid in users and (users[uid].active or uid == user_id)]
    digest_on = bool(people.org.digest.get("enabled", True))
    wanted = [
        uid
        for uid in readers
        if digest_on and users[uid].active and not users[uid].digest.get("opt_out")
    ]
    identities = resolve_users(engine, client, wanted)

    if result is None:
        result = run_sweep(engine, as_of, dry_run=False, csm_id=user_id)
    report = DeliveryReport(as_of, cards=len(result.cards), alerts_new=result.alerts_new)
    with engine.connect() as conn:
        people = load_people(conn)  # time zones resolved from Slack since
    users, org = people.users, people.org
    names = people.names()
    pacer = Pacer(pacing or Pacing())
    sending = paced_client(client)

    planned: list[Outcome | tuple[Digest, str]] = []
    for uid in sorted(readers, key=lambda u: (users[u].name.lower(), u)):
        user = users[uid]
        if not user.active:
            planned.append(Outcome(uid, user.name, Status.SKIPPED, "inactive user"))
            continue
        digest = select_digest(result, user, org)
        if digest.skipped:
            reason = _SKIPPED_DIGEST.get(digest.skipped, digest.skipped)
            planned.append(Outcome(uid, user.name, Status.SKIPPED, reason))
            continue
        ident = identities.get(uid)
        if ident is None or ident.slack_user_id is None:
            reason = ident.problem if ident is not None and ident.problem else "not in Slack"
            planned.append(Outcome(uid, user.name, Status.SKIPPED, reason))
            continue
        empty = digest.total == 0 and not any(digest.more.values())
        if empty and not delivered_today(engine, uid, local_date(as_of, user.timezone)):
            planned.append(Outcome(uid, user.name, Status.SKIPPED, "no cards today"))
            continue
        planned.append((digest, ident.slack_user_id))

    with engine.connect() as conn:  # the "Do it…" menus (automation level "recommend")
        listed = [c for job in planned if not isinstance(job, Outcome) for c in job[0].cards()]
        attach_suggestions(conn, people, listed, as_of)

    def send(job: Outcome | tuple[Digest, str]) -> Outcome:
        if isinstance(job, Outcome):
            return job
        digest, slack_user_id = job
        if ai is not None:
            digest = enrich_digest(engine, ai, digest)
        return deliver_digest(
            engine,
            sending,
            digest,
            slack_user_id=slack_user_id,
            names=names,
            pacer=pacer,
            clock=clock,
        )

    with ThreadPoolExecutor(max_workers=max(1, lanes), thread_name_prefix="deliver") as pool:
        report.outcomes.extend(pool.map(send, planned))
    return report
