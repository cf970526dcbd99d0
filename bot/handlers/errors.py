"""Domain errors become one message to the user, here and nowhere else.

Listeners raise :class:`UserError` (not set up, not allowed, a stale card) or let the engine's
own errors through (an unknown account or alert, a button value we cannot read, an expired
trigger_id); a bad input in a modal is a view error on its field instead (``ack(errors=…)``).
:func:`report` logs each and tells the user once: an ephemeral message, or the modal this
request opened turned into a notice. Anything unexpected gets a short apology — never a stack
trace, never silence. Events API errors (nobody clicked) are only logged.

Every listener does its work after ``ack()`` inside :func:`reporting` (through
:func:`bot.handlers.work.after_ack`), which hands an exception to :func:`report` instead of
raising it to Bolt: with
``process_before_response=False`` Bolt's listener runner resets an ``ack()`` already given
when the listener then raises, and if its HTTP thread has not seen the ack yet (it polls every
10 ms) Slack gets no answer at all. The ``@app.error`` handler (:func:`on_error`) reports
whatever still escapes (an error before ``ack()``, a middleware error) the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import SectionBlock
from slack_sdk.models.views import View

from bot.blocks import mrkdwn as m
from bot.blocks.values import BadValue
from bot.engine.alerts import AlertNotFound
from bot.engine.overview import UnknownAccount
from bot.handlers import Deps
from bot.handlers.replies import Replier
from bot.slack.client import error_code

log = logging.getLogger(__name__)

# context key: (view_id, hash) of a modal this request opened before failing.
OPENED_VIEW = "followup_opened_view"
# context key: the app's work slots (a semaphore): listeners doing their work at once.
WORK_SLOTS = "followup_work_slots"
TRIGGER_ERRORS = frozenset({"expired_trigger_id", "invalid_trigger_id", "exchanged_trigger_id"})

NOT_SET_UP = (
    ":wave: You're not set up in Followup Bot yet — your Slack account isn't linked to anyone "
    "in the imported portfolio. Ask an admin to add your Slack user id or email to the import."
)
OLD_VALUE = (
    ":hourglass: That button belongs to a message I can no longer read (it is older than this "
    "version of the bot). Open the App Home or type `/followup today` for fresh cards."
)
GONE = (
    ":ghost: That card's follow-ups are gone. Type `/followup today` for your cards as they "
    "are now."
)
UNKNOWN_ACCOUNT = ":ghost: That account is no longer in Followup Bot."
TRIGGER_EXPIRED = (
    ":hourglass: Slack only gives me 3 seconds to open a window after a click, and this time I "
    "missed it. Please click again."
)
UNEXPECTED = (
    ":warning: Sorry — something went wrong on our side and nothing more could be done. It has "
    "been logged; please try again in a moment."
)


class UserError(Exception):
    """Something to tell the user, already phrased for them (our mrkdwn; customer text in it is
    escaped by whoever raises)."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class NotSetUp(UserError):
    def __init__(self) -> None:
        super().__init__(NOT_SET_UP)


class NotAllowed(UserError):
    pass


class StaleCard(UserError):
    pass


class UnknownApproval(UserError):
    def __init__(self, run_id: int) -> None:
        super().__init__(f":ghost: That approval (run #{run_id}) is no longer in Followup Bot.")


def user_message(error: BaseException) -> tuple[str, int]:
    """What to tell the user about ``error``, and the log level it deserves."""
    if isinstance(error, UserError):
        return error.message, logging.INFO
    if isinstance(error, BadValue):
        return OLD_VALUE, logging.WARNING
    if isinstance(error, UnknownAccount):
        return UNKNOWN_ACCOUNT, logging.INFO
    if isinstance(error, AlertNotFound):
        return GONE, logging.INFO
    if isinstance(error, SlackApiError) and error_code(error) in TRIGGER_ERRORS:
        return TRIGGER_EXPIRED, logging.WARNING
    return UNEXPECTED, logging.ERROR


def notice_view(text: str) -> View:
    """A modal that only says ``text`` (what a modal we opened becomes when the work failed)."""
    return View(
        type="modal",
        title=m.view_title("Followup Bot"),
        close=m.view_button("Close"),
        blocks=[SectionBlock(text=m.section_text(text))],
    )


def report(
    error: BaseException,
    *,
    body: Mapping[str, Any],
    client: WebClient,
    respond: Respond | None,
    context: Mapping[str, Any],
) -> None:
    """Log ``error`` and tell the user about it, once."""
    text, level = user_message(error)
    kind = str(body.get("type") or ("slash_command" if body.get("command") else "?"))
    if level >= logging.ERROR:
        log.error("%s failed: %s", kind, type(error).__name__, exc_info=error)
    else:
        log.log(level, "%s: %s: %s", kind, type(error).__name__, error)
    if kind == "event_callback":
        return  # nobody is waiting for an answer
    try:
        opened = context.get(OPENED_VIEW)
        if isinstance(opened, tuple):
            view_id, view_hash = opened
            client.views_update(view_id=view_id, hash=view_hash, view=notice_view(text).to_dict())
            return
        Replier.for_body(client, body, respond).say(text)
    except Exception as exc:  # the user cannot be told: at least the log says so
        log.error("could not tell the user about %s: %s", type(error).__name__, exc)


@contextmanager
def reporting(
    ack: Ack,
    body: Mapping[str, Any],
    client: WebClient,
    respond: Respond | None,
    context: Mapping[str, Any],
    *,
    opens_modal: bool = False,
) -> Iterator[None]:
    """A listener's work: an exception is reported here, not raised (Slack gets its ``ack()``
    first if the work failed before giving it). Work after ``ack()`` first takes one of the
    app's work slots (``WORK_SLOTS`` in the context, see :func:`bot.app.build_app`) — except
    work that ``opens_modal`` with the request's trigger_id: Slack honours a trigger_id for 3
    seconds only, so that work (a few reads and one ``views.open``) never queues behind the
    re-renders of other clicks."""
    queue = ack.response is not None and not opens_modal
    slots = context.get(WORK_SLOTS) if queue else None
    with slots if slots is not None else nullcontext():
        try:
            yield
        except Exception as exc:
            if ack.response is None:
                ack()
            report(exc, body=body, client=client, respond=respond, context=context)


def register(app: App, deps: Deps) -> None:
    @app.error
    def on_error(
        error: Exception,
        body: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        report(error, body=body, client=client, respond=respond, context=context)
