"""A card's "Do it…" menu (automation level ``recommend``): the chosen recommended action is
taken as the segment matrix says — done now, or sent for a manager's approval
(:mod:`bot.service.suggestions`). The card's owner, their manager or an admin may choose."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.blocks.values import DoActionValue
from bot.handlers import Deps
from bot.handlers.access import Permission, allow, caller_of
from bot.handlers.replies import Replier, action_value
from bot.handlers.work import after_ack
from bot.ids import ActionId
from bot.service.suggestions import do_suggested


def _account(body: Mapping[str, Any]) -> str:
    return DoActionValue.parse(action_value(body)).account


def register(app: App, deps: Deps) -> None:
    @app.action(ActionId.CARD_DO_ACTION, middleware=allow(deps, Permission.CARD, _account))
    def card_do_action(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        ack()

        def work() -> None:
            chosen = DoActionValue.parse(action_value(body))
            caller = caller_of(deps, client, body, context)
            text = do_suggested(
                deps.engine, chosen.account, chosen.action, caller.user.id, deps.clock()
            )
            Replier.for_body(client, body, respond).say(text)

        after_ack(work, ack, body, client, respond, context)
