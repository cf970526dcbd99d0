"""Logging for the long-running commands (``serve``, its work processes, ``deliver``).

``LOG_LEVEL`` sets the level and ``LOG_FORMAT`` the shape of each line on stderr: ``text``
(``2026-11-16 09:00:00,123 INFO [MainProcess] bot.app: …``) or ``json``, one JSON object per
line for a log shipper (``time``, ``level``, ``logger``, ``process``, ``message``, an
``exception`` when there is one, and the fields a record was given: an interaction's ``user``,
``action_id``, ``kind``, ``status`` and ``latency_ms``). Every line is scrubbed of Slack tokens
whatever its format, and the SDKs' debug output (which carries request headers) stays off.

Start-up is quiet: Alembic's INFO lines (one per migration step, at every start) are dropped
below ``DEBUG``, and Bolt's notice that it ignores ``SLACK_BOT_TOKEN`` because the app was
given a client is dropped: the client is built from that very token.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slack_bolt import App, BoltRequest, BoltResponse

    from bot.settings import Settings

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(processName)s] %(name)s: %(message)s"

# The attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
_QUIET_BELOW_DEBUG = ("alembic",)
_BOLT_CLIENT_NOTICE = "As you gave `client` as well, `token` will be unused."


def _redact(text: str) -> str:
    from bot.slack.client import redact

    return redact(text)


class TextFormatter(logging.Formatter):
    """The classic one-line format, tokens scrubbed."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        return _redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per record, tokens scrubbed."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.processName,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return _redact(json.dumps(entry, ensure_ascii=False, default=str))


class _DropBoltClientNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != _BOLT_CLIENT_NOTICE


def quiet_bolt_client_notice(logger: logging.Logger) -> None:
    """Drop Bolt's "`token` will be unused" warning from ``logger`` (the app's Bolt logger)."""
    if not any(isinstance(f, _DropBoltClientNotice) for f in logger.filters):
        logger.addFilter(_DropBoltClientNotice())


def setup_logging(level: str | int | None = None, fmt: str | None = None) -> None:
    """Log to stderr at ``level`` (a name or number; default INFO) as ``fmt`` (``text``, the
    default, or ``json``). Calling it again changes the level and format in place."""
    from bot.slack.client import RedactTokens, _quiet_sdk_debug

    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    numeric = numeric if isinstance(numeric, int) else logging.INFO
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "_followup", False)), None)
    if handler is None:
        handler = logging.StreamHandler()
        handler._followup = True  # type: ignore[attr-defined]
        handler.addFilter(RedactTokens())
        root.addHandler(handler)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.setLevel(numeric)
    for name in _QUIET_BELOW_DEBUG:
        logging.getLogger(name).setLevel(logging.NOTSET if numeric <= logging.DEBUG else "WARNING")
    _quiet_sdk_debug()  # slack_sdk logs request headers (the token) at DEBUG


def setup_logging_from(settings: Settings, default_level: str = "INFO") -> None:
    """:func:`setup_logging` with ``LOG_LEVEL`` (else ``default_level``) and ``LOG_FORMAT``."""
    setup_logging(settings.log_level or default_level, settings.log_format)


# ------------------------------------------------------------------ interaction logs

interaction_log = logging.getLogger("bot.interactions")


def interaction_fields(body: Mapping[str, Any]) -> dict[str, str]:
    """Who did what: the Slack ``user``, the ``action_id`` (a button's or menu's action id, a
    modal's callback id, a slash command, an event's type) and the request ``kind``."""
    user = body.get("user")
    if isinstance(user, dict):
        user = user.get("id")
    if not isinstance(user, str):
        user = body.get("user_id")
    event = body.get("event")
    if not isinstance(user, str) and isinstance(event, dict):
        user = event.get("user")
    action: Any = None
    actions = body.get("actions")
    if isinstance(actions, list) and actions and isinstance(actions[0], dict):
        action = actions[0].get("action_id")
    elif isinstance(body.get("view"), dict):
        action = body["view"].get("callback_id")
    elif body.get("command"):
        action = body.get("command")
    elif isinstance(event, dict):
        action = event.get("type")
    kind = body.get("type") or ("slash_command" if body.get("command") else "")
    return {
        "user": user if isinstance(user, str) else "",
        "action_id": str(action or ""),
        "kind": str(kind),
    }


def log_interactions(app: App) -> None:
    """One INFO line per request ``app`` dispatches, with its user, action id, kind, status and
    latency: the time this process took with it (until the answer to Slack, or in a work
    process until the work was done). Never the request itself: its body holds a token.

    (Wraps ``app.dispatch``, which both the HTTP and the Socket Mode adapters call: Bolt's
    global middleware runs before the listeners and cannot time them.)"""
    dispatch = app.dispatch

    def timed(req: BoltRequest) -> BoltResponse:
        start = time.perf_counter()
        status: int | None = None
        try:
            response = dispatch(req)
            status = response.status
            return response
        finally:
            latency_ms = round((time.perf_counter() - start) * 1000, 1)
            body = req.body if isinstance(req.body, dict) else {}
            fields = interaction_fields(body)
            interaction_log.info(
                "%s %s by %s: %s in %.1f ms",
                fields["kind"] or "request",
                fields["action_id"] or "-",
                fields["user"] or "-",
                status if status is not None else "failed",
                latency_ms,
                extra={**fields, "status": status, "latency_ms": latency_ms},
            )

    setattr(app, "dispatch", timed)  # noqa: B010 (this one app instance)
