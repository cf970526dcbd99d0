"""Readable terminal output of the action policy and of one account's recommended actions
(rich), laid out as seed 004's demo: assessment, legacy score, actions."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.console import SEVERITY_STYLE
from bot.engine.actions import ActionPlan
from bot.engine.assessment import Assessment
from bot.engine.policy import ACTIONS, SEGMENT_LABELS, SEGMENTS, Policy, Status

STATUS_STYLE = {
    Status.AUTO: "green",
    Status.NEEDS_APPROVAL: "yellow",
    Status.RECOMMENDED: "cyan",
}
PRIORITY_STYLE = {"urgent": "bold red", "high": "red", "normal": "", "low": "dim"}


def _label(value: str | None) -> str:
    return "—" if value is None else value.replace("_", " ")


def print_policy(console: Console, policy: Policy) -> None:
    table = Table(
        title=f"Action policy · automation level {policy.level.value} · blocker {policy.blocker}"
    )
    table.add_column("Action")
    table.add_column("Sensitivity")
    for segment in SEGMENTS:
        table.add_column(SEGMENT_LABELS[segment])
    for action in ACTIONS.values():
        statuses = policy.statuses(action)
        table.add_row(
            f"{action.title} ({action.id})",
            action.sensitivity.value,
            *(Text(statuses[s].value, style=STATUS_STYLE[statuses[s]]) for s in SEGMENTS),
        )
    console.print(table)
    console.print(policy.level.description)
    if policy.blocker == "major":
        console.print("A major blocker turns every auto into needs_approval.")


def _headline(a: Assessment) -> str:
    p = a.profile
    parts = [SEGMENT_LABELS.get(p.segment or "", "No segment"), p.status.capitalize()]
    if a.renewal_days is not None:
        days = a.renewal_days
        parts.append(f"Renewal in {days}d" if days >= 0 else f"Renewal date passed {-days}d ago")
    if p.health is not None:
        parts.append(f"Health {p.health:g} ({_label(a.health_tier)})")
    return " · ".join(parts)


def print_action_plan(console: Console, plan: ActionPlan) -> None:
    a = plan.assessment
    p = a.profile
    console.print(Text.assemble((p.name, "bold"), f" ({p.id})"))
    console.print(_headline(a))
    console.print(f"As of {plan.as_of.isoformat()} · automation level {plan.level.value}")
    console.print()
    console.print(Text("Health assessment", style="bold"))
    if not a.themes:
        console.print("  No risk theme.")
    for theme in a.themes:
        console.print(
            Text.assemble(
                "  ",
                (theme.label, "bold"),
                " (",
                (theme.severity.value, SEVERITY_STYLE[theme.severity.value]),
                f"): {theme.summary}",
            )
        )
    console.print()
    legacy = a.legacy
    table = Table(
        title=f"Legacy health score (additive baseline) · Total: {legacy.total:g} pts · "
        f"{_label(legacy.tier).capitalize()}"
    )
    table.add_column("Field")
    table.add_column("Value")
    table.add_column("Points", justify="right")
    for line in legacy.lines:
        table.add_row(line.field, line.value, f"{line.points:g}")
    console.print(table)
    console.print(
        Text(
            "A coarse sum of a few fields: it does not tell onboarding friction from churn "
            "risk, and knows neither the renewal date nor what should happen next.",
            style="dim",
        )
    )
    console.print()
    if plan.note:
        console.print(f"Recommended actions: none ({plan.note}).")
        return
    if not plan.recommendations:
        console.print("Recommended actions: none (no risk theme and no open signal).")
        return
    actions = Table(title=f"Recommended actions · {p.name}")
    for column in ("Kind", "Action", "Owner", "Priority", "Status", "Rationale"):
        actions.add_column(column)
    for r in plan.recommendations:
        actions.add_row(
            r.action.kind,
            r.action.id,
            r.owner or "—",
            Text(r.priority.value, style=PRIORITY_STYLE[r.priority.value]),
            Text(r.status.value, style=STATUS_STYLE[r.status]),
            r.rationale,
        )
    console.print(actions)
