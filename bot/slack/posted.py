"""Posting so that a lost answer never doubles a message (the outbox, :mod:`bot.service.outbox`).

Every post carries Slack message metadata naming it (``event_type`` + ``event_payload``). When
a post's answer is lost (a timeout, a 5xx, a process that died in flight), the post may have gone
through: :func:`find_posted` looks for that metadata among the channel's newest messages
(``conversations.history``) — or, for a reply in a thread, which the channel's history does not
show, among the thread's messages (``conversations.replies``) — and tells whether it is there,
absent, or whether Slack cannot tell. :func:`paced_call` makes one chat write behind a
:class:`~bot.slack.delivery.Pacer`, holding the channel for a 429's ``Retry-After`` and
retrying.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.slack.client import RATE_LIMIT_RETRIES, error_code, never_sent

if TYPE_CHECKING:
    from bot.slack.delivery import Pacer

log = logging.getLogger(__name__)

HISTORY_LOOKBACK = 20  # newest messages searched for a post whose answer was lost
THREAD_PAGES = 10  # pages of a thread (``lookback`` replies each) searched at most


@dataclass(frozen=True, slots=True)
class Posted:
    channel: str
    ts: str


class NotFound(StrEnum):
    ABSENT = "not in the channel"
    UNKNOWN = "Slack cannot tell"


def surely_not_posted(exc: BaseException) -> bool:
    """Slack refused the post (an error answer below 500), or it never left this machine."""
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 200)
        return not (isinstance(status, int) and status >= 500)
    return never_sent(exc)


def retry_after(exc: SlackApiError) -> float | None:
    """The seconds a 429 asks to wait (``Retry-After``), or None when ``exc`` is no 429."""
    response = exc.response
    if getattr(response, "status_code", None) != 429:
        return None
    headers: Mapping[str, Any] = getattr(response, "headers", None) or {}
    for key, value in headers.items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                break
    return 1.0


def paced_call(
    pacer: Pacer, channel: str, method: Callable[..., SlackResponse], /, **kwargs: Any
) -> SlackResponse:
    """One chat write to ``channel`` (the pacer's key: a user or channel id), paced; a 429
    holds the channel for its Retry-After and is retried (as often as the client would)."""
    attempt = 0
    while True:
        pacer.wait(channel)
        try:
            return method(**kwargs)
        except SlackApiError as exc:
            wait = retry_after(exc)
            if wait is None or attempt >= RATE_LIMIT_RETRIES:
                raise
            attempt += 1
            log.info("%s: rate limited; retrying in %g s", channel, wait)
            pacer.hold(channel, wait)


def marker(event_type: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The metadata a post carries so that it can be found again."""
    return {"event_type": event_type, "event_payload": dict(payload)}


def dm_channel(client: WebClient, slack_user_id: str) -> str:
    """The id (``D…``) of the bot's DM with a user (``conversations.open``)."""
    opened = client.conversations_open(users=slack_user_id)
    return str(opened["channel"]["id"])


def find_posted(
    client: WebClient,
    channel: str,
    meta: Mapping[str, Any],
    *,
    thread_ts: str | None = None,
    lookback: int = HISTORY_LOOKBACK,
) -> Posted | NotFound:
    """The message of ``channel`` (a ``C…``/``D…`` id) whose metadata is ``meta``, if Slack
    shows it among the newest ``lookback``; with ``thread_ts``, the reply in that thread whose
    metadata is ``meta`` (a thread's replies are not in the channel's history)."""
    try:
        if thread_ts:
            return _find_in_thread(client, channel, thread_ts, meta, lookback)
        history = client.conversations_history(
            channel=channel, limit=lookback, include_all_metadata=True
        )
    except Exception as exc:
        log.warning("cannot look a post up in %s (%s)", channel, error_code(exc))
        return NotFound.UNKNOWN
    return _match(history.get("messages") or [], channel, meta) or NotFound.ABSENT


def _find_in_thread(
    client: WebClient, channel: str, thread_ts: str, meta: Mapping[str, Any], page: int
) -> Posted | NotFound:
    """Search the thread (``conversations.replies``: its parent, then the replies, oldest
    first), page after page; a thread longer than :data:`THREAD_PAGES` pages cannot tell."""
    cursor: str | None = None
    for _ in range(THREAD_PAGES):
        replies = client.conversations_replies(
            channel=channel, ts=thread_ts, limit=page, include_all_metadata=True, cursor=cursor
        )
        found = _match(replies.get("messages") or [], channel, meta)
        if found is not None:
            return found
        cursor = (replies.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return NotFound.ABSENT
    log.warning("cannot look a post up in the thread %s of %s: too long", thread_ts, channel)
    return NotFound.UNKNOWN


def _match(
    messages: Sequence[Mapping[str, Any]], channel: str, meta: Mapping[str, Any]
) -> Posted | None:
    for message in messages:
        found = message.get("metadata") or {}
        if found.get("event_type") == meta["event_type"] and found.get("event_payload") == dict(
            meta["event_payload"]
        ):
            return Posted(channel, str(message["ts"]))
    return None
