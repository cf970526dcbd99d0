"""The "Mark sent" button of a check-in email draft (an executed ``send_checkin_email``)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.handlers import Deps
from bot.handlers.access import Permission, allow
from bot.handlers.replies import Replier, slack_user_of
from bot.handlers.work import after_ack
from bot.ids import ActionId
from bot.service.checkin import mark_checkin_sent


def register(app: App, deps: Deps) -> None:
    @app.action(ActionId.CHECKIN_MARK_SENT, middleware=allow(deps, Permission.MEMBER))
    def checkin_mark_sent(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        ack()

        def work() -> None:
            run_id = int(str(action.get("value") or "0"))
            reply = mark_checkin_sent(
                deps.engine, client, run_id, slack_user_of(body), deps.clock()
            )
            replier = Replier.for_body(client, body, respond)
            if reply.message is None or not replier.replace(reply.message):
                replier.say(reply.text or "Recorded: the check-in email is marked sent.")

        after_ack(work, ack, body, client, respond, context)
