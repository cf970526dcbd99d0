"""Payload dumps: every Slack payload the bot sends, as JSON files (``followup-bot demo``).

File convention (slack-check's README): a view has ``"type": "modal"|"home"``; a message is
``{"channel", "text", "blocks"}`` (the chat.postMessage arguments).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select

from bot.blocks.action_messages import (
    checkin_draft_message,
    checkin_sent_message,
    notify_owner_message,
    reassigned_message,
    specialist_message,
)
from bot.blocks.approvals import (
    Approval,
    Person,
    approval_decided_message,
    approval_reminder_message,
    approval_request_message,
    reject_modal,
)
from bot.blocks.digest import digest_messages
from bot.blocks.messages import (
    EscalationStatus,
    account_moved_message,
    escalation_message,
    escalation_reminder_message,
    nudge_message,
    receipt_message,
    summary_picker_message,
    wakeup_message,
)
from bot.blocks.opportunities import opportunity_modal
from bot.blocks.prep import prep_message
from bot.blocks.style import local
from bot.blocks.summary import (
    account_summary_message,
    saved_list_message,
    summary_placeholder,
    summary_sections_modal,
)
from bot.blocks.values import CardRef, EscalationRef, OpportunityDraft
from bot.blocks.views import (
    dismiss_modal,
    home_view,
    org_settings_modal,
    reassign_modal,
    settings_modal,
    snooze_modal,
)
from bot.db.models import Contact
from bot.engine.alerts import AlertState
from bot.engine.digest import Digest, day_list, owns_card
from bot.engine.execution import Contact as DraftContact
from bot.engine.execution import checkin_draft, pick_contact
from bot.engine.facts import OrgFacts, UserFacts
from bot.engine.overview import snoozed_alerts
from bot.engine.prep import build_brief
from bot.engine.queue import AlertView
from bot.engine.results import Card
from bot.engine.rules import Severity
from bot.engine.summary.saved import SavedRef
from bot.engine.summary.visibility import hidden_sections
from bot.engine.sweep import SweepResult
from bot.engine.triage import SnoozeChoice, snooze_until
from bot.summarize import summarize


def user_queue(result: SweepResult, user: UserFacts, org: OrgFacts) -> list[Card]:
    """Every card of ``user`` in a sweep (the App Home queue: no sensitivity, no cap)."""
    return [c for c in result.cards if owns_card(user, c, org)]


def after_done(digest: Digest, now: datetime) -> Digest:
    """``digest``'s day list once its reader marked its first card done (at ``now``)."""
    cards = digest.cards()
    done = {
        alert_id: AlertView(alert_id, AlertState.DONE, None, digest.user.id, now)
        for alert_id in cards[0].alert_ids.values()
    }
    return day_list(digest.user, digest.result, digest.sensitivity, cards, digest.more, done, now)


def _escalation_card(cards: Sequence[Card]) -> Card | None:
    for card in cards:
        if card.escalate:
            return card
    for card in cards:
        if card.severity is Severity.CRITICAL:
            return card
    return cards[0] if cards else None


def demo_payloads(
    engine: Engine,
    result: SweepResult,
    org: OrgFacts,
    users: Mapping[str, UserFacts],
    digests: Sequence[Digest],
) -> dict[str, dict[str, Any]]:
    """File name → payload, for every kind of payload the bot sends."""
    now = result.as_of
    names = {u.id: u.name for u in users.values()}
    out: dict[str, dict[str, Any]] = {}

    for digest in digests:
        for n, msg in enumerate(digest_messages(digest, names=names), 1):
            suffix = "" if n == 1 else f"-{n}"
            out[f"dm-{digest.user.id}{suffix}.json"] = msg.to_dict()
    clicked = next((d for d in digests if d.total), None)
    if clicked is not None:
        after = after_done(clicked, now)
        out[f"dm-{clicked.user.id}-after-done.json"] = digest_messages(
            after, names=names, max_messages=1, now=now
        )[0].to_dict()

    queues = {d.user.id: user_queue(result, d.user, org) for d in digests}
    csm = max(digests, key=lambda d: len(queues[d.user.id])).user if digests else None
    admin = next((u for u in users.values() if u.role == "admin" and u.active), None)
    with engine.connect() as conn:
        for reader in (csm, admin):
            if reader is None:
                continue
            view = home_view(
                reader,
                org,
                queues.get(reader.id) or user_queue(result, reader, org),
                now=now,
                as_of=now,
                snoozed=snoozed_alerts(conn, reader.id, now),
                names=names,
            )
            out[f"home-{reader.id}.json"] = view.to_dict()

        top = result.cards[0] if result.cards else None
        if top is not None:
            owner = users.get(top.csm or "") or csm
            tz = owner.timezone if owner else org.timezone
            ref = CardRef.for_card(top)
            today = local(now, tz).date()
            out["modal-snooze.json"] = snooze_modal(ref, top.account_name, today=today).to_dict()
            out["modal-dismiss.json"] = dismiss_modal(
                ref, top.account_name, [r.detail for r in top.reasons]
            ).to_dict()
            until = snooze_until(SnoozeChoice.TOMORROW, now, tz, org.business_hours)
            out["receipt-snooze.json"] = receipt_message(
                top.account_name, "snooze", ref, until=until, tz=tz, now=now
            ).to_dict()
            summary = summarize(engine, top.account, now)
            channel = owner.slack_user_id if owner else None
            out[f"summary-{top.account}.json"] = account_summary_message(
                summary, tz=tz, channel=channel
            ).to_dict()
            out[f"summary-{top.account}-shared.json"] = account_summary_message(
                summary, tz=tz, channel=channel, shared_by=owner.name if owner else "Someone"
            ).to_dict()
            # What a saved version looks like (listed, then opened); the demo stores none.
            example = SavedRef(1, top.account, 1, now, owner.id if owner else None, "rules", {})
            names = {u.id: u.name for u in users.values()}
            out["summary-saved-list.json"] = saved_list_message(
                top.account, top.account_name, [example], names=names, tz=tz
            ).to_dict()
            out[f"summary-saved-{top.account}.json"] = account_summary_message(
                summary, tz=tz, channel=channel, saved=example, saved_by="you"
            ).to_dict()
            out["summary-placeholder.json"] = summary_placeholder(
                top.account_name, channel=channel
            ).to_dict()
            brief = build_brief(engine, top.account, now)
            out[f"prep-{top.account}.json"] = prep_message(brief, tz=tz, channel=channel).to_dict()
            out[f"prep-reminder-{top.account}.json"] = prep_message(
                brief, tz=tz, channel=channel, reminder=True
            ).to_dict()
        if csm is not None:
            out["modal-settings.json"] = settings_modal(csm, org).to_dict()
            picker = [(c.account, c.account_name) for c in queues.get(csm.id, [])]
            out["summary-picker.json"] = summary_picker_message(picker).to_dict()
        if admin is not None:
            out["modal-org-settings.json"] = org_settings_modal(admin, org).to_dict()
            if top is not None:
                out["modal-opportunity.json"] = opportunity_modal(
                    OpportunityDraft(account=top.account, title="Roll it out to another team"),
                    top.account_name,
                ).to_dict()
            out["modal-summary-sections.json"] = summary_sections_modal(
                admin.id, hidden_sections(conn)
            ).to_dict()
        if top is not None:
            out.update(_action_payloads(conn, top, users, org, now))

    esc_card = _escalation_card(result.cards)
    if esc_card is not None:
        owner = users.get(esc_card.csm or "")
        manager = users.get(owner.manager_id or "") if owner else None
        manager = manager or admin
        if manager is not None:
            out[f"escalation-{esc_card.account}.json"] = escalation_message(
                esc_card,
                owner.name if owner else "Unassigned",
                manager,
                channel=org.escalation_channel,
                now=now,
            ).to_dict()
            out.update(_escalation_payloads(esc_card, owner, manager, users, org, now))
    if csm is not None:
        woken = [c.account_name for c in queues.get(csm.id, [])][:3] or ["Globex"]
        out["wakeup-dm.json"] = wakeup_message(woken, len(woken)).to_dict() | {
            "channel": csm.slack_user_id or csm.id
        }
    return out


def _escalation_payloads(
    card: Card,
    owner: UserFacts | None,
    manager: UserFacts,
    users: Mapping[str, UserFacts],
    org: OrgFacts,
    now: datetime,
) -> dict[str, dict[str, Any]]:
    """A stored escalation's messages (escalation 1): with its buttons, once acknowledged,
    its reminder in the thread, the reassign picker, the nudge and the reassignment DMs."""
    ref = EscalationRef(escalation=1)
    csm_name = owner.name if owner else "No CSM"
    manager_dm = manager.slack_user_id or manager.id

    def escalation(status: EscalationStatus | None) -> dict[str, Any]:
        return escalation_message(
            card,
            csm_name,
            manager,
            channel=org.escalation_channel,
            now=now,
            ref=ref,
            status=status,
            has_csm=owner is not None,
        ).to_dict()

    out = {
        "escalation-with-buttons.json": escalation(None),
        "escalation-acknowledged.json": escalation(
            EscalationStatus(acknowledged_by=manager.name, acknowledged_at=now)
        ),
        "escalation-reminder.json": escalation_reminder_message(
            card.account_name, csm_name, manager, 8
        ).to_dict()
        | {"channel": org.escalation_channel or manager_dm},
    }
    team = owner.team_id if owner else None
    choices = sorted(
        (u.id, u.name)
        for u in users.values()
        if u.role == "csm" and u.active and (team is None or u.team_id == team)
    )
    out["modal-escalation-reassign.json"] = reassign_modal(
        ref, card.account_name, choices, owner.id if owner else None
    ).to_dict()
    if owner is not None:
        dm = owner.slack_user_id or owner.id
        detail = card.reasons[0].detail if card.reasons else None
        out["escalation-nudge-dm.json"] = nudge_message(
            card.account_name, manager.name, detail
        ).to_dict() | {"channel": dm}
        other = next((name for uid, name in choices if uid != owner.id), "another CSM")
        out["escalation-moved-dm.json"] = account_moved_message(
            card.account_name, to_name=other, from_name=owner.name, by=manager.name, to_you=False
        ).to_dict() | {"channel": dm}
    return out


def _action_payloads(
    conn: Connection,
    card: Card,
    users: Mapping[str, UserFacts],
    org: OrgFacts,
    now: datetime,
) -> dict[str, dict[str, Any]]:
    """The messages executed actions send, for the top card's account (action run 1)."""
    owner = users.get(card.csm or "")
    dm = owner.slack_user_id if owner else None
    why = [f"{r.signal.replace('_', ' ')}: {r.detail}" for r in card.reasons]
    priority = "high"
    contacts = [
        DraftContact(name, email, role)
        for name, email, role in conn.execute(
            select(Contact.name, Contact.email, Contact.role)
            .where(Contact.account_id == card.account)
            .order_by(Contact.id)
        )
    ]
    owner_name = owner.name if owner else None
    draft = checkin_draft(card.account_name, pick_contact(contacts), owner_name, [])
    other = next((u for u in users.values() if u.active and u.role == "csm" and u != owner), None)
    new_name = other.name if other else "Another CSM"
    out = {
        f"action-notify-{card.account}.json": notify_owner_message(
            1, card.account_name, priority, why
        ),
        f"action-checkin-{card.account}.json": checkin_draft_message(
            2, card.account_name, draft, why, approved_by="Mia Manager"
        ),
        f"action-checkin-sent-{card.account}.json": checkin_sent_message(
            2, card.account_name, draft, owner_name or "the CSM", now
        ),
        f"action-specialist-{card.account}.json": specialist_message(
            3, card.account_name, owner_name, priority, why
        ),
        f"action-reassigned-{card.account}.json": reassigned_message(
            4,
            card.account_name,
            to_new_owner=True,
            previous=owner_name,
            new=new_name,
            rationale=why,
            approved_by="Mia Manager",
        ),
    }
    for name, message in out.items():
        message.channel = org.specialists_channel if name.startswith("action-spec") else dm
    payloads = {name: message.to_dict() for name, message in out.items()}
    payloads.update(_approval_payloads(card, owner, users, org, now, why))
    return payloads


def _approval_payloads(
    card: Card,
    owner: UserFacts | None,
    users: Mapping[str, UserFacts],
    org: OrgFacts,
    now: datetime,
    why: Sequence[str],
) -> dict[str, dict[str, Any]]:
    """An approval request in the approvals channel (action run 5): posted, reminded, approved,
    rejected, and the reject modal."""
    manager = users.get(owner.manager_id or "") if owner else None
    channel = org.approvals_channel or "C0APPROVALS"
    pending = Approval(
        run=5,
        account_id=card.account,
        account_name=card.account_name,
        action="create_discount_request",
        priority="high",
        rationale="; ".join(why),
        owner=Person(owner.name, owner.slack_user_id) if owner else None,
        manager=Person(manager.name, manager.slack_user_id) if manager else None,
        status="pending_approval",
        created_at=now,
    )
    decider = manager.name if manager else "An Admin"
    approved = replace(pending, status="executed", decided_by=decider, decided_at=now)
    rejected = replace(
        pending,
        status="rejected",
        decided_by=decider,
        decided_at=now,
        reason="A discount was agreed on the last call already.",
    )
    return {
        f"approval-{card.account}.json": approval_request_message(
            pending, channel=channel
        ).to_dict(),
        f"approval-reminder-{card.account}.json": approval_reminder_message(
            pending, channel=channel
        ).to_dict(),
        f"approval-approved-{card.account}.json": approval_decided_message(
            approved, channel=channel
        ).to_dict(),
        f"approval-rejected-{card.account}.json": approval_decided_message(
            rejected, channel=channel
        ).to_dict(),
        "modal-reject-approval.json": reject_modal(pending).to_dict(),
    }


def write_payloads(payloads: Mapping[str, Any], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, payload in payloads.items():
        path = out_dir / name
        path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


def write_demo_payloads(
    engine: Engine,
    result: SweepResult,
    org: OrgFacts,
    users: Mapping[str, UserFacts],
    digests: Sequence[Digest],
    out_dir: Path,
) -> list[Path]:
    return write_payloads(demo_payloads(engine, result, org, users, digests), out_dir)


def payload_kind(payload: Mapping[str, Any]) -> str:
    """``modal`` / ``home`` for views, ``message`` otherwise (slack-check's convention)."""
    kind = payload.get("type")
    return str(kind) if kind in ("modal", "home") else "message"


__all__ = [
    "demo_payloads",
    "payload_kind",
    "user_queue",
    "write_demo_payloads",
    "write_payloads",
]
