"""Readable terminal output of sweeps and digests (rich)."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import (
    Console,
    ConsoleOptions,
    ConsoleRenderable,
    Group,
    RenderHook,
    RenderResult,
)
from rich.measure import Measurement
from rich.padding import Padding
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from bot.engine.digest import Digest
from bot.engine.results import Card, Suppression
from bot.engine.rules import LANE_ORDER, Lane
from bot.engine.textfmt import plural

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "dim"}
LANE_STYLE = {Lane.OWE: "bold red", Lane.NEWS: "bold cyan", Lane.STAY: "bold green"}


def make_console(*, stderr: bool = False) -> Console:
    """The CLI's stdout (or stderr) console.

    In a terminal, rich wraps text and fits tables to the terminal's width. Anywhere else (a
    pipe, a file) a line of text is never broken, so one message stays one line for grep and
    scripts, and a table is printed at its natural width instead of being squeezed into 80
    columns; cards and rules keep rich's width (80 columns).
    """
    console = Console(stderr=stderr, highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console.soft_wrap = True
        console.push_render_hook(_NaturalTables())
    return console


class _NaturalTables(RenderHook):
    def process_renderables(self, renderables: list[ConsoleRenderable]) -> list[ConsoleRenderable]:
        return [_NaturalWidth(r) if isinstance(r, Table) else r for r in renderables]


class _NaturalWidth:
    """A table as wide as its cells need, whatever the console's width (soft wrap keeps a
    longer title on one line)."""

    UNBOUNDED = 1_000_000

    def __init__(self, table: Table) -> None:
        self.table = table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        wide = options.update_width(self.UNBOUNDED)
        width = Measurement.get(console, wide, self.table).maximum
        yield from console.render(self.table, options.update_width(width))


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
            console.print(card_renderable(card, i), soft_wrap=False)  # a box wraps its lines
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
