"""What executing a recommended action means, without the database or Slack: its idempotency
key, the tasks and sequences it creates, who takes over an account, the check-in email draft,
and the event the webhook reports. :mod:`bot.service.actions` applies them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.engine.actions import Priority, Recommendation
from bot.engine.results import iso_z

# The named sequences an account joins.
SEQUENCES = {
    "add_to_onboarding_recovery": "onboarding_recovery",
    "add_to_low_adoption_nurture": "low_adoption_nurture",
}
SEQUENCE_LABELS = {
    "onboarding_recovery": "Onboarding recovery",
    "low_adoption_nurture": "Low-adoption nurture",
}
# Contacts a check-in email goes to, most fitting first (data-format.md contacts.role).
CONTACT_ROLES = ("champion", "decision_maker", "executive_sponsor", "user", "billing")


def run_key(account_id: str, action: str, evidence: str) -> str:
    """The idempotency key of one execution: the same account, action and evidence run once.
    The evidence (free length) is hashed."""
    digest = hashlib.sha256(evidence.encode()).hexdigest()[:20]
    return f"{account_id}:{action}:{digest}"


def evidence_parts(evidence: str) -> frozenset[str]:
    """The pieces of a recommendation's evidence (one per theme, signal or fact behind it)."""
    return frozenset(p for p in evidence.split("|") if p)


@dataclass(frozen=True, slots=True)
class TaskSpec:
    title: str
    due_in: timedelta
    priority: str  # tasks.priority: urgent | high | normal | low


def task_for(action: str, account_name: str, rec: Recommendation) -> TaskSpec | None:
    """The task an action creates (None: it creates none)."""
    priority = rec.priority.value
    if action == "schedule_checkpoint_7d":
        return TaskSpec(f"Checkpoint with {account_name}", timedelta(days=7), priority)
    if action == "create_support_task":
        return TaskSpec(
            f"Work through {account_name}'s open support issues", timedelta(days=2), priority
        )
    if action == "create_discount_request":
        return TaskSpec(
            f"Prepare the discount request for {account_name}",
            timedelta(days=3),
            Priority.HIGH.value if rec.priority.rank < Priority.HIGH.rank else priority,
        )
    return None


def lowest_load(
    candidates: Sequence[tuple[str, str]], loads: Mapping[str, int], *, leaving: str | None
) -> str | None:
    """Who takes an account over: of ``candidates`` (user id, name), not ``leaving``, the one
    owning the fewest accounts; ties go by name, then id."""
    pool = [(loads.get(uid, 0), name.lower(), uid) for uid, name in candidates if uid != leaving]
    return min(pool)[2] if pool else None


@dataclass(frozen=True, slots=True)
class Contact:
    name: str | None
    email: str | None
    role: str | None


def pick_contact(contacts: Sequence[Contact]) -> Contact | None:
    """The contact a check-in goes to: one with an email, by role (champion first)."""
    reachable = [c for c in contacts if c.email]

    def rank(c: Contact) -> int:
        return CONTACT_ROLES.index(c.role) if c.role in CONTACT_ROLES else len(CONTACT_ROLES)

    return min(reachable, key=rank) if reachable else None


@dataclass(frozen=True, slots=True)
class EmailDraft:
    to_name: str | None
    to_email: str | None
    subject: str
    body: str

    def to_json(self) -> dict[str, Any]:
        return {
            "to": {"name": self.to_name, "email": self.to_email},
            "subject": self.subject,
            "body": self.body,
        }


def checkin_draft(
    account_name: str, contact: Contact | None, csm_name: str | None, themes: Sequence[str]
) -> EmailDraft:
    """A short, plain check-in email for the CSM to send (the deterministic writer)."""
    first = (contact.name or "").split(" ")[0] if contact and contact.name else ""
    greeting = f"Hi {first}," if first else "Hi,"
    if "renewal_risk" in themes:
        ask = (
            "With your renewal coming up, I'd like to make sure the rollout is delivering "
            "what you need and hear what we should improve before then."
        )
    elif "onboarding_friction" in themes or "low_adoption" in themes:
        ask = (
            "I'd like to check how the rollout is going for your team and help with anything "
            "that is slowing it down."
        )
    elif "support_burden" in themes:
        ask = (
            "I've seen a few open support issues on your side and want to make sure each has "
            "an owner and a date."
        )
    else:
        ask = "I wanted to check in and hear how things are going on your side."
    sign = f"\n\nBest,\n{csm_name}" if csm_name else "\n\nBest,"
    body = (
        f"{greeting}\n\n{ask}\n\nWould you have 20 minutes this week or next for a quick call?"
        f"{sign}"
    )
    return EmailDraft(
        contact.name if contact else None,
        contact.email if contact else None,
        f"Checking in — {account_name}",
        body,
    )


def webhook_event(
    key: str,
    rec: Recommendation,
    account_name: str,
    *,
    executed_at: datetime,
    approved_by: str | None,
    result: Mapping[str, Any],
) -> dict[str, Any]:
    """The JSON the webhook reports for one executed action."""
    return {
        "id": key,
        "type": "action.executed",
        "action": rec.action.id,
        "kind": rec.action.kind,
        "account": {"id": rec.account, "name": account_name},
        "owner": rec.owner,
        "priority": rec.priority.value,
        "rationale": rec.rationale,
        "automatic": approved_by is None,
        "approved_by": approved_by,
        "executed_at": iso_z(executed_at),
        "result": dict(result),
    }
