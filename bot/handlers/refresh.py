"""After a change, every place that shows it is rendered again from the stored queue and the
alerts' states (:mod:`bot.service.surfaces`; nothing is swept):

* the daily DM the click came from (that day's list: the card collapses to one line), and the
  card owner's latest DM when its list holds that account — ``chat.update`` of each stored
  message (a message Slack no longer has is not an error);
* the ``/followup today`` ephemeral the click came from (replaced through its response_url);
* the App Home the click came from (keeping its filters); other Homes are rendered when they
  are next opened.

Failures here are logged and never undo the change itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ContextBlock

from bot.blocks import mrkdwn as m
from bot.blocks.message import SlackMessage
from bot.blocks.values import BadValue, HomeFilters
from bot.engine.facts import UserFacts
from bot.handlers import Deps
from bot.handlers.access import Caller
from bot.handlers.events import publish_home
from bot.handlers.replies import Replier
from bot.ids import BlockId
from bot.service.surfaces import dm_render, dms_showing, today_messages
from bot.slack.client import error_code

log = logging.getLogger(__name__)

# chat.update answers that mean the message is not there to update (deleted, too old …).
GONE = frozenset({"message_not_found", "cant_update_message", "channel_not_found"})


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an interaction came from: a message (``channel``, ``ts``; ephemeral or not), the
    App Home (with its filters), or neither (a modal opened from the App Home)."""

    channel: str | None = None
    ts: str | None = None
    ephemeral: bool = False
    home: bool = False
    filters: HomeFilters | None = None

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> Origin:
        container = body.get("container")
        container = container if isinstance(container, Mapping) else {}
        if container.get("type") == "message":
            return cls(
                channel=_str(container.get("channel_id")),
                ts=_str(container.get("message_ts")),
                ephemeral=bool(container.get("is_ephemeral")),
            )
        view = body.get("view")
        if isinstance(view, Mapping) and view.get("type") == "home":
            try:
                filters: HomeFilters | None = HomeFilters.parse(view.get("private_metadata"))
            except BadValue:
                filters = None
            return cls(home=True, filters=filters)
        return cls()

    @property
    def message(self) -> tuple[str, str] | None:
        """The stored-message key of a non-ephemeral message."""
        if self.channel and self.ts and not self.ephemeral:
            return self.channel, self.ts
        return None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


# -------------------------------------------------------------------- the daily DM


def _nothing_more() -> SlackMessage:
    """What a second DM message becomes when everything now fits in the first."""
    return SlackMessage(
        text="Your follow-ups (continued): nothing more here.",
        blocks=[
            ContextBlock(
                block_id=BlockId.DIGEST_HEADER,
                elements=[m.context_text(":white_check_mark: _Continued above — nothing more._")],
            )
        ],
    )


def refresh_dm(deps: Deps, client: WebClient, delivery_id: int) -> None:
    """``chat.update`` a delivered DM with its day's list as it stands now."""
    rendered = dm_render(deps.engine, delivery_id, deps.clock())
    if rendered is None:
        log.info("DM %s left as it is: no list to render it from", delivery_id)
        return
    dm, messages = rendered
    messages += [_nothing_more()] * (len(dm.messages) - len(messages))
    for (channel, ts), message in zip(dm.messages, messages, strict=True):
        payload = message.to_dict()
        try:
            client.chat_update(
                channel=channel, ts=ts, text=payload["text"], blocks=payload["blocks"]
            )
        except SlackApiError as exc:
            code = error_code(exc)
            if code in GONE:
                log.info("DM %s (%s, %s): chat.update answered %s", delivery_id, channel, ts, code)
            else:
                log.warning(
                    "DM %s (%s, %s): chat.update failed: %s", delivery_id, channel, ts, code
                )


# ------------------------------------------------------------------------ homes


def republish_home(
    deps: Deps,
    client: WebClient,
    slack_user_id: str,
    filters: HomeFilters | None = None,
) -> None:
    try:
        publish_home(deps, client, slack_user_id, filters=filters)
    except SlackApiError as exc:
        log.warning("views.publish for %s failed: %s", slack_user_id, error_code(exc))


# ---------------------------------------------------------------- after a change


def refresh_after_change(
    deps: Deps,
    client: WebClient,
    caller: Caller,
    origin: Origin,
    owners: Sequence[UserFacts | None],
    replier: Replier | None = None,
    *,
    account_id: str | None = None,
) -> None:
    """Re-render everything that shows the changed card (see the module docstring)."""
    owner_ids = [o.id for o in owners if o is not None]
    for delivery_id in dms_showing(deps.engine, origin.message, owner_ids, account_id):
        refresh_dm(deps, client, delivery_id)
    if origin.ephemeral and replier is not None and replier.has_response_url:
        fresh = today_messages(deps.engine, caller.user.id, deps.clock(), max_messages=1)
        if fresh:
            replier.replace(fresh[0])
    # The App Home the click came from shows the change at once. Any other Home (the caller's
    # after a click in a DM, the owner's) is published from the database when it is next
    # opened (app_home_opened): publishing it now would be work nobody sees.
    if origin.home:
        republish_home(deps, client, caller.slack_user_id, origin.filters)
