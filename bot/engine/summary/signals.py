"""Words in activity text that signal expansion, outcomes or sentiment (the rules writer's
reading of activity notes)."""

from __future__ import annotations

import re

from bot.engine.summary.records import ActivityRow

EXPANSION: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.IGNORECASE), what)
    for p, what in (
        (
            r"\b(more|additional|extra|another \d+|\d+ more) (seats|licen[cs]es|users)\b",
            "more seats",
        ),
        (r"\badd-?ons?\b", "an add-on"),
        (r"\bupgrad(e|ing)\b", "an upgrade"),
        (
            r"\b(another|other|new|second) "
            r"(team|department|region|site|business unit|division)s?\b",
            "a rollout to another team",
        ),
        (r"\broll(ing)? (it )?out to\b", "a wider rollout"),
        (r"\b(expand|expansion|expanding)\b", "an expansion"),
        (r"\binterested in\b", "a new product or service"),
        (r"\b(pricing|quote) for\b", "a new purchase"),
    )
)
OUTCOME = re.compile(
    r"\b(went live|go-?live|launched|saved|savings|reduced|cut (?:the )?\w+|faster|"
    r"retired|automated|improved)\b",
    re.IGNORECASE,
)
POSITIVE = re.compile(
    r"\b(thanks|thank you|great|happy|love|excellent|appreciate|impressed|helpful|nice)\b",
    re.IGNORECASE,
)
NEGATIVE = re.compile(
    r"\b(frustrat\w*|disappoint\w*|concern\w*|unhappy|escalat\w*|cancel\w*|churn\w*|"
    r"not working|still broken|unacceptable|complain\w*|worried|delay\w*)\b",
    re.IGNORECASE,
)


def expansion_signal(a: ActivityRow) -> tuple[str, re.Pattern[str]] | None:
    """``(what it suggests, the pattern that matched)`` for an activity in which the customer
    (or a note about them) signals expansion; our own outbound emails are not signals."""
    if a.kind == "email" and a.direction == "outbound":
        return None
    text = a.words
    for pattern, what in EXPANSION:
        if pattern.search(text):
            return what, pattern
    return None


def excerpt(a: ActivityRow, pattern: re.Pattern[str] | None = None, width: int = 140) -> str:
    """The part of the activity's text around the first match (or its start)."""
    text = a.text or a.subject or ""
    start = 0
    if pattern is not None:
        found = pattern.search(text)
        if found:
            start = max(0, found.start() - width // 3)
    piece = text[start : start + width].strip()
    return ("…" if start else "") + piece + ("…" if start + width < len(text) else "")
