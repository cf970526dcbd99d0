"""A card's buttons: Done, Snooze (a choice, or "pick a date…" → a date modal), Dismiss (→ a
modal with an optional reason), Summary; Undo after each change, and "Wake now" on a snoozed
card (also an Undo).

Every listener ``ack()``s first. A change is authorised against the database (the card's
owner, their manager or an admin), made in one transaction through
:mod:`bot.engine.card_actions` (all of the card's alerts or none; a card that changed since it
was rendered is reported, not overwritten), then the DM and the App Homes are rendered again
from the database (:mod:`bot.handlers.refresh`) and the user gets a receipt with Undo. A modal
is opened before anything slow: Slack's trigger_id lives 3 seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.blocks import mrkdwn as m
from bot.blocks import style
from bot.blocks.messages import Op, receipt_message
from bot.blocks.values import (
    PICK_DATE,
    CardRef,
    DismissModalMeta,
    SnoozeModalMeta,
    SnoozeOption,
    SummaryRef,
    UndoValue,
    card_alert_ids,
)
from bot.blocks.views import DISMISS_REASON_MAX
from bot.engine import card_actions
from bot.engine.alerts import AlertState
from bot.engine.card_actions import CardChanged, CardOp
from bot.engine.facts import UserFacts
from bot.engine.queue import stored_card
from bot.engine.triage import SnoozeChoice, snooze_to_date, snooze_until
from bot.handlers import Deps
from bot.handlers.access import Caller, Permission, allow, caller_of, owner_timezone
from bot.handlers.card_modals import (
    after_modal,
    modal_state,
    open_dismiss_modal,
    open_snooze_modal,
    picked_date,
)
from bot.handlers.errors import StaleCard, reporting
from bot.handlers.refresh import Origin, refresh_after_change
from bot.handlers.replies import Replier, action_value, modal_metadata, slack_user_of, text_message
from bot.handlers.summary import summary_for
from bot.handlers.work import after_ack
from bot.ids import ActionId, BlockId, CallbackId
from bot.service.people import People, account_owner

log = logging.getLogger(__name__)

PAST_DATE = "Pick a day after today — the card comes back at 09:00 that day."
RECEIPT_OP: dict[CardOp, Op] = {
    CardOp.DONE: "done",
    CardOp.SNOOZE: "snooze",
    CardOp.DISMISS: "dismiss",
}


@dataclass(frozen=True, slots=True)
class Click:
    """One interaction: who, from where, and how to answer them."""

    client: WebClient
    caller: Caller
    origin: Origin
    replier: Replier

    @classmethod
    def of(
        cls,
        deps: Deps,
        client: WebClient,
        body: Mapping[str, Any],
        context: Any,
        respond: Respond | None = None,
        *,
        origin: Origin | None = None,
        channel: str | None = None,
    ) -> Click:
        """The click of ``body`` by the caller the permission middleware let through."""
        return cls(
            client,
            caller_of(deps, client, body, context),
            origin or Origin.of(body),
            Replier.for_body(client, body, respond, channel=channel),
        )


# ---------------------------------------------------------------------- changes


def _owner_and_name(deps: Deps, caller: Caller, account_id: str) -> tuple[UserFacts | None, str]:
    """The card's owner (one rule: :func:`bot.service.people.account_owner`) and account name."""
    with deps.engine.connect() as conn:
        found = account_owner(conn, People(caller.org, caller.users), account_id)
    return found.owner, found.account_name


def _alerts_of(deps: Deps, ref: CardRef) -> Sequence[int]:
    """The alert ids the card showed. A card whose ids did not fit in its button carries none:
    its alerts are then those of the account's stored card (nothing is swept)."""
    if ref.alerts:
        return ref.alerts
    with deps.engine.connect() as conn:
        card = stored_card(conn, ref.account)
    return card_alert_ids(card) if card is not None else ()


def _handled_text(exc: CardChanged, name: str, caller: Caller, *, undo: bool = False) -> str:
    title = f"*{m.fit(m.one_line(name), 150)}*"
    if not exc.handled:
        return (
            f":information_source: {title} has nothing left to do here. Your message is up to date."
        )
    alert = exc.handled[0]
    what = {
        AlertState.DONE: "marked done",
        AlertState.DISMISSED: "dismissed",
        AlertState.OPEN: "reopened",
        AlertState.SNOOZED: "snoozed"
        + (
            f" until {style.when_label(alert.snooze_until, caller.user.timezone)}"
            if alert.snooze_until
            else ""
        ),
    }[alert.state]
    who = m.esc(caller.name_of(alert.changed_by))
    if undo:
        return (
            f":information_source: {title} has changed since — {who} {what} it. "
            "Nothing was undone; your message shows where it stands."
        )
    return (
        f":information_source: {title} was already handled by {who} ({what}). Nothing was "
        "changed; your message now shows where it stands."
    )


def change_card(
    deps: Deps,
    click: Click,
    ref: CardRef,
    op: CardOp,
    *,
    choice: SnoozeChoice | None = None,
    until: datetime | None = None,
    reason: str | None = None,
) -> None:
    """Done / snooze / dismiss one card for the clicking user, then re-render and confirm."""
    caller = click.caller
    owner, name = _owner_and_name(deps, caller, ref.account)
    now = deps.clock()
    tz = (owner or caller.user).timezone
    if choice is not None:
        until = snooze_until(choice, now, tz, caller.org.business_hours)
    ids = _alerts_of(deps, ref)
    try:
        with deps.engine.begin() as conn:
            changed = card_actions.apply(
                conn,
                op,
                ref.account,
                ids,
                actor=caller.user.id,
                now=now,
                until=until,
                reason=reason,
            )
    except CardChanged as exc:
        refresh_after_change(
            deps, click.client, caller, click.origin, [owner], click.replier, account_id=ref.account
        )
        raise StaleCard(_handled_text(exc, name, caller)) from None
    log.info("%s %s %s alerts %s", caller.user.id, op.value, ref.account, changed)
    refresh_after_change(
        deps, click.client, caller, click.origin, [owner], click.replier, account_id=ref.account
    )
    receipt = receipt_message(
        name,
        RECEIPT_OP[op],
        CardRef(account=ref.account, alerts=tuple(changed)),
        until=until,
        tz=caller.user.timezone,
        now=now,
    )
    click.replier.ephemeral(receipt)


def undo_change(deps: Deps, click: Click, value: UndoValue) -> None:
    """Reopen exactly the alerts a click changed (or wake a snoozed card)."""
    caller = click.caller
    owner, name = _owner_and_name(deps, caller, value.account)
    op = CardOp(value.op)
    try:
        with deps.engine.begin() as conn:
            reopened = card_actions.undo(
                conn, op, value.account, value.alerts, actor=caller.user.id, now=deps.clock()
            )
    except CardChanged as exc:
        refresh_after_change(
            deps, click.client, caller, click.origin, [owner], account_id=value.account
        )
        raise StaleCard(_handled_text(exc, name, caller, undo=True)) from None
    log.info("%s undid %s on %s alerts %s", caller.user.id, op.value, value.account, reopened)
    refresh_after_change(
        deps, click.client, caller, click.origin, [owner], account_id=value.account
    )
    title = f"*{m.fit(m.one_line(name), 150)}*"
    text = (
        f":alarm_clock: {title} is awake — it's back in your queue."
        if op is CardOp.SNOOZE and click.origin.home
        else f":leftwards_arrow_with_hook: Undone — {title} is back in your queue."
    )
    # The receipt the Undo came from turns into the confirmation; elsewhere a new ephemeral.
    if not (click.origin.ephemeral and click.replier.replace(text_message(text))):
        click.replier.say(text)


# -------------------------------------------------------------------- listeners


def _card_account(body: Mapping[str, Any]) -> str:
    return CardRef.parse(action_value(body)).account


def _snooze_account(body: Mapping[str, Any]) -> str:
    return SnoozeOption.parse(action_value(body)).card.account


def _undo_account(body: Mapping[str, Any]) -> str:
    return UndoValue.parse(action_value(body)).account


def _modal_account(
    meta: type[SnoozeModalMeta] | type[DismissModalMeta],
) -> Callable[[Mapping[str, Any]], str]:
    def account(body: Mapping[str, Any]) -> str:
        return meta.parse(modal_metadata(body)).card.account

    return account


def register(app: App, deps: Deps) -> None:
    @app.action(ActionId.CARD_DONE, middleware=allow(deps, Permission.CARD, _card_account))
    def card_done(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        ack()

        def work() -> None:
            ref = CardRef.parse(action.get("value"))
            change_card(deps, Click.of(deps, client, body, context, respond), ref, CardOp.DONE)

        after_ack(work, ack, body, client, respond, context)

    @app.action(ActionId.CARD_SNOOZE, middleware=allow(deps, Permission.CARD, _snooze_account))
    def card_snooze(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        ack()
        selected = action.get("selected_option")
        value = selected.get("value") if isinstance(selected, dict) else None
        picks_date = SnoozeOption.picks_date(value)

        def work() -> None:
            option = SnoozeOption.parse(value)
            if option.snooze == PICK_DATE:
                open_snooze_modal(deps, client, body, option.card, context)
                return
            change_card(
                deps,
                Click.of(deps, client, body, context, respond),
                option.card,
                CardOp.SNOOZE,
                choice=SnoozeChoice(option.snooze),
            )

        after_ack(work, ack, body, client, respond, context, opens_modal=picks_date)

    @app.view_submission(
        CallbackId.SNOOZE_PICK_DATE,
        middleware=allow(deps, Permission.CARD, _modal_account(SnoozeModalMeta)),
    )
    def snooze_date_submitted(
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        with reporting(ack, body, client, respond, context):
            meta = SnoozeModalMeta.parse(view.get("private_metadata"))
            day = picked_date(view)
            with deps.engine.connect() as conn:
                tz = owner_timezone(conn, meta.card.account, slack_user_of(body))
            try:
                if day is None:
                    raise ValueError("no date")
                until = snooze_to_date(day, deps.clock(), tz)
            except ValueError:
                ack(response_action="errors", errors={BlockId.SNOOZE_DATE.value: PAST_DATE})
                return
            ack()

            def work() -> None:
                click = Click.of(
                    deps, client, body, context, origin=after_modal(meta), channel=meta.channel
                )
                change_card(deps, click, meta.card, CardOp.SNOOZE, until=until)

            after_ack(work, ack, body, client, respond, context)

    @app.action(ActionId.CARD_DISMISS, middleware=allow(deps, Permission.CARD, _card_account))
    def card_dismiss(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        ack()

        def work() -> None:
            ref = CardRef.parse(action.get("value"))
            open_dismiss_modal(deps, client, body, ref, context)

        after_ack(work, ack, body, client, respond, context, opens_modal=True)

    @app.view_submission(
        CallbackId.DISMISS_MODAL,
        middleware=allow(deps, Permission.CARD, _modal_account(DismissModalMeta)),
    )
    def dismiss_submitted(
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        ack()

        def work() -> None:
            meta = DismissModalMeta.parse(view.get("private_metadata"))
            raw = modal_state(view, BlockId.DISMISS_REASON, ActionId.DISMISS_REASON).get("value")
            reason = str(raw or "").strip()[:DISMISS_REASON_MAX] or None
            click = Click.of(
                deps, client, body, context, origin=after_modal(meta), channel=meta.channel
            )
            change_card(deps, click, meta.card, CardOp.DISMISS, reason=reason)

        after_ack(work, ack, body, client, respond, context)

    @app.action(ActionId.CARD_SUMMARY, middleware=allow(deps, Permission.MEMBER))
    def card_summary(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        ack()

        def work() -> None:
            ref = SummaryRef.parse(action.get("value"))
            caller = caller_of(deps, client, body, context)
            message = summary_for(deps, caller, ref.account)
            Replier.for_body(client, body, respond).ephemeral(message)

        after_ack(work, ack, body, client, respond, context)

    @app.action(ActionId.UNDO, middleware=allow(deps, Permission.CARD, _undo_account))
    def undo(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        ack()

        def work() -> None:
            value = UndoValue.parse(action.get("value"))
            undo_change(deps, Click.of(deps, client, body, context, respond), value)

        after_ack(work, ack, body, client, respond, context)
