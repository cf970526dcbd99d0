"""Slash commands: ``/account-summary [account]`` and ``/followup today|settings|prep|help``.

Each listener ``ack()``s at once and does the work afterwards: the app runs with
``process_before_response=False``, so Bolt answers Slack's HTTP request as soon as ``ack()`` is
called and the rest of the listener runs on its listener pool; answers go through
``respond()`` (the command's response_url). A Bolt *lazy* listener would do the same, but Bolt
only logs a lazy listener's exceptions — here every error is reported by
:mod:`bot.handlers.errors` and the user hears about it.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.models.blocks import ContextBlock

from bot.blocks import mrkdwn as m
from bot.blocks.messages import summary_picker_message
from bot.engine.lookup import Lookup, find_account
from bot.handlers import Deps
from bot.handlers.access import Caller, Permission, allow, caller_of
from bot.handlers.home import open_settings
from bot.handlers.replies import Replier
from bot.handlers.summary import (
    placeholder_first,
    prep_for,
    saved_list_for,
    split_saved,
    summary_for,
)
from bot.handlers.work import after_ack
from bot.ids import Command
from bot.service.surfaces import today_messages

SUMMARY_USAGE = (
    ":page_facing_up: *Usage:* `/account-summary ACCOUNT` — an account's name (or part of it) "
    "or its id, e.g. `/account-summary Globex`. You get its summary — highlights, stakeholders, "
    "KPIs, risks, expansion signals, next steps and immediate actions — with a period choice "
    "and buttons to save it or share it in the channel. `/account-summary ACCOUNT saved` lists "
    "its saved versions."
)
PREP_USAGE = (
    ":clipboard: *Usage:* `/followup prep ACCOUNT` — an account's name (or part of it) or its "
    "id, e.g. `/followup prep Globex`: the brief for your next meeting with them — attendees, "
    "open obligations, recent activity, health and pulses, talking points."
)
FOLLOWUP_HELP = (
    "*Followup Bot*\n"
    "• `/followup today` — your lanes right now\n"
    "• `/followup settings` — your daily digest: noise level, pause, delivery time\n"
    "• `/followup prep ACCOUNT` — the brief for your next meeting with an account\n"
    "• `/followup help` — this help\n"
    "• `/account-summary ACCOUNT` — one account at a glance\n"
    "Your whole queue, with filters, is in the app's *Home* tab."
)


def lookup_reply(
    deps: Deps, caller: Caller, lookup: Lookup, replier: Replier, *, saved: bool = False
) -> None:
    """Answer ``/account-summary QUERY`` (``QUERY saved``: its saved versions) from what
    :func:`find_account` found."""
    query = m.fit(m.one_line(lookup.query), 100)
    if lookup.match is not None and saved:
        replier.ephemeral(saved_list_for(deps, caller, lookup.match.id, lookup.match.name))
    elif lookup.match is not None:
        placeholder = placeholder_first(deps, replier, lookup.match.name)
        summary = summary_for(deps, caller, lookup.match.id)
        if lookup.loose:  # only part of the name was given: say which account this is
            name = m.fit(m.one_line(lookup.match.name), 80)
            note = f":mag: No account is named *{query}*; *{name}* is the only one containing it."
            head, *rest = summary.blocks
            summary.blocks = [head, ContextBlock(elements=[m.context_text(note)]), *rest]
        if not (placeholder and replier.replace(summary)):
            replier.ephemeral(summary)
    elif lookup.candidates:
        replier.ephemeral(
            summary_picker_message(
                [(c.id, c.name) for c in lookup.candidates],
                intro=f":page_facing_up: Several accounts match *{query}* — which one?",
            )
        )
    elif not lookup.empty:
        names = ", ".join(f"*{m.fit(m.one_line(s.name), 80)}*" for s in lookup.suggestions)
        closest = f" The closest: {names}." if names else ""
        replier.ephemeral(
            summary_picker_message(
                [(s.id, s.name) for s in lookup.suggestions],
                intro=f":mag: No account matches *{query}*.{closest}",
            )
        )
    else:
        replier.say(
            ":mag: There are no accounts in Followup Bot yet — ask an admin to import them."
        )


def prep_reply(deps: Deps, caller: Caller, query: str, replier: Replier) -> None:
    """Answer ``/followup prep QUERY``: the brief of the one account it names, else why not."""
    with deps.engine.connect() as conn:
        lookup = find_account(conn, query, partial=True)
    shown = m.fit(m.one_line(query), 100)
    if lookup.match is not None:
        replier.ephemeral(prep_for(deps, caller, lookup.match.id))
        return
    found = lookup.candidates or lookup.suggestions
    names = ", ".join(f"*{m.fit(m.one_line(a.name), 80)}* (`{a.id}`)" for a in found[:8])
    if lookup.candidates:
        replier.say(f":mag: Several accounts match *{shown}*: {names}. Give its id or full name.")
    elif names:
        replier.say(f":mag: No account matches *{shown}*. The closest: {names}.")
    else:
        replier.say(f":mag: No account matches *{shown}*.")


def register(app: App, deps: Deps) -> None:
    @app.command(Command.ACCOUNT_SUMMARY, middleware=allow(deps, Permission.MEMBER))
    def account_summary(
        ack: Ack,
        body: dict[str, Any],
        command: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        query, saved = split_saved(str(command.get("text") or "").strip())
        if not query:
            ack(text=SUMMARY_USAGE, response_type="ephemeral")
            return
        ack()

        def work() -> None:
            caller = caller_of(deps, client, body, context)
            with deps.engine.connect() as conn:
                lookup = find_account(conn, query, partial=True)
            lookup_reply(deps, caller, lookup, Replier.for_body(client, body, respond), saved=saved)

        after_ack(work, ack, body, client, respond, context)

    @app.command(Command.FOLLOWUP, middleware=allow(deps, Permission.MEMBER))
    def followup(
        ack: Ack,
        body: dict[str, Any],
        command: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        words = str(command.get("text") or "").split()
        sub = words[0].lower() if words else "help"
        if sub == "prep" and len(words) < 2:
            ack(text=PREP_USAGE, response_type="ephemeral")
            return
        if sub not in ("today", "settings", "prep"):
            unknown = (
                ""
                if sub == "help"
                else f"I don't know `/followup {m.fit(' '.join(words), 60)}`.\n\n"
            )
            ack(text=unknown + FOLLOWUP_HELP, response_type="ephemeral")
            return
        ack()

        def work() -> None:
            if sub == "settings":
                open_settings(deps, client, body)
                return
            caller = caller_of(deps, client, body, context)
            replier = Replier.for_body(client, body, respond)
            if sub == "prep":
                prep_reply(deps, caller, " ".join(words[1:]), replier)
                return
            for message in today_messages(deps.engine, caller.user.id, deps.clock()):
                replier.ephemeral(message)

        after_ack(work, ack, body, client, respond, context, opens_modal=sub == "settings")
