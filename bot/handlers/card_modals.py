"""The modals of a card's buttons: "Pick a date…" of Snooze and the reason of Dismiss. Each is
opened first (Slack's trigger_id lives 3 seconds) and remembers where its card was clicked (the
DM message, an ephemeral's channel, or the App Home with its filters), so that its submission
re-renders that place (:mod:`bot.handlers.cards`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.blocks.values import CardRef, DismissModalMeta, HomeFilters, SnoozeModalMeta
from bot.blocks.views import dismiss_modal, snooze_modal
from bot.engine import card_actions
from bot.engine.business_time import local_date
from bot.handlers import Deps
from bot.handlers.access import owner_timezone
from bot.handlers.errors import OPENED_VIEW
from bot.handlers.refresh import Origin
from bot.handlers.replies import slack_user_of
from bot.ids import ActionId, BlockId


def _home_of(origin: Origin) -> HomeFilters | None:
    """The App Home filters to keep through a modal opened from the App Home."""
    return (origin.filters or HomeFilters()) if origin.home else None


def after_modal(meta: SnoozeModalMeta | DismissModalMeta) -> Origin:
    """Where a modal's card was clicked, as the modal remembered it."""
    return Origin(channel=meta.channel, ts=meta.ts, home=meta.home is not None, filters=meta.home)


def _message_origin(origin: Origin) -> tuple[str | None, str | None]:
    """(channel, ts) to remember in a modal: the DM message to update after its submission
    (none for an ephemeral: only its channel, to answer in)."""
    if origin.message is not None:
        return origin.message
    return origin.channel, None


def _remember_opened(context: BoltContext, opened: Any) -> None:
    view = opened.get("view") if opened is not None else None
    if isinstance(view, Mapping):
        context[OPENED_VIEW] = (view.get("id"), view.get("hash"))


def open_snooze_modal(
    deps: Deps, client: WebClient, body: Mapping[str, Any], ref: CardRef, context: BoltContext
) -> None:
    """ "Pick a date…": open the date modal first (two quick reads), then check the caller —
    a refusal turns the open modal into a notice."""
    origin = Origin.of(body)
    channel, ts = _message_origin(origin)
    with deps.engine.connect() as conn:
        name = card_actions.account_name(conn, ref.account)
        tz = owner_timezone(conn, ref.account, slack_user_of(body))
    today = local_date(deps.clock(), tz)
    view = snooze_modal(ref, name, today=today, channel=channel, ts=ts, home=_home_of(origin))
    opened = client.views_open(trigger_id=body["trigger_id"], view=view.to_dict())
    _remember_opened(context, opened)


def open_dismiss_modal(
    deps: Deps, client: WebClient, body: Mapping[str, Any], ref: CardRef, context: BoltContext
) -> None:
    origin = Origin.of(body)
    channel, ts = _message_origin(origin)
    with deps.engine.connect() as conn:
        name = card_actions.account_name(conn, ref.account)
        details = card_actions.alert_details(conn, ref.account, list(ref.alerts or ()))
    view = dismiss_modal(ref, name, details, channel=channel, ts=ts, home=_home_of(origin))
    opened = client.views_open(trigger_id=body["trigger_id"], view=view.to_dict())
    _remember_opened(context, opened)


def modal_state(view: Mapping[str, Any], block_id: str, action_id: str) -> Mapping[str, Any]:
    values = view.get("state", {}).get("values", {})
    found = values.get(block_id, {}).get(action_id, {})
    return found if isinstance(found, Mapping) else {}


def picked_date(view: Mapping[str, Any]) -> date | None:
    raw = modal_state(view, BlockId.SNOOZE_DATE, ActionId.SNOOZE_DATE).get("selected_date")
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        return None
