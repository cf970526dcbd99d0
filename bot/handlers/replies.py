"""Answering the user who clicked or typed: where an ephemeral reply goes.

A block action on a message and a slash command carry a ``response_url``: replies go there
(``respond()``: ephemeral, or replacing the ephemeral it came from). A click in the App Home or
a modal submission has none: the reply is a ``chat.postEphemeral`` in the channel the modal
came from, else in the user's DM with the app (``conversations.open``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import SectionBlock

from bot.blocks import mrkdwn as m
from bot.blocks.message import SlackMessage
from bot.slack.client import error_code

log = logging.getLogger(__name__)

# chat.postEphemeral in a channel the app cannot post to: fall back to the user's DM.
_NOT_THERE = frozenset(
    {"channel_not_found", "not_in_channel", "user_not_in_channel", "is_archived"}
)


def action_value(body: Mapping[str, Any]) -> str | None:
    """The value a block action carries: the chosen option's of a select, else the button's."""
    actions = body.get("actions") or [{}]
    action = actions[0] if isinstance(actions[0], Mapping) else {}
    selected = action.get("selected_option")
    value = selected.get("value") if isinstance(selected, Mapping) else action.get("value")
    return value if isinstance(value, str) else None


def modal_metadata(body: Mapping[str, Any]) -> str | None:
    """The ``private_metadata`` of the modal a view submission comes from."""
    view = body.get("view")
    raw = view.get("private_metadata") if isinstance(view, Mapping) else None
    return raw if isinstance(raw, str) else None


def slack_user_of(body: Mapping[str, Any]) -> str | None:
    """The Slack user of an interaction, a slash command or an event."""
    user = body.get("user")
    if isinstance(user, Mapping) and isinstance(user.get("id"), str):
        return str(user["id"])
    if isinstance(body.get("user_id"), str):
        return str(body["user_id"])
    event = body.get("event")
    if isinstance(event, Mapping) and isinstance(event.get("user"), str):
        return str(event["user"])
    return None


def channel_of(body: Mapping[str, Any]) -> str | None:
    channel = body.get("channel")
    if isinstance(channel, Mapping) and isinstance(channel.get("id"), str):
        return str(channel["id"])
    if isinstance(body.get("channel_id"), str):
        return str(body["channel_id"])
    container = body.get("container")
    if isinstance(container, Mapping) and isinstance(container.get("channel_id"), str):
        return str(container["channel_id"])
    return None


def text_message(text: str) -> SlackMessage:
    """A one-section message of our own mrkdwn (already escaped where it holds customer data)."""
    return SlackMessage(
        text=m.fallback(text.replace("*", "")), blocks=[SectionBlock(text=m.section_text(text))]
    )


@dataclass(slots=True)
class Replier:
    client: WebClient
    slack_user_id: str | None
    respond: Respond | None = None
    channel: str | None = None

    @classmethod
    def for_body(
        cls,
        client: WebClient,
        body: Mapping[str, Any],
        respond: Respond | None = None,
        *,
        channel: str | None = None,
    ) -> Replier:
        usable = respond if respond is not None and respond.response_url else None
        return cls(client, slack_user_of(body), usable, channel or channel_of(body))

    @property
    def has_response_url(self) -> bool:
        return self.respond is not None

    def ephemeral(self, message: SlackMessage) -> None:
        """Show ``message`` to this user only."""
        payload = message.to_dict()
        if self.respond is not None:
            self._respond(payload, response_type="ephemeral", replace_original=False)
            return
        if self.slack_user_id is None:
            log.warning("no user to answer: %s", payload["text"][:200])
            return
        channel = self.channel
        if channel is not None:
            try:
                self._post_ephemeral(channel, payload)
                return
            except SlackApiError as exc:
                if error_code(exc) not in _NOT_THERE:
                    raise
                log.info("postEphemeral in %s: %s; using the DM", channel, error_code(exc))
        self._post_ephemeral(self._dm(), payload)

    def say(self, text: str) -> None:
        self.ephemeral(text_message(text))

    def replace(self, message: SlackMessage) -> bool:
        """Replace the (ephemeral) message the interaction came from; False without a
        response_url."""
        if self.respond is None:
            return False
        self._respond(message.to_dict(), replace_original=True)
        return True

    def in_channel(self, message: SlackMessage) -> None:
        """Post ``message`` for everyone in the channel the interaction came from."""
        payload = message.to_dict()
        if self.respond is not None:
            self._respond(payload, response_type="in_channel", replace_original=False)
            return
        channel = self.channel or self._dm()
        self.client.chat_postMessage(
            channel=channel,
            text=payload["text"],
            blocks=payload["blocks"],
            unfurl_links=False,
            unfurl_media=False,
        )

    def _respond(self, payload: Mapping[str, Any], **options: Any) -> None:
        assert self.respond is not None
        answer = self.respond(text=payload["text"], blocks=payload["blocks"], **options)
        if answer.status_code != 200:
            # An expired response_url (30 minutes, 5 uses) or Slack refusing the payload.
            log.warning("response_url answered %s: %s", answer.status_code, answer.body[:200])

    def _post_ephemeral(self, channel: str, payload: Mapping[str, Any]) -> None:
        if self.slack_user_id is None:
            raise ValueError("an ephemeral message needs a user")
        self.client.chat_postEphemeral(
            channel=channel,
            user=self.slack_user_id,
            text=payload["text"],
            blocks=payload["blocks"],
        )

    def _dm(self) -> str:
        if self.slack_user_id is None:
            raise ValueError("a DM needs a user")
        opened = self.client.conversations_open(users=self.slack_user_id)
        return str(opened["channel"]["id"])
