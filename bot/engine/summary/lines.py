"""One compact line per record, each starting with the record's id: what the AI prompt holds
and what the per-section activity budgets count (so the prompt stays bounded)."""

from __future__ import annotations

from datetime import date, datetime

from bot.engine.summary.records import (
    ActivityRow,
    Case,
    Challenge,
    Kpi,
    Objective,
    Opportunity,
    Person,
    Plan,
    Playbook,
    PlaybookTask,
    Project,
)

ACTIVITY_LINE = 280
TEXT_FIELD = 200


def num(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{int(value)}" if float(value).is_integer() else f"{value:.2f}".rstrip("0")


def day(moment: datetime | date | None) -> str:
    if moment is None:
        return "?"
    return moment.date().isoformat() if isinstance(moment, datetime) else moment.isoformat()


def clean(text: str | None, limit: int = TEXT_FIELD) -> str:
    if not text:
        return ""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def pct(share: float | None) -> str:
    return "?" if share is None else f"{round(share * 100)}%"


def person_line(p: Person) -> str:
    parts = [p.id, clean(p.name, 80)]
    if p.title:
        parts.append(clean(p.title, 80))
    if p.role:
        parts.append(f"role={p.role}")
    if p.last_active_at:
        parts.append(f"last_active={day(p.last_active_at)}")
    return " | ".join(parts)


def plan_line(p: Plan) -> str:
    dates = f"{day(p.starts_on)}..{day(p.ends_on)}"
    return f"{p.id} | {clean(p.title)} | status={p.status or '?'} | {dates}"


def objective_line(o: Objective) -> str:
    return f"{o.id} | plan={o.plan_id} | {clean(o.title)} | status={o.status or '?'}"


def kpi_line(k: Kpi) -> str:
    unit = f" {clean(k.unit, 30)}" if k.unit else ""
    return (
        f"{k.id} | objective={k.objective_id} | {clean(k.name)} | status={k.status or '?'} | "
        f"baseline={num(k.baseline)}{unit} current={num(k.current)}{unit} "
        f"target={num(k.target)}{unit} | progress={pct(k.progress)} | updated={day(k.updated_at)}"
    )


def challenge_line(c: Challenge) -> str:
    return f"{c.id} | {clean(c.title)} | {clean(c.description)}"


def playbook_line(p: Playbook) -> str:
    return f"{p.id} | {clean(p.name)} | status={p.status or '?'}"


def playbook_task_line(t: PlaybookTask) -> str:
    done = f"completed={day(t.completed_at)}" if t.completed_at else f"due={day(t.due_at)}"
    return (
        f"{t.id} | playbook={t.playbook_id} | {clean(t.title)} | status={t.status or '?'} | {done}"
    )


def case_line(c: Case) -> str:
    closed = f" closed={day(c.closed_at)}" if c.closed_at else ""
    return (
        f"{c.id} | {clean(c.title)} | status={c.status or '?'} | priority={c.priority or '?'} | "
        f"opened={day(c.opened_at)}{closed}"
    )


def opportunity_line(o: Opportunity) -> str:
    return (
        f"{o.id} | {clean(o.title)} | kind={o.kind or '?'} | stage={clean(o.stage, 60) or '?'} | "
        f"status={o.status or '?'} | amount={num(o.amount)} | close={day(o.close_date)}"
    )


def project_line(p: Project) -> str:
    return f"{p.id} | {clean(p.name)} | status={p.status or '?'}"


def activity_line(a: ActivityRow, who: str | None = None) -> str:
    head = f"{a.id} | {day(a.at)} | {a.kind} {a.direction}"
    if a.outcome:
        head += f" ({a.outcome})"
    if who:
        head += f" | {who}"
    if a.links:
        head += f" | links={','.join(a.links)}"
    body = " — ".join(p for p in (clean(a.subject, 100), clean(a.text)) if p)
    line = f"{head} | {body}" if body else head
    return line if len(line) <= ACTIVITY_LINE else line[: ACTIVITY_LINE - 1] + "…"
