"""Readable terminal output of sweeps and digests (rich)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from rich.console import (
    Console,
    ConsoleOptions,
    ConsoleRenderable,
    RenderHook,
    RenderResult,
)
from rich.measure import Measurement
from rich.padding import Padding
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from bot.blocks import style
from bot.engine.digest import Digest
from bot.engine.results import Card, Suppression
from bot.engine.rules import LANE_ORDER, Lane
from bot.engine.textfmt import plural, quote

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


# What a record's name is called once the card has named it ("Reply to that email today").
_SECOND_MENTION = {"subject": "that email", "meeting": "that meeting"}


def _second_mention(signal: str, key: str) -> str:
    if key == "title":
        return "that task" if signal == "overdue_task" else "that feature"
    return _SECOND_MENTION[key]


class _Mentions:
    """Names each record (an email's subject, a task's, request's or meeting's title) once per
    card: the first line that names it keeps the name, later lines say "that email" and the
    like instead."""

    def __init__(self, card: Card) -> None:
        self.names: list[tuple[re.Pattern[str], str]] = []
        seen: set[str] = set()
        for r in card.reasons:
            for key in ("subject", "title", "meeting"):
                value = r.facts.get(key)
                if not isinstance(value, str) or not value.strip() or value in seen:
                    continue
                seen.add(value)
                forms = sorted({quote(value), re.escape(" ".join(value.split()))}, key=len)
                pattern = "|".join(
                    re.escape(f) if f.startswith("'") else rf"(?<!\w){f}(?!\w)"
                    for f in reversed(forms)
                )
                self.names.append((re.compile(pattern), _second_mention(r.signal, key)))
        self.named: set[int] = set()

    def say(self, text: str) -> str:
        for i, (pattern, noun) in enumerate(self.names):
            if i in self.named:
                text = pattern.sub(noun, text)
            elif pattern.search(text):
                self.named.add(i)
                first = pattern.search(text)
                assert first is not None
                text = text[: first.end()] + pattern.sub(noun, text[first.end() :])
        return text[:1].upper() + text[1:] if text[:5] == "that " else text


def _facts(card: Card, today: date | None) -> str:
    """The facts under a card, in the words and roundings of its Slack card."""
    p = card.pulse
    if p.health is None:
        health = "Health —"
    else:
        detail = style.health_detail(p.health_tier, p.health_delta)
        health = f"Health {p.health:g}" + (f" ({detail})" if detail else "")
    pulse = (
        f"CSM Pulse {'—' if p.csm is None else p.csm} · AI Pulse {'—' if p.ai is None else p.ai}"
    )
    if p.divergent:
        pulse += " ⚠ CSM and AI pulse disagree"
    parts = [health, pulse, style.days_ago(card.last_touch_days)]
    if card.open_requests:
        high = f" ({card.high_impact_requests} high-impact)" if card.high_impact_requests else ""
        parts.append(f"{plural(card.open_requests, 'open request')}{high}")
    if card.upcoming_meeting:
        parts.append("meeting coming up")
    renewal = style.renewal_label(card.renewal_date, today)
    if renewal:
        parts.append(renewal)
    return " · ".join(parts)


def _is_restated(card: Card) -> bool:
    """Whether the summary only restates the top reason (the deterministic writer's): the
    card's reason lines say it already."""
    top = card.reasons[0].detail.rstrip(".") if card.reasons else ""
    return bool(top) and card.summary.startswith(top)


def card_renderable(card: Card, index: int, today: date | None = None) -> Panel:
    """One card: why (each reason with its severity), the conversation hook, the next step and
    what they are waiting on, then the facts — each line wrapped under its own text, each record
    named once, the score rounded and the renewal shown as on the Slack card."""
    title = Text.assemble(
        (f"{index}. ", "bold"),
        (card.account_name, "bold"),
        f"  {style.SEGMENT_LABEL.get(card.segment or '', (card.segment or '—').replace('_', ' '))}",
        f"  {style.money(card.mrr)}",
        ("  score ", "dim"),
        (style.score(card.action_score), "bold"),
    )
    if card.escalate:
        title.append("  🚨 escalating", style="bold red")
    say = _Mentions(card).say
    body = Table.grid(padding=(0, 1))
    body.add_column(no_wrap=True)
    body.add_column(ratio=1, overflow="fold")
    for r in card.reasons:
        sev = SEVERITY_STYLE[r.severity.value]
        body.add_row(Text(f"● {style.SEVERITY_LABEL[r.severity]}", style=sev), say(r.detail))
    if card.hook:
        body.add_row(Text("💬"), Text(say(card.hook), style="italic"))
    if card.summary and not _is_restated(card):
        body.add_row(Text(""), say(card.summary))
    body.add_row(Text("Next step", style="bold"), say(card.next_step))
    for i, item in enumerate(card.waiting_on_you):
        body.add_row(Text("Waiting" if i == 0 else "", style="bold"), f"• {say(item)}")
    body.add_row(Text(""), Text(_facts(card, today), style="dim"))
    return Panel(
        body,
        title=title,
        title_align="left",
        border_style=SEVERITY_STYLE[card.severity.value],
    )


def print_lanes(
    console: Console,
    cards_by_lane: dict[Lane, list[Card]],
    more: dict[Lane, int] | None = None,
    today: date | None = None,
) -> None:
    """Each lane's cards; ``today`` (the reader's date) dates the renewals, as in Slack."""
    for lane in LANE_ORDER:
        cards = cards_by_lane.get(lane, [])
        extra = (more or {}).get(lane, 0)
        console.print(
            Rule(Text(f"{lane.label} ({len(cards) + extra})", style=LANE_STYLE[lane]), align="left")
        )
        if not cards:
            console.print(Padding(Text("Nothing here today.", style="dim"), (0, 2)))
        for i, card in enumerate(cards, 1):
            console.print(card_renderable(card, i, today), soft_wrap=False)  # a box wraps its lines
        if extra:
            console.print(Padding(Text(f"+ {extra} more in the App Home", style="dim"), (0, 2)))


def print_digest(console: Console, digest: Digest) -> None:
    user = digest.user
    header = (
        f"{user.name} ({user.id}) — {plural(digest.total + sum(digest.more.values()), 'card')}, "
        f"noise level {style.SENSITIVITY_LABEL.get(digest.sensitivity, digest.sensitivity)}"
    )
    console.print(Rule(Text(header, style="bold"), characters="═"))
    if digest.skipped:
        why = (
            "opted out of the digest" if digest.skipped == "opt_out" else "the org's digest is off"
        )
        console.print(Text(f"No digest: {why}.", style="dim"))
        return
    if digest.hidden:
        console.print(Text(hidden_note(digest.hidden, digest.sensitivity), style="dim"))
    today = style.local(digest.result.as_of, user.timezone).date()
    print_lanes(console, digest.lanes, digest.more, today)


def severity_words(cards: Iterable[Card]) -> str:
    """``low-severity`` or ``low- and medium-severity``: the top severities of ``cards``."""
    found = sorted({c.severity for c in cards}, key=lambda s: s.rank)
    words = [s.value for s in found]
    if len(words) == 1:
        return f"{words[0]}-severity"
    return ", ".join(f"{w}-" for w in words[:-1]) + f" and {words[-1]}-severity"


def hidden_note(cards: list[Card], sensitivity: str) -> str:
    """``2 low-severity cards hidden by the Standard noise level``."""
    label = style.SENSITIVITY_LABEL.get(sensitivity, sensitivity)
    return (
        f"{len(cards)} {severity_words(cards)} {'card' if len(cards) == 1 else 'cards'} "
        f"hidden by the {label} noise level"
    )


def print_suppressed(console: Console, suppressed: Iterable[Suppression]) -> None:
    items = list(suppressed)
    if not items:
        return
    console.print(Rule(Text(f"Already followed through ({len(items)})", style="dim"), align="left"))
    for s in items:
        console.print(Text(f"  {s.account}: {style.signal_title(s.signal)} — {s.why}", style="dim"))
