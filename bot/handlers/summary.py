"""The account summary: building it (overview + the account's current card) and its buttons —
Save (into the audit log as ``summary.saved``), Share in channel, and the account picker of
``/account-summary``. Any user who is set up may read a summary; nothing here changes alerts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from sqlalchemy import insert

from bot.blocks import mrkdwn as m
from bot.blocks.message import SlackMessage
from bot.blocks.messages import summary_message
from bot.blocks.values import SummaryRef
from bot.db.models import AuditLog
from bot.engine.overview import AccountOverview, account_overview
from bot.engine.results import Card, iso_z
from bot.engine.sweep import run_sweep
from bot.handlers import Deps
from bot.handlers.access import Caller, Permission, allow, caller_of
from bot.handlers.replies import Replier
from bot.handlers.work import after_ack
from bot.ids import ActionId

log = logging.getLogger(__name__)


def overview_and_card(
    deps: Deps, caller: Caller, account_id: str
) -> tuple[AccountOverview, Card | None]:
    """One account now, and its card if it is flagged (a dry-run sweep of that account alone;
    an account nobody owns, nor the org's fallback CSM, shows no card)."""
    now = deps.clock()
    with deps.engine.connect() as conn:
        overview = account_overview(conn, account_id, now)
    owner = overview.csm_id or caller.org.fallback_csm_id
    card = None
    if owner is not None:
        result = run_sweep(deps.engine, now, dry_run=True, account_ids=[account_id])
        card = next((c for c in result.cards if c.account == account_id), None)
    return overview, card


def summary_for(
    deps: Deps, caller: Caller, account_id: str, *, shared: bool = False
) -> SlackMessage:
    overview, card = overview_and_card(deps, caller, account_id)
    return summary_message(
        overview,
        card,
        tz=caller.user.timezone,
        shared_by=caller.user.name if shared else None,
    )


def save_summary(deps: Deps, caller: Caller, account_id: str) -> AccountOverview:
    """Store the summary as it reads now in the audit log (``summary.saved``)."""
    overview, card = overview_and_card(deps, caller, account_id)
    message = summary_message(overview, card, tz=caller.user.timezone).to_dict()
    with deps.engine.begin() as conn:
        conn.execute(
            insert(AuditLog).values(
                at=deps.clock(),
                actor=caller.user.id,
                action="summary.saved",
                subject=f"account:{account_id}",
                details={
                    "account": account_id,
                    "account_name": overview.name,
                    "as_of": iso_z(overview.as_of),
                    "generator": "rules",
                    "card": card.to_json() if card is not None else None,
                    "text": message["text"],
                    "blocks": message["blocks"],
                },
            )
        )
    return overview


def _selected(action: Mapping[str, Any]) -> str | None:
    option = action.get("selected_option")
    return option.get("value") if isinstance(option, Mapping) else None


def register(app: App, deps: Deps) -> None:
    @app.action(ActionId.SUMMARY_SAVE, middleware=allow(deps, Permission.MEMBER))
    def summary_save(
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
            overview = save_summary(deps, caller, ref.account)
            name = m.fit(m.one_line(overview.name), 150)
            Replier.for_body(client, body, respond).say(
                f":floppy_disk: Saved the summary of *{name}*."
            )

        after_ack(work, ack, body, client, respond, context)

    @app.action(ActionId.SUMMARY_SHARE, middleware=allow(deps, Permission.MEMBER))
    def summary_share(
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
            message = summary_for(deps, caller, ref.account, shared=True)
            Replier.for_body(client, body, respond).in_channel(message)

        after_ack(work, ack, body, client, respond, context)

    @app.action(ActionId.SUMMARY_PICK_ACCOUNT, middleware=allow(deps, Permission.MEMBER))
    def summary_pick_account(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        ack()

        def work() -> None:
            ref = SummaryRef.parse(_selected(action))
            caller = caller_of(deps, client, body, context)
            message = summary_for(deps, caller, ref.account)
            replier = Replier.for_body(client, body, respond)
            if not replier.replace(message):  # the picker (an ephemeral) becomes the summary
                replier.ephemeral(message)

        after_ack(work, ack, body, client, respond, context)
