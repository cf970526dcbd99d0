"""An approval request's buttons in the approvals channel: Approve, Reject (→ a modal asking
why) and that modal's submission.

Only the manager of the account's CSM or an admin may decide (``Permission.APPROVER``, checked
against the database before the listener runs); anyone else is told why. The decision is one
conditional update (:func:`bot.service.approvals.decide`): whoever clicked second is told who
decided. The channel message is then rendered again from the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.blocks.approvals import REJECT_REASON_MAX, decision_text, reject_modal
from bot.blocks.values import ApprovalModalMeta, ApprovalRef
from bot.handlers import Deps
from bot.handlers.access import Permission, allow, caller_of
from bot.handlers.errors import OPENED_VIEW, UnknownApproval, reporting
from bot.handlers.refresh import Origin
from bot.handlers.replies import Replier, action_value, modal_metadata
from bot.handlers.work import after_ack
from bot.ids import ActionId, BlockId, CallbackId
from bot.service.approvals import Decision, Verdict, decide, load_approval, rerender
from bot.service.webhook import webhook_from

NO_REASON = "Say why it is rejected — the CSM and the audit log will see it."


def _button_run(body: Mapping[str, Any]) -> int:
    return ApprovalRef.parse(action_value(body)).run


def _modal_run(body: Mapping[str, Any]) -> int:
    return ApprovalModalMeta.parse(modal_metadata(body)).run


def _reason(view: Mapping[str, Any]) -> str:
    values = view.get("state", {}).get("values", {})
    found = values.get(BlockId.APPROVAL_REJECT_REASON, {}).get(ActionId.APPROVAL_REJECT_REASON, {})
    raw = found.get("value") if isinstance(found, Mapping) else None
    return str(raw or "").strip()[:REJECT_REASON_MAX]


def _answer(
    deps: Deps,
    client: WebClient,
    replier: Replier,
    decision: Decision,
    clicked: tuple[str, str] | None,
) -> None:
    """Re-render the channel message; tell a caller who came second who decided."""
    rerender(deps.engine, client, decision.approval.run, fallback=clicked)
    if not decision.won:
        replier.say(
            f":information_source: Already decided — {decision_text(decision.approval)}. "
            "Nothing more was done."
        )


def _decide(
    deps: Deps,
    client: WebClient,
    body: Mapping[str, Any],
    context: Any,
    replier: Replier,
    run_id: int,
    verdict: Verdict,
    clicked: tuple[str, str] | None,
    reason: str | None = None,
) -> None:
    caller = caller_of(deps, client, body, context, timezone=False)
    decision = decide(
        deps.engine,
        run_id,
        caller.user.id,
        verdict,
        deps.clock(),
        reason=reason,
        webhook=webhook_from(deps.settings),
        clock=deps.clock,
    )
    _answer(deps, client, replier, decision, clicked)


def register(app: App, deps: Deps) -> None:
    approver = allow(deps, Permission.APPROVER, run_of=_button_run)

    @app.action(ActionId.APPROVAL_APPROVE, middleware=approver)
    def approval_approve(
        ack: Ack,
        body: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        ack()

        def work() -> None:
            replier = Replier.for_body(client, body, respond)
            clicked = Origin.of(body).message
            _decide(deps, client, body, context, replier, _button_run(body), "approved", clicked)

        after_ack(work, ack, body, client, respond, context)

    @app.action(ActionId.APPROVAL_REJECT, middleware=approver)
    def approval_reject(
        ack: Ack,
        body: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        ack()

        def work() -> None:
            run_id = _button_run(body)
            clicked = Origin.of(body).message
            with deps.engine.connect() as conn:
                approval = load_approval(conn, run_id)
            if approval is None:
                raise UnknownApproval(run_id)
            if approval.decided:  # a stale message: say so, and bring it up to date
                _answer(
                    deps,
                    client,
                    Replier.for_body(client, body, respond),
                    Decision(False, approval),
                    clicked,
                )
                return
            channel, ts = clicked or (None, None)
            view = reject_modal(approval, channel=channel, ts=ts)
            opened = client.views_open(trigger_id=body["trigger_id"], view=view.to_dict())
            shown = opened.get("view")
            if isinstance(shown, Mapping):
                context[OPENED_VIEW] = (shown.get("id"), shown.get("hash"))

        after_ack(work, ack, body, client, respond, context, opens_modal=True)

    @app.view_submission(
        CallbackId.APPROVAL_REJECT_MODAL,
        middleware=allow(deps, Permission.APPROVER, run_of=_modal_run),
    )
    def approval_rejected(
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        with reporting(ack, body, client, respond, context):
            meta = ApprovalModalMeta.parse(view.get("private_metadata"))
            reason = _reason(view)
            if not reason:
                ack(response_action="errors", errors={BlockId.APPROVAL_REJECT_REASON: NO_REASON})
                return
            ack()

            def work() -> None:
                replier = Replier.for_body(client, body, channel=meta.channel)
                clicked = (meta.channel, meta.ts) if meta.channel and meta.ts else None
                _decide(deps, client, body, context, replier, meta.run, "rejected", clicked, reason)

            after_ack(work, ack, body, client, respond, context)
