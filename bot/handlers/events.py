"""Events API listeners: ``app_home_opened`` publishes the user's App Home.

Every event is processed once per ``event_id`` (:func:`bot.slack.dedupe.process_once`), so a
retried delivery (``X-Slack-Retry-Num``) publishes nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest
from slack_sdk import WebClient
from slack_sdk.models.blocks import ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View

from bot.blocks.dumps import user_queue
from bot.blocks.values import HomeFilters
from bot.blocks.views import home_view
from bot.engine.facts import load_org, load_users
from bot.engine.overview import snoozed_alerts
from bot.engine.sweep import DrySweeps
from bot.handlers import Deps
from bot.handlers.work import RESENT, after_ack
from bot.ids import BlockId, CallbackId, Event
from bot.slack.dedupe import process_once
from bot.slack.users import resolve_users, user_for_slack_id

log = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> None:
    @app.event(Event.APP_HOME_OPENED.value)
    def app_home_opened(
        ack: Ack,
        body: dict[str, Any],
        event: dict[str, Any],
        client: WebClient,
        request: BoltRequest,
        context: BoltContext,
    ) -> None:
        ack()
        retry = retry_num(request)
        resent = context.get(RESENT) is True

        def work() -> None:
            on_app_home_opened(deps, client, body, event, retry, resent=resent)

        after_ack(work, ack, body, client, None, context)


def retry_num(request: BoltRequest) -> int:
    values = request.headers.get("x-slack-retry-num") or []
    try:
        return int(values[0]) if values else 0
    except ValueError:
        return 0


def on_app_home_opened(
    deps: Deps,
    client: WebClient,
    body: Mapping[str, Any],
    event: Mapping[str, Any],
    retry: int = 0,
    *,
    resent: bool = False,
) -> None:
    """Publish the App Home, once per event (``resent``: the work process that had it died, so
    its claim on the event is taken over)."""
    if event.get("tab", "home") != "home":
        return  # the Messages tab
    slack_user_id = event.get("user")
    if not isinstance(slack_user_id, str) or not slack_user_id:
        return
    event_id = body.get("event_id")
    with process_once(
        deps.engine,
        event_id if isinstance(event_id, str) else None,
        Event.APP_HOME_OPENED.value,
        deps.clock,
        retry_num=retry,
        take_over=resent,
    ) as fresh:
        if fresh:
            publish_home(deps, client, slack_user_id)


def publish_home(
    deps: Deps,
    client: WebClient,
    slack_user_id: str,
    *,
    filters: HomeFilters | None = None,
    sweeps: DrySweeps | None = None,
) -> None:
    """``views.publish`` the App Home of a Slack user (a short "not set up" home for a Slack user
    who is not one of ours), under ``filters`` (none: the whole queue)."""
    view = home_for(deps, client, slack_user_id, filters=filters, sweeps=sweeps)
    client.views_publish(user_id=slack_user_id, view=view.to_dict())


def home_for(
    deps: Deps,
    client: WebClient,
    slack_user_id: str,
    *,
    filters: HomeFilters | None = None,
    sweeps: DrySweeps | None = None,
) -> View:
    user_id = user_for_slack_id(deps.engine, client, slack_user_id)
    if user_id is None:
        return not_set_up_view()
    resolve_users(deps.engine, client, [user_id])  # the time zone, when nobody gave one yet
    sweeps = sweeps or DrySweeps(deps.engine, deps.clock())
    now = sweeps.now
    with deps.engine.connect() as conn:
        org = load_org(conn)
        users = load_users(conn, org.timezone)
        snoozed = snoozed_alerts(conn, user_id, now)
    user = users[user_id]
    # A read-only sweep of the user's accounts: opening the Home changes no alert.
    result = sweeps.of(user_id)
    return home_view(
        user,
        org,
        user_queue(result, user, org),
        now=now,
        snoozed=snoozed,
        filters=filters,
        names={u.id: u.name for u in users.values()},
    )


def not_set_up_view() -> View:
    return View(
        type="home",
        callback_id=CallbackId.HOME.value,
        blocks=[
            HeaderBlock(block_id=BlockId.HOME_HEADER.value, text="Follow-ups"),
            SectionBlock(
                block_id=BlockId.HOME_EMPTY.value,
                text=MarkdownTextObject(
                    text=":wave: *You're not set up yet.* This app shows customer-success "
                    "managers their daily follow-ups, and your Slack account is not linked to "
                    "anyone in the imported portfolio."
                ),
            ),
            ContextBlock(
                block_id=BlockId.HOME_STATUS.value,
                elements=[
                    MarkdownTextObject(
                        text="Ask your admin to add your Slack user id or your Slack email "
                        "to the portfolio import."
                    )
                ],
            ),
        ],
    )
