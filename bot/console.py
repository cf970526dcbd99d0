"""Readable terminal output of sweeps and digests (rich)."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console, Group
from rich.padding import Padding
from rich.panel import Panel
from rich.rule import Rule
from rich.text import Text

from bot.engine.digest import Digest
from bot.engine.results import Card, Suppression
from bot.engine.rules import LANE_ORDER, Lane
from bot.engine.textfmt import plural

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "dim"}
LANE_STYLE = {Lane.OWE: "bold red", Lane.NEWS: "bold cyan", Lane.STAY: "bold green"}


def money(value: float | None) -> str:
    return "—" if value is None else f"${value:,.0f}/mo"


def card_renderable(card: Card, index: int) -> Panel:
    title = Text.assemble(
        (f"{index}. ", "bold"),
        (card.account_name, "bold"),
        f"  {money(card.mrr)}",
        f"  {(card.segment or '—').replace('_', '-')}",
        ("  score ", "dim"),
        (f"{card.action_score:g}", "bold"),
    )
    lines: list[Text] = []
    if card.hook:
        lines.append(Text(f"💬 {card.hook}", style="italic"))
    lines.append(Text(card.summary))
    lines.append(Text.assemble(("Next step: ", "bold"), card.next_step))
    if card.waiting_on_you:
        lines.append(Text("They're waiting on you:", style="bold"))
        lines.extend(Text(f"  • {item}") for item in card.waiting_on_you)
    for r in card.reasons:
        lines.append(
            Text.assemble(
                ("  ● ", SEVERITY_STYLE[r.severity.value]),
                (f"{r.severity.value:<8}", SEVERITY_STYLE[r.severity.value]),
                (f" {r.group.value:<14}", "dim"),
                r.detail,
            )
        )
    p = card.pulse
    facts = [
        f"health {p.health:g} ({(p.health_tier or '').replace('_', ' ')})"
        if p.health is not None
        else "health —",
        f"Δ {p.health_delta:+g}" if p.health_delta is not None else None,
        f"CSM pulse {p.csm}" if p.csm is not None else None,
        f"AI pulse {p.ai}" if p.ai is not None else None,
        "⚠ pulses diverge" if p.divergent else None,
        f"last touch {card.last_touch_days}d ago"
        if card.last_touch_days is not None
        else "never touched",
        f"{plural(card.open_requests, 'open request')} ({card.high_impact_requests} high impact)"
        if card.open_requests
        else None,
        "📅 meeting this week" if card.upcoming_meeting else None,
        "⬆ escalate" if card.escalate else None,
    ]
    lines.append(Text(" · ".join(f for f in facts if f), style="dim"))
    return Panel(
        Group(*lines),
        title=title,
        title_align="left",
        border_style=SEVERITY_STYLE[card.severity.value],
    )


def print_lanes(
    console: Console, cards_by_lane: dict[Lane, list[Card]], more: dict[Lane, int] | None = None
) -> None:
    for lane in LANE_ORDER:
        cards = cards_by_lane.get(lane, [])
        extra = (more or {}).get(lane, 0)
        console.print(
            Rule(Text(f"{lane.label} ({len(cards) + extra})", style=LANE_STYLE[lane]), align="left")
        )
        if not cards:
            console.print(Padding(Text("Nothing here today.", style="dim"), (0, 2)))
        for i, card in enumerate(cards, 1):
            console.print(card_renderable(card, i))
        if extra:
            console.print(Padding(Text(f"+ {extra} more in the App Home", style="dim"), (0, 2)))


def print_digest(console: Console, digest: Digest) -> None:
    user = digest.user
    header = f"{user.name} ({user.id}) — {digest.total} cards, sensitivity {digest.sensitivity}"
    console.print(Rule(Text(header, style="bold"), characters="═"))
    if digest.skipped:
        why = (
            "opted out of the digest" if digest.skipped == "opt_out" else "the org's digest is off"
        )
        console.print(Text(f"No digest: {why}.", style="dim"))
        return
    print_lanes(console, digest.lanes, digest.more)


def print_suppressed(console: Console, suppressed: Iterable[Suppression]) -> None:
    items = list(suppressed)
    if not items:
        return
    console.print(Rule(Text(f"Already followed through ({len(items)})", style="dim"), align="left"))
    for s in items:
        console.print(Text(f"  {s.account}: {s.signal} {s.evidence} — {s.why}", style="dim"))
