"""How things look: emoji markers, badges, money, ages and dates (all mrkdwn-safe)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.engine.rules import SIGNALS, Group, Lane, Severity

SEVERITY_EMOJI = {
    Severity.CRITICAL: ":red_circle:",
    Severity.HIGH: ":large_orange_circle:",
    Severity.MEDIUM: ":large_yellow_circle:",
    Severity.LOW: ":white_circle:",
}
SEVERITY_LABEL = {
    Severity.CRITICAL: "Critical",
    Severity.HIGH: "High",
    Severity.MEDIUM: "Medium",
    Severity.LOW: "Low",
}
LANE_EMOJI = {Lane.OWE: ":inbox_tray:", Lane.NEWS: ":mega:", Lane.STAY: ":handshake:"}
LANE_TAGLINE = {
    Lane.OWE: "They're waiting on you — handle these today",
    Lane.NEWS: "Something moved for them — close the loop",
    Lane.STAY: "Quiet or strategic — a proactive touch keeps them close",
}
LANE_SHORT = {Lane.OWE: "owe them something", Lane.NEWS: "news to share", Lane.STAY: "stay close"}
GROUP_EMOJI = {
    Group.DIRECT_ACTION: ":dart:",
    Group.CONDUIT: ":satellite_antenna:",
    Group.RISK_TREND: ":chart_with_downwards_trend:",
    Group.COVERAGE_DEBT: ":hourglass_flowing_sand:",
}
GROUP_ORDER = (Group.DIRECT_ACTION, Group.CONDUIT, Group.RISK_TREND, Group.COVERAGE_DEBT)
SEGMENT_LABEL = {"smb": "SMB", "mid_market": "Mid-market", "enterprise": "Enterprise"}
TIER_LABEL = {
    "healthy": "healthy",
    "needs_attention": "needs attention",
    "at_risk": "at risk",
    "critical": "critical",
}
SENSITIVITY_LABEL = {
    "important": "Important only",
    "standard": "Standard",
    "comprehensive": "Comprehensive",
}
SENSITIVITY_HINT = {
    "important": "critical and high only",
    "standard": "medium and up",
    "comprehensive": "everything",
}


def signal_title(signal: str) -> str:
    spec = SIGNALS.get(signal)
    return spec.title if spec else signal.replace("_", " ").capitalize()


def money(value: float | None) -> str:
    if value is None:
        return "MRR —"
    if value >= 100_000:
        return f"${value / 1000:,.0f}k/mo"
    return f"${value:,.0f}/mo"


def segment_badge(segment: str | None) -> str:
    label = SEGMENT_LABEL.get(segment or "", (segment or "").replace("_", " ").title())
    return f"`{label}`" if label else ""


def score(value: float) -> str:
    return f"{value:.0f}"


def signed(value: float) -> str:
    arrow = "▲" if value > 0 else "▼"
    return f"{arrow}{abs(value):g}"


def health_detail(tier: str | None, delta: float | None) -> str:
    """``at risk ▼27``: the health tier and its change, as a card shows them after the score."""
    extra = [TIER_LABEL.get(tier or "", tier or "")]
    if delta:
        extra.append(signed(delta))
    return " ".join(e for e in extra if e)


def days_ago(days: int | None) -> str:
    if days is None:
        return "never touched"
    if days <= 0:
        return "touched today"
    if days == 1:
        return "last touch yesterday"
    return f"last touch {days}d ago"


def local(moment: datetime, tz_name: str) -> datetime:
    try:
        return moment.astimezone(ZoneInfo(tz_name))
    except (KeyError, ValueError):
        return moment


def day_label(day: date) -> str:
    """``Mon, Nov 16``."""
    return f"{day:%a}, {day:%b} {day.day}"


def when_label(moment: datetime, tz_name: str, now: datetime | None = None) -> str:
    """``Tue, Nov 17 at 09:00`` in the reader's zone (``today at``/``tomorrow at`` when near)."""
    here = local(moment, tz_name)
    clock = f"{here:%H:%M}"
    if now is not None:
        today = local(now, tz_name).date()
        if here.date() == today:
            return f"today at {clock}"
        if (here.date() - today).days == 1:
            return f"tomorrow at {clock}"
    return f"{day_label(here.date())} at {clock}"


def renewal_label(renewal: str | None, today: date | None, within_days: int = 90) -> str | None:
    """``renews in 45d`` when the renewal is near (within ``within_days``), else None."""
    if not renewal or today is None:
        return None
    try:
        day = date.fromisoformat(renewal)
    except ValueError:
        return None
    left = (day - today).days
    if left < 0 or left > within_days:
        return None
    return "renews today" if left == 0 else f"renews in {left}d"
