"""Web API clients. Nothing here is module-level state: callers build a client and pass it on.

Every client honours ``SLACK_API_URL`` (``base_url``). The client for background work (the daily
DM fan-out) retries what can succeed later: HTTP 429 after its ``Retry-After``, 500/503 and
connection failures — a post only when its request cannot have reached Slack (a post answered
with a 5xx may have gone through: the fan-out looks it up in the DM instead, and paces its own
429 retries). Errors such as
``invalid_blocks`` are never retried. Tokens never reach a
log: :class:`RedactTokens` scrubs anything that looks like one, and slack_sdk's own DEBUG
logging (which prints request headers) is kept off.
"""

from __future__ import annotations

import logging
import re
import socket
from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.settings import Settings, SettingsError

DEFAULT_TIMEOUT = 30  # seconds; a post whose answer does not come back is never re-sent
RATE_LIMIT_RETRIES = 3
SERVER_ERROR_RETRIES = 2

_TOKEN = re.compile(r"\b(xox[abposer]|xapp)-[A-Za-z0-9-]+")


def bot_token(settings: Settings) -> str:
    """The bot token, or a SettingsError naming the variable."""
    if settings.slack_bot_token is None or not settings.slack_bot_token.get_secret_value():
        raise SettingsError(
            "SLACK_BOT_TOKEN is not set: expected the Slack app's bot token (xoxb-…)"
        )
    return settings.slack_bot_token.get_secret_value()


def signing_secret(settings: Settings) -> str:
    """The signing secret (HTTP mode), or a SettingsError naming the variable."""
    secret = settings.slack_signing_secret
    if secret is None or not secret.get_secret_value():
        raise SettingsError(
            "SLACK_SIGNING_SECRET is not set: HTTP mode needs the Slack app's signing secret "
            "(Basic Information → App Credentials) to verify requests"
        )
    return secret.get_secret_value()


# Methods that create something each time they run: retrying one whose request may have reached
# Slack could post twice.
NON_IDEMPOTENT = frozenset(
    {"chat.postMessage", "chat.postEphemeral", "chat.scheduleMessage", "chat.meMessage"}
)


def never_sent(error: BaseException | None) -> bool:
    """The connection failed before the request could reach Slack."""
    reason = getattr(error, "reason", error)
    return isinstance(reason, (ConnectionRefusedError, socket.gaierror))


class _SparePosts(RetryHandler):
    """A retry handler that never retries a post whose request may have reached Slack: that post
    may have gone through, and a retry would duplicate it (``_post_may_retry`` says when a post
    surely did not)."""

    def _post_may_retry(self, error: Exception | None) -> bool:
        return False

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        method = request.url.split("?", 1)[0].rsplit("/", 1)[-1]
        return method not in NON_IDEMPOTENT or self._post_may_retry(error)


class SafeConnectionErrorRetryHandler(_SparePosts, ConnectionErrorRetryHandler):
    """slack_sdk's connection-error retries; a post only after a refused connection or a failed
    DNS lookup (never after a reset or a connection closed after sending)."""

    def _post_may_retry(self, error: Exception | None) -> bool:
        return never_sent(error)


class SafeServerErrorRetryHandler(_SparePosts, ServerErrorRetryHandler):
    """slack_sdk's 500/503 retries, never of a post: a server error may come after the message
    was posted. The outbox looks such a post up instead (bot.service.outbox)."""


def background_retry_handlers(
    *,
    rate_limit_retries: int = RATE_LIMIT_RETRIES,
    server_error_retries: int = SERVER_ERROR_RETRIES,
) -> list[RetryHandler]:
    """429 (after Retry-After), 500/503 and connection resets; nothing else, and no post whose
    request may have reached Slack."""
    return [
        SafeConnectionErrorRetryHandler(max_retry_count=1),
        RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
        SafeServerErrorRetryHandler(max_retry_count=server_error_retries),
    ]


def make_client(
    settings: Settings,
    *,
    background: bool = True,
    timeout: int = DEFAULT_TIMEOUT,
    retry_handlers: list[RetryHandler] | None = None,
) -> WebClient:
    """A WebClient on ``SLACK_API_URL`` with the bot token.

    ``background`` (deliveries, scheduled work) gets the full retry set; the client of the
    interactive app retries connection resets and one 429 only — its listeners have acked
    already, and a user is waiting.
    """
    _quiet_sdk_debug()
    if retry_handlers is None:
        retry_handlers = (
            background_retry_handlers()
            if background
            else [
                SafeConnectionErrorRetryHandler(max_retry_count=1),
                RateLimitErrorRetryHandler(max_retry_count=1),
            ]
        )
    return WebClient(
        token=bot_token(settings),
        base_url=settings.slack_api_url,
        timeout=timeout,
        retry_handlers=retry_handlers,
        logger=logging.getLogger("bot.slack.web"),
    )


def redact(text: str) -> str:
    """``xoxb-1-abc`` → ``xoxb-…``."""
    return _TOKEN.sub(lambda m: f"{m.group(1)}-…", text)


class RedactTokens(logging.Filter):
    """A handler filter that scrubs Slack tokens from every record it lets through."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def _quiet_sdk_debug() -> None:
    # slack_sdk logs request headers (the token) at DEBUG: never let those through.
    for name in ("slack_sdk", "slack_bolt", "bot.slack.web"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)


def configure_logging(level: int = logging.INFO) -> None:
    """Text logging on stderr at ``level``, tokens redacted, SDK debug off (see
    :func:`bot.logs.setup_logging`, which the commands call with LOG_LEVEL and LOG_FORMAT)."""
    from bot.logs import setup_logging

    setup_logging(level)


def error_code(exc: Exception) -> str:
    """Slack's ``error`` of a SlackApiError (``ratelimited``, ``invalid_blocks`` …)."""
    response: Any = getattr(exc, "response", None)
    try:
        return str(response["error"]) if response is not None else type(exc).__name__
    except (KeyError, TypeError):
        status = getattr(response, "status_code", None)
        return f"http_{status}" if status else type(exc).__name__
