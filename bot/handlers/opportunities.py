"""The summary's "Create opportunity": a modal pre-filled with the suggested expansion, and its
submission, which stores the opportunity (:mod:`bot.service.opportunities`). The account's CSM,
their manager or an admin may create one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.blocks.opportunities import TITLE_MAX, opportunity_created, opportunity_modal
from bot.blocks.values import OpportunityDraft
from bot.engine import card_actions
from bot.handlers import Deps
from bot.handlers.access import Permission, allow, caller_of
from bot.handlers.errors import reporting
from bot.handlers.replies import Replier, action_value, modal_metadata
from bot.handlers.work import after_ack
from bot.ids import ActionId, BlockId, CallbackId
from bot.service.opportunities import create_opportunity


def _button_account(body: Mapping[str, Any]) -> str:
    return OpportunityDraft.parse(action_value(body)).account


def _modal_account(body: Mapping[str, Any]) -> str:
    return OpportunityDraft.parse(modal_metadata(body)).account


def _value(view: Mapping[str, Any], block: BlockId, action: ActionId) -> Mapping[str, Any]:
    found = view.get("state", {}).get("values", {}).get(block.value, {}).get(action.value, {})
    return found if isinstance(found, Mapping) else {}


def read_modal(view: Mapping[str, Any]) -> tuple[str, float | None, date | None, dict[str, str]]:
    """The title, amount and close date the modal holds, and the view errors, by block."""
    errors: dict[str, str] = {}
    title = str(
        _value(view, BlockId.OPPORTUNITY_TITLE, ActionId.OPPORTUNITY_TITLE).get("value") or ""
    )
    title = " ".join(title.split())
    if not title:
        errors[BlockId.OPPORTUNITY_TITLE.value] = "Say what the opportunity is."
    elif len(title) > TITLE_MAX:
        errors[BlockId.OPPORTUNITY_TITLE.value] = f"At most {TITLE_MAX} characters."
    raw_amount = _value(view, BlockId.OPPORTUNITY_AMOUNT, ActionId.OPPORTUNITY_AMOUNT).get("value")
    amount: float | None = None
    if raw_amount not in (None, ""):
        try:
            amount = float(str(raw_amount))
        except ValueError:
            amount = -1.0
        if amount < 0:
            errors[BlockId.OPPORTUNITY_AMOUNT.value] = "An amount of 0 or more, or none."
    raw_close = _value(view, BlockId.OPPORTUNITY_CLOSE, ActionId.OPPORTUNITY_CLOSE).get(
        "selected_date"
    )
    close = date.fromisoformat(str(raw_close)) if raw_close else None
    return title, amount, close, errors


def register(app: App, deps: Deps) -> None:
    @app.action(
        ActionId.SUMMARY_CREATE_OPPORTUNITY,
        middleware=allow(deps, Permission.CARD, _button_account),
    )
    def create_opportunity_clicked(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        ack()

        def work() -> None:
            draft = OpportunityDraft.parse(action.get("value"))
            with deps.engine.connect() as conn:
                name = card_actions.account_name(conn, draft.account)
            view = opportunity_modal(draft, name)
            client.views_open(trigger_id=body["trigger_id"], view=view.to_dict())

        after_ack(work, ack, body, client, respond, context, opens_modal=True)

    @app.view_submission(
        CallbackId.OPPORTUNITY_MODAL, middleware=allow(deps, Permission.CARD, _modal_account)
    )
    def opportunity_submitted(
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        with reporting(ack, body, client, respond, context):
            title, amount, close, errors = read_modal(view)
            if errors:
                ack(response_action="errors", errors=errors)
                return
            ack()

            def work() -> None:
                caller = caller_of(deps, client, body, context)
                account = OpportunityDraft.parse(view.get("private_metadata")).account
                made = create_opportunity(
                    deps.engine,
                    account,
                    title,
                    amount=amount,
                    close_date=close,
                    actor=caller.user.id,
                    now=deps.clock(),
                )
                receipt = opportunity_created(made.account_name, title, amount, close)
                Replier.for_body(client, body, respond).ephemeral(receipt)

            after_ack(work, ack, body, client, respond, context)
