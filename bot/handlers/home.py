"""The App Home's controls: the lane / severity / signal filters (each option carries the whole
new filter state), the settings buttons, and the two settings modals — the user's own digest
settings and, for admins, the org's. Submissions are validated (view errors on the field),
saved through :mod:`bot.engine.settings_store` (audited), then the home is published again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.blocks.values import HomeFilters, SettingsModalMeta
from bot.blocks.views import ORG_DEFAULT, org_settings_modal, settings_modal
from bot.engine.settings_store import (
    InvalidSettings,
    OrgDigestSettings,
    UserDigestSettings,
    save_org_digest,
    save_user_digest,
)
from bot.handlers import Deps
from bot.handlers.access import Caller, Permission, allow, caller_of
from bot.handlers.errors import NotAllowed, UserError, reporting
from bot.handlers.refresh import republish_home
from bot.handlers.replies import slack_user_of
from bot.handlers.work import after_ack
from bot.ids import ActionId, BlockId, CallbackId
from bot.service.refresh_queue import AlreadyRefreshing, refresh_queue, refreshing

FILTERS = (ActionId.HOME_FILTER_LANE, ActionId.HOME_FILTER_SEVERITY, ActionId.HOME_FILTER_SIGNAL)

# settings_store field → the modal block that shows its error
USER_FIELDS = {
    "sensitivity": BlockId.SETTINGS_SENSITIVITY,
    "opt_out": BlockId.SETTINGS_OPT_OUT,
    "send_at": BlockId.SETTINGS_SEND_AT,
}
ORG_FIELDS = {
    "enabled": BlockId.ORG_SETTINGS_ENABLED,
    "sensitivity": BlockId.SETTINGS_SENSITIVITY,
    "max_per_lane": BlockId.ORG_SETTINGS_MAX_PER_LANE,
    "automation_level": BlockId.ORG_SETTINGS_AUTOMATION,
    "send_at": BlockId.SETTINGS_SEND_AT,
}


def _input(view: Mapping[str, Any], block_id: str, action_id: str) -> Mapping[str, Any]:
    values = view.get("state", {}).get("values", {})
    found = values.get(block_id, {}).get(action_id, {})
    return found if isinstance(found, Mapping) else {}


def _selected(state: Mapping[str, Any]) -> str | None:
    option = state.get("selected_option")
    value = option.get("value") if isinstance(option, Mapping) else None
    return value if isinstance(value, str) else None


def _checked(state: Mapping[str, Any], value: str) -> bool:
    options = state.get("selected_options") or []
    return any(isinstance(o, Mapping) and o.get("value") == value for o in options)


def _view_errors(exc: InvalidSettings, fields: Mapping[str, BlockId]) -> dict[str, str]:
    """Each problem on the block of its field (Slack refuses an empty ``errors``)."""
    first = next(iter(fields.values())).value
    return {
        (fields[name].value if name in fields else first): message
        for name, message in exc.errors.items()
    } or {first: str(exc) or "Please check this value."}


def user_settings_from(view: Mapping[str, Any]) -> UserDigestSettings:
    sensitivity = _selected(
        _input(view, BlockId.SETTINGS_SENSITIVITY, ActionId.SETTINGS_SENSITIVITY)
    )
    return UserDigestSettings.parse(
        sensitivity=None if sensitivity in (None, ORG_DEFAULT) else sensitivity,
        opt_out=_checked(
            _input(view, BlockId.SETTINGS_OPT_OUT, ActionId.SETTINGS_OPT_OUT), "opt_out"
        ),
        send_at=_input(view, BlockId.SETTINGS_SEND_AT, ActionId.SETTINGS_SEND_AT).get(
            "selected_time"
        ),
    )


def org_settings_from(view: Mapping[str, Any]) -> OrgDigestSettings:
    return OrgDigestSettings.parse(
        enabled=_checked(
            _input(view, BlockId.ORG_SETTINGS_ENABLED, ActionId.ORG_SETTINGS_ENABLED), "enabled"
        ),
        sensitivity=_selected(
            _input(view, BlockId.SETTINGS_SENSITIVITY, ActionId.SETTINGS_SENSITIVITY)
        ),
        max_per_lane=_selected(
            _input(view, BlockId.ORG_SETTINGS_MAX_PER_LANE, ActionId.ORG_SETTINGS_MAX_PER_LANE)
        ),
        send_at=_input(view, BlockId.SETTINGS_SEND_AT, ActionId.SETTINGS_SEND_AT).get(
            "selected_time"
        ),
        automation_level=_selected(
            _input(view, BlockId.ORG_SETTINGS_AUTOMATION, ActionId.ORG_SETTINGS_AUTOMATION)
        ),
    )


def open_settings(deps: Deps, client: WebClient, body: Mapping[str, Any]) -> None:
    """The user's own settings modal (from the App Home or ``/followup settings``)."""
    caller = Caller.resolve(deps, client, slack_user_of(body), timezone=False)
    view = settings_modal(caller.user, caller.org)
    client.views_open(trigger_id=body["trigger_id"], view=view.to_dict())


def refresh_home(deps: Deps, client: WebClient, caller: Caller, filters: HomeFilters) -> None:
    """Refresh: the Home says it is refreshing, the caller's accounts are swept again
    (recording), and the Home is published from the fresh queue."""
    user_id = caller.user.id
    try:
        with refreshing(deps.engine, user_id):
            republish_home(deps, client, caller.slack_user_id, filters)
            refresh_queue(deps.engine, user_id, deps.clock())
    except AlreadyRefreshing:
        raise UserError(
            ":hourglass_flowing_sand: Your queue is being refreshed already — the Home updates "
            "when it is done."
        ) from None
    republish_home(deps, client, caller.slack_user_id, filters)


def register(app: App, deps: Deps) -> None:
    def filter_home(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        ack()

        def work() -> None:
            option = action.get("selected_option")
            value = option.get("value") if isinstance(option, dict) else None
            filters = HomeFilters.parse(value)
            slack_user_id = slack_user_of(body)
            if slack_user_id:
                republish_home(deps, client, slack_user_id, filters)

        after_ack(work, ack, body, client, respond, context)

    for action_id in FILTERS:  # one listener per action_id, one body for the three
        app.action(action_id, middleware=allow(deps, Permission.MEMBER))(filter_home)

    @app.action(ActionId.HOME_REFRESH, middleware=allow(deps, Permission.MEMBER))
    def home_refresh(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        ack()

        def work() -> None:
            filters = HomeFilters.parse(action.get("value"))
            refresh_home(deps, client, caller_of(deps, client, body, context), filters)

        after_ack(work, ack, body, client, respond, context)

    @app.action(ActionId.HOME_OPEN_SETTINGS, middleware=allow(deps, Permission.MEMBER))
    def home_open_settings(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext
    ) -> None:
        ack()

        def work() -> None:
            open_settings(deps, client, body)

        after_ack(work, ack, body, client, respond, context, opens_modal=True)

    @app.action(
        ActionId.HOME_OPEN_ORG_SETTINGS,
        middleware=allow(deps, Permission.ADMIN, what="edit the org's digest settings"),
    )
    def home_open_org_settings(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext
    ) -> None:
        ack()

        def work() -> None:
            caller = caller_of(deps, client, body, context, timezone=False)
            view = org_settings_modal(caller.user, caller.org)
            client.views_open(trigger_id=body["trigger_id"], view=view.to_dict())

        after_ack(work, ack, body, client, respond, context, opens_modal=True)

    @app.view_submission(CallbackId.SETTINGS_MODAL, middleware=allow(deps, Permission.MEMBER))
    def settings_submitted(
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        with reporting(ack, body, client, respond, context):
            try:
                settings = user_settings_from(view)
            except InvalidSettings as exc:
                ack(response_action="errors", errors=_view_errors(exc, USER_FIELDS))
                return
            ack()

            def work() -> None:
                meta = SettingsModalMeta.parse(view.get("private_metadata"))
                caller = caller_of(deps, client, body, context)
                if meta.scope != "user" or meta.user != caller.user.id:
                    raise NotAllowed(":lock: You can only change your own digest settings.")
                with deps.engine.begin() as conn:
                    save_user_digest(
                        conn, caller.user.id, settings, actor=caller.user.id, now=deps.clock()
                    )
                republish_home(deps, client, caller.slack_user_id)

            after_ack(work, ack, body, client, respond, context)

    @app.view_submission(
        CallbackId.ORG_SETTINGS_MODAL,
        middleware=allow(deps, Permission.ADMIN, what="change the org's digest settings"),
    )
    def org_settings_submitted(
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        with reporting(ack, body, client, respond, context):
            try:
                settings = org_settings_from(view)
            except InvalidSettings as exc:
                ack(response_action="errors", errors=_view_errors(exc, ORG_FIELDS))
                return
            ack()

            def work() -> None:
                caller = caller_of(deps, client, body, context)
                with deps.engine.begin() as conn:
                    save_org_digest(conn, settings, actor=caller.user.id, now=deps.clock())
                republish_home(deps, client, caller.slack_user_id)

            after_ack(work, ack, body, client, respond, context)
