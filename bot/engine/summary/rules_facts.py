"""The rules writer's fact sections: account highlights, key stakeholders, KPI progress,
strategic value achievements and immediate actions. Every number is computed here."""

from __future__ import annotations

from collections import Counter
from datetime import date

from bot.engine.summary.data import AccountData
from bot.engine.summary.lines import num, pct
from bot.engine.summary.model import Bullet
from bot.engine.summary.records import KPI_GOOD, ActivityRow, Kpi, Person
from bot.engine.summary.signals import OUTCOME, excerpt

MAX_REFS = 12
MAX_STAKEHOLDERS = 6
REVENUE_TRAITS = ("annual_revenue", "arr", "revenue", "annual_contract_value", "acv")
PRODUCT_TRAITS = ("product_family", "product", "product_line", "plan", "edition", "tier")
ROLE_RANK = {"executive_sponsor": 0, "decision_maker": 1, "champion": 2, "billing": 3, "user": 4}
ROLE_LABEL = {
    "executive_sponsor": "executive sponsor",
    "decision_maker": "decision maker",
    "champion": "champion",
    "billing": "billing contact",
    "user": "user",
}
INVOLVE = {
    "executive_sponsor": "executive alignment and the business review",
    "decision_maker": "renewal and commercial decisions",
    "champion": "KPI reviews and rollout plans",
    "billing": "invoices and contract paperwork",
    "user": "adoption and training",
}
DONE_STATUSES = ("completed", "complete", "done", "achieved")


def money(value: float | None) -> str:
    return "not recorded" if value is None else f"${value:,.0f}"


def refs(*groups: object) -> tuple[str, ...]:
    out: list[str] = []
    for group in groups:
        items = group if isinstance(group, list | tuple) else [group]
        for item in items:
            rid = item if isinstance(item, str) else getattr(item, "id", None)
            if isinstance(rid, str) and rid not in out:
                out.append(rid)
    return tuple(out[:MAX_REFS])


def quoted(text: str | None, fallback: str) -> str:
    return f"'{' '.join(text.split())}'" if text else fallback


def kpi_name(k: Kpi) -> str:
    return quoted(k.name, k.id)


def _trait(data: AccountData, keys: tuple[str, ...]) -> object:
    traits = {k.lower(): v for k, v in data.account.traits.items()}
    return next((traits[k] for k in keys if traits.get(k) not in (None, "")), None)


def kpi_tally(kpis: list[Kpi]) -> str:
    counts = Counter((k.status or "unknown") for k in kpis)
    return ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in sorted(counts.items()))


def highlights(data: AccountData) -> list[Bullet]:
    acc = data.account
    out: list[Bullet] = []
    revenue = _trait(data, REVENUE_TRAITS)
    if isinstance(revenue, int | float):
        out.append(
            Bullet(
                f"Annual revenue: {money(float(revenue))} (from the account's traits).", (acc.id,)
            )
        )
    elif acc.mrr is not None:
        out.append(
            Bullet(
                f"Annual recurring revenue: {money(acc.mrr * 12)} (MRR {money(acc.mrr)} × 12).",
                (acc.id,),
            )
        )
    else:
        out.append(Bullet("Annual revenue: not recorded.", (acc.id,)))
    product = _trait(data, PRODUCT_TRAITS)
    out.append(
        Bullet(
            f"Product family: {product}."
            if product
            else "Product family: not recorded in the account's traits.",
            (acc.id,),
        )
    )
    if data.kpis:
        good = [k for k in data.kpis if k.status in KPI_GOOD]
        progress = [k.progress for k in data.kpis if k.progress is not None]
        average = sum(min(max(p, 0.0), 1.0) for p in progress) / len(progress) if progress else None
        text = (
            f"Objective KPIs: {len(good)} of {len(data.kpis)} on track or completed "
            f"({kpi_tally(data.kpis)})"
        )
        if average is not None:
            text += f"; average progress toward target {pct(average)}"
        out.append(Bullet(text + ".", refs(data.kpis)))
    else:
        out.append(Bullet("Objective KPIs: none recorded.", ()))
    open_cases = [c for c in data.cases if c.status == "open"]
    escalated = [c for c in data.cases if c.status == "escalated"]
    out.append(
        Bullet(
            f"Cases: {len(open_cases)} open, {len(escalated)} escalated"
            + (f" (of {len(data.cases)} in the period)." if data.cases else "."),
            refs(escalated, open_cases),
        )
    )
    active = [p for p in data.projects if p.status != "closed"]
    red = [p for p in data.projects if p.status == "red"]
    text = f"Projects: {len(active)} active, {len(red)} red"
    if red:
        text += ": " + ", ".join(quoted(p.name, p.id) for p in red[:3])
    out.append(Bullet(text + ".", refs(red, active)))
    open_opps = [o for o in data.opportunities if o.status == "open"]
    expansion = [o for o in open_opps if o.kind == "expansion"]
    amount = sum(o.amount or 0 for o in open_opps)
    text = f"Opportunities: {len(open_opps)} open"
    if open_opps:
        text += f" ({money(amount)} in total)"
    text += f", {len(expansion)} active expansion"
    if expansion:
        text += ": " + ", ".join(quoted(o.title, o.id) for o in expansion[:3])
    out.append(Bullet(text + ".", refs(expansion, open_opps)))
    if acc.health is not None:
        delta = ""
        if acc.health_prev is not None and acc.health != acc.health_prev:
            sign = "+" if acc.health > acc.health_prev else "−"
            change = num(abs(acc.health - acc.health_prev))
            delta = f" ({sign}{change} since the previous score)"
        out.append(Bullet(f"Health score: {num(acc.health)}{delta}.", (acc.id,)))
    if acc.renewal_date is not None:
        days = (acc.renewal_date - data.now.date()).days
        when = f"in {days} days" if days >= 0 else f"{-days} days ago"
        out.append(Bullet(f"Renewal date: {acc.renewal_date.isoformat()} ({when}).", (acc.id,)))
    return out


def interactions(data: AccountData, rows: list[ActivityRow]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for a in rows:
        for pid in (a.contact_id, a.user_id):
            if pid is not None and data.person(pid) is not None:
                counts[pid] += 1
    return counts


def ranked_contacts(data: AccountData, counts: Counter[str]) -> list[Person]:
    return sorted(
        data.contacts,
        key=lambda p: (ROLE_RANK.get(p.role or "", 9), -counts[p.id], p.name.casefold(), p.id),
    )


def stakeholders(data: AccountData, rows: list[ActivityRow]) -> list[Bullet]:
    counts = interactions(data, rows)
    out: list[Bullet] = []
    for p in ranked_contacts(data, counts)[:MAX_STAKEHOLDERS]:
        role = ROLE_LABEL.get(p.role or "", "contact")
        title = f"{p.title}, " if p.title else ""
        n = counts[p.id]
        seen = f"{n} interaction{'s' if n != 1 else ''} in the activities read"
        if p.last_active_at:
            seen += f", last active {p.last_active_at.date().isoformat()}"
        involve = INVOLVE.get(p.role or "", "day-to-day follow-ups")
        out.append(Bullet(f"{p.name} — {title}{role}; {seen}. Involve in {involve}.", (p.id,)))
    if len(data.contacts) > MAX_STAKEHOLDERS:
        out.append(
            Bullet(f"{len(data.contacts) - MAX_STAKEHOLDERS} more contacts are on file.", ())
        )
    if not data.contacts:
        out.append(
            Bullet(
                "No customer contacts are recorded: add the champion and the decision maker.",
                (data.account.id,),
            )
        )
    ours = sorted(
        data.users.values(), key=lambda u: (u.id != data.account.csm_id, -counts[u.id], u.name)
    )
    if ours:
        names = []
        for u in ours[:4]:
            if u.id == data.account.csm_id:
                names.append(f"{u.name} (CSM, owns the account)")
            else:
                names.append(f"{u.name} ({counts[u.id]} activities)")
        out.append(Bullet("Our side: " + "; ".join(names) + ".", refs(ours[:4])))
    else:
        out.append(Bullet("Our side: no CSM is assigned to this account.", (data.account.id,)))
    return out


def _recent(data: AccountData, kpi: Kpi) -> bool:
    since = data.period.since
    return since is None or kpi.updated_at is None or kpi.updated_at >= since


def unit_of(k: Kpi) -> str:
    if not k.unit:
        return ""
    return k.unit if k.unit in ("%", "‰") else f" {k.unit}"


def kpi_line(k: Kpi) -> str:
    unit = unit_of(k)
    text = f"{kpi_name(k)}: {num(k.baseline)} → {num(k.current)}{unit} (target {num(k.target)})"
    if k.progress is not None:
        text += f", {pct(k.progress)} of the way"
    return text


def kpi_progress(data: AccountData, rows: list[ActivityRow]) -> list[Bullet]:
    if not data.kpis:
        return [Bullet("No objective KPIs are recorded for this account.", ())]
    latest: dict[str, str] = {}
    for a in rows:  # newest first: the latest activity linked to each KPI
        for link in a.links:
            latest.setdefault(link, a.id)
    moving = [
        k
        for k in data.kpis
        if _recent(data, k)
        and (k.status == "completed" or (k.status == "on_track" and (k.progress or 0) > 0))
    ]
    moving.sort(key=lambda k: (k.status != "completed", -(k.progress or 0), k.id))
    out = [
        Bullet(
            f"{kpi_line(k)}; {(k.status or '').replace('_', ' ')}.",
            refs(k.id, latest.get(k.id)),
        )
        for k in moving
    ]
    stuck = [k for k in data.kpis if k.status not in KPI_GOOD]
    if stuck:
        names = ", ".join(
            f"{kpi_name(k)} ({(k.status or 'no status').replace('_', ' ')})" for k in stuck[:5]
        )
        more = f" and {len(stuck) - 5} more" if len(stuck) > 5 else ""
        out.append(Bullet(f"Not progressing: {names}{more}.", refs(stuck)))
    if not moving:
        out.insert(0, Bullet("No KPI was completed or moved forward in this period.", ()))
    return out


def value_achievements(data: AccountData, rows: list[ActivityRow]) -> list[Bullet]:
    """Only KPIs on track or completed with significant progress; never off track, not
    started or blocked ones, whatever their numbers."""
    out: list[Bullet] = []
    for k in sorted(
        (k for k in data.kpis if k.significant), key=lambda k: (k.status != "completed", k.id)
    ):
        unit = unit_of(k)
        if k.status == "completed":
            text = (
                f"Completed: {kpi_name(k)} reached {num(k.current)}{unit} "
                f"(target {num(k.target)}, from a baseline of {num(k.baseline)})."
            )
        else:
            text = (
                f"On track: {kpi_name(k)} has moved {pct(k.progress)} of the way from "
                f"{num(k.baseline)} to {num(k.target)}{unit} (now {num(k.current)})."
            )
        out.append(Bullet(text, (k.id,)))
    for o in data.objectives:
        if (o.status or "").lower() in DONE_STATUSES:
            out.append(Bullet(f"Objective achieved: {quoted(o.title, o.id)}.", (o.id,)))
    for op in data.opportunities:
        if op.status == "won":
            out.append(
                Bullet(
                    f"Financial expansion: {quoted(op.title, op.id)} won ({money(op.amount)}).",
                    (op.id,),
                )
            )
    for p in data.projects:
        if p.status == "closed":
            out.append(Bullet(f"Lifecycle: project {quoted(p.name, p.id)} is completed.", (p.id,)))
    outcomes = [a for a in rows if OUTCOME.search(a.words)][:3]
    for a in outcomes:
        out.append(
            Bullet(f"Outcome noted on {a.at.date().isoformat()}: “{excerpt(a, OUTCOME)}”", (a.id,))
        )
    if not out:
        out.append(
            Bullet(
                "No KPI is on track or completed with significant progress yet, and no other "
                "achievement is recorded.",
                (),
            )
        )
    return out


def immediate_actions(data: AccountData) -> list[Bullet]:
    if not data.obligations:
        return [
            Bullet(
                "Nothing is owed right now: the account has no open obligations in the queue.", ()
            )
        ]
    return [Bullet(f"{ob.text} ({ob.severity}).", ob.refs) for ob in data.obligations]


def renewal_days(data: AccountData) -> int | None:
    renewal: date | None = data.account.renewal_date
    return None if renewal is None else (renewal - data.now.date()).days
