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

from bot.blocks.values import HomeFilters
from bot.handlers import Deps
from bot.handlers.access import Permission, allow
from bot.handlers.work import RESENT, after_ack
from bot.ids import Event
from bot.service.refresh_queue import refreshing_users
from bot.service.surfaces import home_for
from bot.slack.dedupe import process_once

log = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> None:
    # Anyone: a Slack user who is not one of ours gets the "not set up" home.
    @app.event(Event.APP_HOME_OPENED.value, middleware=allow(deps, Permission.ANYONE))
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
) -> None:
    """``views.publish`` the App Home of a Slack user, under ``filters`` (none: the whole
    queue)."""
    view = home_for(
        deps.engine,
        client,
        slack_user_id,
        deps.clock(),
        filters=filters,
        refreshing=refreshing_users(),
    )
    client.views_publish(user_id=slack_user_id, view=view.to_dict())
