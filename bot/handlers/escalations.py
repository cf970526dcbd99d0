"""An escalation's buttons: Acknowledge (stops its reminder), Reassign (a picker of the team's
CSMs → the account changes hands, both CSMs told) and Nudge CSM (a DM to the CSM, once per
click).

Each is for the manager of the account's CSM or an admin (:attr:`Permission.MANAGER`, checked
against the database: the escalation named by the button is read back, never trusted for its
account). After a change the escalation's posts are rendered again from the database and
``chat.update``d; DMs a click queues go through the outbox and are sent at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select

from bot.blocks.values import EscalationRef
from bot.blocks.views import reassign_modal
from bot.db.models import Account
from bot.handlers import Deps
from bot.handlers.access import Permission, allow, caller_of
from bot.handlers.errors import OPENED_VIEW, UserError
from bot.handlers.replies import Replier, action_value, modal_metadata
from bot.handlers.work import after_ack
from bot.ids import ActionId, BlockId, CallbackId
from bot.service import escalations as esc
from bot.service.drain import drain
from bot.service.people import load_people
from bot.slack.client import error_code

log = logging.getLogger(__name__)

GONE = ":ghost: That escalation is no longer in Followup Bot."
STALE = frozenset({"message_not_found", "cant_update_message", "channel_not_found"})


def _ref(body: Mapping[str, Any]) -> EscalationRef:
    if body.get("type") == "view_submission":
        return EscalationRef.parse(modal_metadata(body))
    return EscalationRef.parse(action_value(body))


def _account_of(deps: Deps) -> Callable[[Mapping[str, Any]], str]:
    """The escalated account, read from the database by the escalation the request names."""

    def account(body: Mapping[str, Any]) -> str:
        ref = _ref(body)
        try:
            with deps.engine.connect() as conn:
                return esc.escalation_account(conn, ref.escalation)
        except esc.EscalationGone as exc:
            raise UserError(GONE) from exc

    return account


def rerender(deps: Deps, client: WebClient, escalation_id: int) -> None:
    """``chat.update`` every post of the escalation from the database (a deleted one is
    skipped)."""
    now = deps.clock()
    for recipient, channel, ts in esc.posted_messages(deps.engine, escalation_id):
        message = esc.rendered(deps.engine, escalation_id, recipient, now).to_dict()
        try:
            client.chat_update(
                channel=channel, ts=ts, text=message["text"], blocks=message["blocks"]
            )
        except SlackApiError as exc:
            if error_code(exc) not in STALE:
                raise
            log.info("escalation %s: %s in %s", escalation_id, error_code(exc), channel)


def _send_now(deps: Deps, client: WebClient, keys: tuple[str, ...]) -> None:
    if keys:
        drain(deps.engine, client, clock=deps.clock, only=keys)


def register(app: App, deps: Deps) -> None:
    manager = allow(deps, Permission.MANAGER, _account_of(deps))

    @app.action(ActionId.ESCALATION_ACK, middleware=manager)
    def escalation_ack(
        ack: Ack,
        body: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        ack()

        def work() -> None:
            ref = _ref(body)
            caller = caller_of(deps, client, body, context)
            handled = esc.acknowledge(deps.engine, ref.escalation, caller.user.id, deps.clock())
            rerender(deps, client, ref.escalation)
            Replier.for_body(client, body, respond).say(handled.text)

        after_ack(work, ack, body, client, respond, context)

    @app.action(ActionId.ESCALATION_NUDGE, middleware=manager)
    def escalation_nudge(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        ack()

        def work() -> None:
            ref = _ref(body)
            caller = caller_of(deps, client, body, context)
            # A retried delivery of one click carries the same action_ts: one DM per click.
            click = f"{caller.user.id}:{action.get('action_ts') or body.get('trigger_id')}"
            handled = esc.nudge(deps.engine, ref.escalation, caller.user.id, click, deps.clock())
            _send_now(deps, client, handled.keys)
            Replier.for_body(client, body, respond).say(handled.text)

        after_ack(work, ack, body, client, respond, context)

    @app.action(ActionId.ESCALATION_REASSIGN, middleware=manager)
    def escalation_reassign(
        ack: Ack,
        body: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        ack()

        def work() -> None:
            ref = _ref(body)
            with deps.engine.connect() as conn:
                people = load_people(conn)
                row = esc.escalation_row(conn, ref.escalation)
                account = conn.execute(
                    select(Account.name, Account.csm_id).where(Account.id == row.account_id)
                ).one()
            choices = esc.team_csms(people, row.csm_id)
            view = reassign_modal(ref, str(account.name), choices, account.csm_id)
            opened = client.views_open(trigger_id=body["trigger_id"], view=view.to_dict())
            found = opened.get("view") or {}
            context[OPENED_VIEW] = (found.get("id"), found.get("hash"))

        after_ack(work, ack, body, client, respond, context, opens_modal=True)

    @app.view_submission(CallbackId.ESCALATION_REASSIGN_MODAL, middleware=manager)
    def escalation_reassign_submitted(
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        picked = (
            view.get("state", {})
            .get("values", {})
            .get(BlockId.ESCALATION_REASSIGN_TO, {})
            .get(ActionId.ESCALATION_REASSIGN_TO, {})
            .get("selected_option")
            or {}
        ).get("value")
        if not picked:
            ack(response_action="errors", errors={BlockId.ESCALATION_REASSIGN_TO: "Pick a CSM."})
            return
        ack()

        def work() -> None:
            ref = _ref(body)
            caller = caller_of(deps, client, body, context)
            handled = esc.reassign(
                deps.engine, ref.escalation, str(picked), caller.user.id, deps.clock()
            )
            _send_now(deps, client, handled.keys)
            rerender(deps, client, ref.escalation)
            Replier.for_body(client, body, respond).say(handled.text)

        after_ack(work, ack, body, client, respond, context)
