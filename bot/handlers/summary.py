"""The account summary in Slack: building it (the ten sections of :func:`bot.summarize.summarize`)
and its controls — the period choice (re-renders it), Save (a new saved version), Share in
channel, Meeting prep (the brief of :mod:`bot.engine.prep`), and the account picker of
``/account-summary``. Any user who is set up may read a summary; nothing here changes alerts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.blocks import mrkdwn as m
from bot.blocks.message import SlackMessage
from bot.blocks.prep import prep_message
from bot.blocks.summary import (
    account_summary_message,
    hidden_from,
    saved_list_message,
    summary_placeholder,
    summary_sections_modal,
)
from bot.blocks.values import SummaryRef
from bot.engine.overview import UnknownAccount
from bot.engine.prep import build_brief
from bot.engine.summary import Period, Summary
from bot.engine.summary.model import PeriodChoice
from bot.engine.summary.saved import SavedRef, load_saved, save_summary, saved_summaries
from bot.engine.summary.visibility import hidden_sections, set_hidden_sections
from bot.handlers import Deps
from bot.handlers.access import Caller, Permission, allow, caller_of
from bot.handlers.errors import reporting
from bot.handlers.refresh import republish_home
from bot.handlers.replies import Replier
from bot.handlers.work import after_ack
from bot.ids import ActionId, CallbackId
from bot.summarize import summarize

log = logging.getLogger(__name__)


def prep_for(deps: Deps, caller: Caller, account_id: str) -> SlackMessage:
    """The meeting-prep brief of the account's next meeting, for the caller to read."""
    brief = build_brief(deps.engine, account_id, deps.clock())
    return prep_message(brief, tz=caller.user.timezone)


def summary_of(deps: Deps, account_id: str, choice: PeriodChoice = PeriodChoice.ALL) -> Summary:
    now = deps.clock()
    period = Period.last_days(choice.days, now)
    return summarize(deps.engine, account_id, now, period, settings=deps.settings)


def summary_for(
    deps: Deps,
    caller: Caller,
    account_id: str,
    *,
    shared: bool = False,
    choice: PeriodChoice = PeriodChoice.ALL,
) -> SlackMessage:
    return account_summary_message(
        summary_of(deps, account_id, choice),
        tz=caller.user.timezone,
        choice=choice,
        shared_by=caller.user.name if shared else None,
    )


SAVED_WORD = "saved"


def split_saved(query: str) -> tuple[str, bool]:
    """``"Globex saved"`` → ``("Globex", True)``: the saved versions rather than a new summary."""
    words = query.split()
    if len(words) > 1 and words[-1].lower() == SAVED_WORD:
        return " ".join(words[:-1]), True
    return query, False


def saved_list_for(deps: Deps, caller: Caller, account_id: str, account_name: str) -> SlackMessage:
    with deps.engine.connect() as conn:
        saved = saved_summaries(conn, account_id)
    names = {u.id: u.name for u in caller.users.values()}
    return saved_list_message(account_id, account_name, saved, names=names, tz=caller.user.timezone)


def _saver(caller: Caller, user_id: str | None, *, shared: bool) -> str:
    """Who saved it, as the reader sees it ("you" only in the reader's own view)."""
    if user_id is None:
        return "the CLI"
    if user_id == caller.user.id and not shared:
        return "you"
    found = caller.owner(user_id)
    return found.name if found is not None else user_id


def saved_for(deps: Deps, caller: Caller, saved_id: int, *, shared: bool = False) -> SlackMessage:
    """One saved version as it was saved (raises UnknownAccount when it is gone)."""
    with deps.engine.connect() as conn:
        found = load_saved(conn, saved_id)
    if found is None:
        raise UnknownAccount(f"saved summary {saved_id}")
    ref, summary = found
    return account_summary_message(
        summary,
        tz=caller.user.timezone,
        saved=ref,
        saved_by=_saver(caller, ref.saved_by, shared=shared),
        shared_by=caller.user.name if shared else None,
    )


def uses_ai(deps: Deps) -> bool:
    key = deps.settings.anthropic_api_key
    return key is not None and bool(key.get_secret_value().strip())


def placeholder_first(deps: Deps, replier: Replier, account_name: str) -> bool:
    """With the AI writer the summary can take a while: show a placeholder now (replaced by
    the summary). True when one was shown."""
    if not uses_ai(deps) or not replier.has_response_url:
        return False
    replier.ephemeral(summary_placeholder(account_name))
    return True


def save_for(deps: Deps, caller: Caller, ref: SummaryRef) -> tuple[Summary, SavedRef]:
    """Save the summary as it reads now, for the period it was shown for."""
    summary = summary_of(deps, ref.account, ref.period or PeriodChoice.ALL)
    with deps.engine.begin() as conn:
        saved = save_summary(conn, summary, saved_by=caller.user.id, now=deps.clock())
    return summary, saved


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
            summary, saved = save_for(deps, caller, ref)
            name = m.fit(m.one_line(summary.account_name), 150)
            Replier.for_body(client, body, respond).say(
                f":floppy_disk: Saved the summary of *{name}* (version {saved.version})."
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
            if ref.saved is not None:
                message = saved_for(deps, caller, ref.saved, shared=True)
            else:
                choice = ref.period or PeriodChoice.ALL
                message = summary_for(deps, caller, ref.account, shared=True, choice=choice)
            Replier.for_body(client, body, respond).in_channel(message)

        after_ack(work, ack, body, client, respond, context)

    @app.action(ActionId.SUMMARY_PREP, middleware=allow(deps, Permission.MEMBER))
    def summary_prep(
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
            message = prep_for(deps, caller, ref.account)
            Replier.for_body(client, body, respond).ephemeral(message)

        after_ack(work, ack, body, client, respond, context)

    @app.action(ActionId.SUMMARY_PERIOD, middleware=allow(deps, Permission.MEMBER))
    def summary_period(
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
            choice = ref.period or PeriodChoice.ALL
            message = summary_for(deps, caller, ref.account, choice=choice)
            replier = Replier.for_body(client, body, respond)
            if not replier.replace(message):
                replier.ephemeral(message)

        after_ack(work, ack, body, client, respond, context)

    @app.action(ActionId.SUMMARY_OPEN_SAVED, middleware=allow(deps, Permission.MEMBER))
    def summary_open_saved(
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
            if ref.saved is None:
                raise UnknownAccount(ref.account)
            Replier.for_body(client, body, respond).ephemeral(saved_for(deps, caller, ref.saved))

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

    @app.action(
        ActionId.HOME_OPEN_SUMMARY_SECTIONS,
        middleware=allow(deps, Permission.ADMIN, what="choose the account summary's sections"),
    )
    def open_summary_sections(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext
    ) -> None:
        ack()

        def work() -> None:
            caller = caller_of(deps, client, body, context, timezone=False)
            with deps.engine.connect() as conn:
                hidden = hidden_sections(conn)
            view = summary_sections_modal(caller.user.id, hidden)
            client.views_open(trigger_id=body["trigger_id"], view=view.to_dict())

        after_ack(work, ack, body, client, respond, context, opens_modal=True)

    @app.view_submission(
        CallbackId.SUMMARY_SECTIONS_MODAL,
        middleware=allow(deps, Permission.ADMIN, what="choose the account summary's sections"),
    )
    def summary_sections_submitted(
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        with reporting(ack, body, client, respond, context):
            hidden = hidden_from(view)
            ack()

            def work() -> None:
                caller = caller_of(deps, client, body, context)
                with deps.engine.begin() as conn:
                    set_hidden_sections(conn, hidden, actor=caller.user.id, now=deps.clock())
                republish_home(deps, client, caller.slack_user_id)

            after_ack(work, ack, body, client, respond, context)
