"""Card text: the conversation hook, the why-flagged summary, the next step and the
"They're waiting on you" list.

``CardWriter`` is the seam: the deterministic ``RulesWriter`` below is always available, and an
AI writer (a later capability) implements the same protocol and falls back to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from bot.engine.results import Reason
from bot.engine.rules import Lane, Severity
from bot.engine.textfmt import ago, plural, quote


@dataclass(frozen=True, slots=True)
class CardDraft:
    """What a writer gets: the account's reasons (most severe first) and a few facts."""

    account_name: str
    lane: Lane
    reasons: list[Reason]
    now: datetime
    renewal_date: date | None
    upcoming_meeting: bool
    last_touch_days: int | None


@dataclass(frozen=True, slots=True)
class CardText:
    hook: str | None
    summary: str
    next_step: str
    waiting_on_you: list[str]


class CardWriter(Protocol):
    def write(self, draft: CardDraft) -> CardText: ...


_NEXT_STEP = {
    "unreplied_customer_email": "Reply to {contact} on {subject} today",
    "no_first_response": "Send a welcome email and book a kickoff call",
    "overdue_task": "Finish {title} or re-date it with the customer",
    "call_retry_due": "Call again, or send a short email to set a time",
    "stale_high_impact_request": "Get a status on {title} from product and update the customer",
    "unowned_action_item": "Assign an owner to the open action items from {meeting}",
    "health_drop": "Find out what changed: review usage and open issues, then call your champion",
    "request_shipped": "Tell them {title} is live and offer a quick walkthrough",
    "request_discussed": "Share where {title} stands after the internal discussion",
    "no_recent_touch": "Send a personal check-in with one useful insight",
    "never_touched": "Introduce yourself and book a first call",
    "stale_meeting_cadence": "Book a check-in meeting",
    "missing_next_step": "Write up the next step from {meeting} and send it",
    "no_next_action": "Schedule the next touch: a task or a meeting",
    "low_pulse": "Plan a save: align with your manager on a recovery call",
    "pulse_divergence": "Gut-check the account: re-rate your CSM Pulse after a quick review",
}

_WAITING = {
    "unreplied_customer_email": "Reply to {subject} ({waiting})",
    "overdue_task": "{title} (overdue {overdue})",
    "stale_high_impact_request": "An update on {title}",
    "unowned_action_item": "An owner for {n_items} from {meeting}",
    "no_first_response": "A first response (account created {age} ago)",
    "call_retry_due": "A call back",
}


class _Slots(dict[str, str]):
    """Template values computed only when a template names them."""

    def __init__(self, reason: Reason, now: datetime):
        super().__init__()
        self.reason, self.now = reason, now

    def __missing__(self, key: str) -> str:
        f = self.reason.facts
        if key in ("subject", "title", "meeting"):
            default = {"subject": "their email", "title": "the request", "meeting": "the meeting"}
            return quote(str(f.get(key, default[key])))
        if key == "n_items":
            return plural(len(f.get("items", [])) or 1, "action item")
        if key == "age":
            if "age" in f:
                return str(f["age"])
            return ago(self.reason.since, self.now) if self.reason.since else "a while"
        if key == "contact":
            return str(f.get("contact", "the customer"))
        return str(f.get(key, ""))


def _fill(template: str, reason: Reason, now: datetime) -> str:
    return template.format_map(_Slots(reason, now))


class RulesWriter:
    """The deterministic writer: the same input always gives the same words."""

    def write(self, draft: CardDraft) -> CardText:
        reasons = draft.reasons
        return CardText(
            hook=self._hook(draft),
            summary=self._summary(draft),
            next_step=_fill(_NEXT_STEP[reasons[0].signal], reasons[0], draft.now),
            waiting_on_you=[
                _fill(_WAITING[r.signal], r, draft.now)
                for r in reasons
                if draft.lane is Lane.OWE and r.signal in _WAITING
            ],
        )

    def _hook(self, draft: CardDraft) -> str | None:
        by_signal = {r.signal: r for r in reversed(draft.reasons)}
        if "request_shipped" in by_signal:
            title = by_signal["request_shipped"].facts.get("title", "their request")
            return f"We shipped {title} — let them know"
        if "request_discussed" in by_signal:
            title = by_signal["request_discussed"].facts.get("title", "their request")
            return f"We've been talking about {title} — share where it stands"
        if "unreplied_customer_email" in by_signal:
            r = by_signal["unreplied_customer_email"]
            return (
                f"{r.facts.get('contact', 'They')} is waiting on {quote(str(r.facts['subject']))}"
            )
        if "health_drop" in by_signal:
            return "Their health score just dropped — ask what changed"
        if draft.upcoming_meeting:
            return "You meet them this week — come with a plan"
        if draft.renewal_date is not None:
            days = (draft.renewal_date - draft.now.date()).days
            if 0 <= days <= 60:
                return f"Renewal in {plural(days, 'day')} — make this touch count"
        return None

    def _summary(self, draft: CardDraft) -> str:
        top = draft.reasons[0]
        rest = len(draft.reasons) - 1
        text = top.detail.rstrip(".") + "."
        if rest:
            critical = sum(1 for r in draft.reasons[1:] if r.severity is Severity.CRITICAL)
            extra = f" Plus {plural(rest, 'more reason')}"
            text += extra + (f", {critical} critical." if critical else ".")
        if draft.last_touch_days is not None and top.group.value != "coverage_debt":
            text += f" Last touch {plural(draft.last_touch_days, 'day')} ago."
        return text
