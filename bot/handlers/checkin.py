"""The "Mark sent" button of a check-in email draft (an executed ``send_checkin_email``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from sqlalchemy import select

from bot.db.models import ActionRun
from bot.engine.overview import UnknownAccount
from bot.handlers import Deps
from bot.handlers.access import Permission, allow
from bot.handlers.replies import Replier, action_value, slack_user_of
from bot.handlers.work import after_ack
from bot.ids import ActionId
from bot.service.checkin import mark_checkin_sent


def register(app: App, deps: Deps) -> None:
    def run_account(body: Mapping[str, Any]) -> str:
        """The account of the draft's action run (the button's value is the run id)."""
        raw = action_value(body)
        with deps.engine.connect() as conn:
            account = conn.execute(
                select(ActionRun.account_id).where(ActionRun.id == int(str(raw or "0")))
            ).scalar()
        if account is None:
            raise UnknownAccount(str(raw))
        return str(account)

    # The draft's account's CSM, their manager or an admin.
    @app.action(ActionId.CHECKIN_MARK_SENT, middleware=allow(deps, Permission.CARD, run_account))
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
