"""The rules writer's reading sections: relational health, risks and blockers, suggested
expansion opportunities, and the two built from the others (executive summary, strategic
next steps)."""

from __future__ import annotations

from bot.engine.summary.data import AccountData
from bot.engine.summary.lines import num
from bot.engine.summary.model import Bullet, Section
from bot.engine.summary.records import KPI_GOOD, ActivityRow
from bot.engine.summary.rules_facts import (
    INVOLVE,
    interactions,
    kpi_name,
    money,
    quoted,
    ranked_contacts,
    refs,
    renewal_days,
)
from bot.engine.summary.sections import SectionId
from bot.engine.summary.signals import NEGATIVE, POSITIVE, excerpt, expansion_signal

EXECUTIVE_ROLES = ("executive_sponsor", "decision_maker")
RENEWAL_SOON_DAYS = 120
MAX_SIGNALS = 5
MAX_NEXT_STEPS = 7


def relational_health(data: AccountData, rows: list[ActivityRow]) -> list[Bullet]:
    out: list[Bullet] = []
    if rows:
        inbound = [a for a in rows if a.direction == "inbound"]
        outbound = [a for a in rows if a.direction == "outbound"]
        calls = [a for a in rows if a.kind == "call" and a.outcome == "connected"]
        meetings = [a for a in rows if a.kind == "meeting"]
        out.append(
            Bullet(
                f"Collaboration: {len(rows)} customer conversations in the activities read "
                f"({len(inbound)} from the customer, {len(outbound)} from us; "
                f"{len(calls)} connected calls, {len(meetings)} meetings), the latest on "
                f"{rows[0].at.date().isoformat()}.",
                refs(rows[:3]),
            )
        )
    else:
        out.append(
            Bullet(
                "No customer conversations in this period: the relationship cannot be read from "
                "activity.",
                (),
            )
        )
    execs = {c.id: c for c in data.contacts if c.role in EXECUTIVE_ROLES}
    exec_rows = [a for a in rows if a.contact_id in execs]
    if exec_rows:
        counts = interactions(data, exec_rows)
        names = ", ".join(
            f"{execs[cid].name} ({(execs[cid].role or '').replace('_', ' ')}, {n} conversations)"
            for cid, n in counts.most_common(3)
            if cid in execs
        )
        out.append(
            Bullet(
                f"Executive engagement: {names}; latest on {exec_rows[0].at.date().isoformat()}.",
                refs([execs[c] for c in counts if c in execs], exec_rows[:2]),
            )
        )
    elif execs:
        out.append(
            Bullet(
                "Executive engagement: none in the activities read, although "
                + ", ".join(p.name for p in list(execs.values())[:3])
                + " are on file.",
                refs(list(execs.values())),
            )
        )
    voiced = [a for a in rows if a.direction == "inbound"]
    good = [a for a in voiced if POSITIVE.search(a.words)]
    bad = [a for a in voiced if NEGATIVE.search(a.words)]
    if good or bad:
        text = f"Sentiment: {len(good)} customer messages read positive"
        if good:
            text += f" (“{excerpt(good[0], POSITIVE, 80)}”)"
        text += f", {len(bad)} raised a concern"
        if bad:
            text += f" (“{excerpt(bad[0], NEGATIVE, 80)}”)"
        out.append(Bullet(text + ".", refs(good[:2], bad[:2])))
    acc = data.account
    if acc.csm_pulse is not None:
        note = f" — “{' '.join(acc.csm_pulse_note.split())}”" if acc.csm_pulse_note else ""
        out.append(Bullet(f"CSM Pulse {acc.csm_pulse}/10{note}", (acc.id,)))
    return out


def risks(data: AccountData, rows: list[ActivityRow]) -> list[Bullet]:
    out: list[Bullet] = []
    for c in data.cases:
        if c.status == "escalated":
            out.append(Bullet(f"Escalated case: {quoted(c.title, c.id)}.", (c.id,)))
        elif c.status == "open" and (c.priority or "").lower() in ("urgent", "high", "critical"):
            out.append(Bullet(f"Open {c.priority} case: {quoted(c.title, c.id)}.", (c.id,)))
    for p in data.projects:
        if p.status in ("red", "amber"):
            out.append(Bullet(f"Project {quoted(p.name, p.id)} is {p.status}.", (p.id,)))
    for k in data.kpis:
        if k.status in ("off_track", "blocked"):
            out.append(Bullet(f"KPI {kpi_name(k)} is {k.status.replace('_', ' ')}.", (k.id,)))
    acc = data.account
    if acc.blocker in ("minor", "major"):
        out.append(Bullet(f"A {acc.blocker} blocker is recorded on the account.", (acc.id,)))
    if (
        acc.health is not None
        and acc.health_prev is not None
        and acc.health_prev - acc.health >= 10
    ):
        out.append(
            Bullet(
                f"Health fell from {num(acc.health_prev)} to {num(acc.health)}.",
                (acc.id,),
            )
        )
    if acc.usage_trend is not None and acc.usage_trend <= -0.1:
        out.append(
            Bullet(f"Usage fell {round(-acc.usage_trend * 100)}% over the last 30 days.", (acc.id,))
        )
    overdue = [
        t
        for t in data.playbook_tasks
        if not t.done and t.due_at is not None and t.due_at < data.now
    ]
    if overdue:
        out.append(
            Bullet(
                f"{len(overdue)} playbook task(s) overdue, e.g. "
                f"{quoted(overdue[0].title, overdue[0].id)}.",
                refs(overdue),
            )
        )
    days = renewal_days(data)
    renewal = [o for o in data.opportunities if o.kind == "renewal" and o.status == "open"]
    if days is not None and 0 <= days <= RENEWAL_SOON_DAYS and renewal:
        out.append(
            Bullet(
                f"The renewal is {days} days away and still open "
                f"(stage {renewal[0].stage or 'not recorded'}).",
                refs(acc.id, renewal[0]),
            )
        )
    for a in [a for a in rows if a.direction != "outbound" and NEGATIVE.search(a.words)][:3]:
        out.append(
            Bullet(
                f"Concern raised on {a.at.date().isoformat()}: “{excerpt(a, NEGATIVE)}”",
                (a.id,),
            )
        )
    if not out:
        out.append(Bullet("No open risks or blockers found in the account's data.", ()))
    return out


def expansion(data: AccountData, rows: list[ActivityRow]) -> list[Bullet]:
    out: list[Bullet] = []
    for a in rows:
        found = expansion_signal(a)
        if found is None:
            continue
        what, pattern = found
        person = data.person(a.contact_id) or data.person(a.user_id)
        source = a.kind.replace("_", " ") + (f" with {person.name}" if person else "")
        out.append(
            Bullet(
                f"Signal on {a.at.date().isoformat()} ({source}): "
                f"“{excerpt(a, pattern)}” — suggests "
                f"{what}.",
                refs(a.id, a.contact_id if person else None),
            )
        )
        if len(out) >= MAX_SIGNALS:
            break
    for o in data.opportunities:
        if o.kind == "expansion" and o.status == "open":
            out.append(
                Bullet(
                    f"Already in the pipeline: {quoted(o.title, o.id)} ({money(o.amount)}, "
                    f"stage {o.stage or 'not recorded'}).",
                    (o.id,),
                )
            )
    acc = data.account
    if acc.adoption is not None and acc.adoption >= 0.8:
        out.append(
            Bullet(
                f"Adoption is {round(acc.adoption * 100)}% of licensed seats and features: room "
                "for more seats.",
                (acc.id,),
            )
        )
    if not out:
        out.append(Bullet("No expansion signals in the activities read.", ()))
    return out


def _meaningful(section: Section | None) -> list[Bullet]:
    """A section's bullets that cite something (the "nothing found" lines cite nothing)."""
    return [b for b in section.bullets if b.refs] if section is not None else []


def executive_summary(data: AccountData, built: dict[SectionId, Section]) -> list[Bullet]:
    acc = data.account
    out: list[Bullet] = []
    if SectionId.ACCOUNT_HIGHLIGHTS in built:
        facts = [acc.segment.replace("_", " ") if acc.segment else None]
        if acc.mrr is not None:
            facts.append(f"MRR {money(acc.mrr)}")
        if acc.health is not None:
            facts.append(f"health {num(acc.health)}")
        renewal = f", renewing on {acc.renewal_date.isoformat()}" if acc.renewal_date else ""
        detail = ", ".join(f for f in facts if f)
        out.append(Bullet(f"{acc.name} ({detail or 'no figures recorded'}){renewal}.", (acc.id,)))
    if data.challenges:
        names = ", ".join(quoted(c.title, c.id) for c in data.challenges[:3])
        out.append(Bullet(f"Main business challenges: {names}.", refs(data.challenges[:3])))
    if SectionId.KPI_PROGRESS in built and data.kpis:
        good = [k for k in data.kpis if k.status in KPI_GOOD]
        out.append(
            Bullet(
                f"Performance: {len(good)} of {len(data.kpis)} objective KPIs are on track or "
                "completed.",
                refs(data.kpis),
            )
        )
    relational = _meaningful(built.get(SectionId.RELATIONAL_HEALTH))
    if relational:
        out.append(Bullet("Relationship — " + relational[0].text, relational[0].refs))
    risk = _meaningful(built.get(SectionId.RISKS_AND_BLOCKERS))
    if SectionId.RISKS_AND_BLOCKERS in built:
        if risk:
            out.append(
                Bullet(
                    f"{len(risk)} risk(s) need attention, first: {risk[0].text}",
                    refs([r for b in risk[:3] for r in b.refs]),
                )
            )
        else:
            out.append(Bullet("No open risks or blockers.", ()))
    value = _meaningful(built.get(SectionId.STRATEGIC_VALUE_ACHIEVEMENTS))
    if value:
        out.append(
            Bullet(
                f"Value delivered: {len(value)} achievement(s), e.g. {value[0].text}",
                value[0].refs,
            )
        )
    if data.empty:
        out.append(
            Bullet(
                "Little is recorded for this account: no contacts, success plan, cases, "
                "opportunities, projects or activities in this period.",
                (acc.id,),
            )
        )
    return out


def next_steps(data: AccountData, built: dict[SectionId, Section]) -> list[Bullet]:
    out: list[Bullet] = []
    champion = next(
        (c for c in ranked_contacts(data, interactions(data, [])) if c.role == "champion"), None
    )
    deciders = [c for c in data.contacts if c.role in EXECUTIVE_ROLES]
    deciders.sort(key=lambda c: (c.role != "decision_maker", c.name))  # they sign renewals
    decider = deciders[0] if deciders else None
    if SectionId.IMMEDIATE_ACTIONS in built and data.obligations:
        out.append(
            Bullet(
                f"Clear the {len(data.obligations)} open obligation(s) under Immediate Actions "
                "first.",
                refs([r for ob in data.obligations for r in ob.refs]),
            )
        )
    if SectionId.RISKS_AND_BLOCKERS in built:
        for c in [c for c in data.cases if c.status == "escalated"][:2]:
            out.append(
                Bullet(
                    f"Drive escalated case {quoted(c.title, c.id)} to resolution and confirm "
                    "the fix with the customer.",
                    (c.id,),
                )
            )
        for p in [p for p in data.projects if p.status == "red"][:2]:
            out.append(
                Bullet(
                    f"Put project {quoted(p.name, p.id)} back on track: agree owners and dates.",
                    (p.id,),
                )
            )
    if SectionId.KPI_PROGRESS in built:
        with_whom = f" with {champion.name}" if champion else ""
        for k in [k for k in data.kpis if k.status in ("off_track", "blocked")][:2]:
            out.append(
                Bullet(
                    f"Agree a recovery plan for KPI {kpi_name(k)}{with_whom}.", refs(k, champion)
                )
            )
    days = renewal_days(data)
    if days is not None and 0 <= days <= 180:
        with_whom = f" with {decider.name}" if decider else ""
        out.append(
            Bullet(
                f"Prepare the renewal ({data.account.renewal_date}){with_whom}: value recap, "
                "stakeholder map and commercial terms.",
                refs(data.account.id, decider),
            )
        )
    if SectionId.EXPANSION_OPPORTUNITIES in built:
        signals = [
            b
            for b in _meaningful(built.get(SectionId.EXPANSION_OPPORTUNITIES))
            if b.text.startswith("Signal")
        ]
        if signals:
            out.append(
                Bullet(
                    "Qualify the strongest expansion signal into an opportunity: "
                    + signals[0].text,
                    signals[0].refs,
                )
            )
    if SectionId.KEY_STAKEHOLDERS in built:
        roles = {c.role for c in data.contacts}
        if "executive_sponsor" not in roles:
            out.append(
                Bullet(
                    "Find an executive sponsor at the customer for "
                    f"{INVOLVE['executive_sponsor']}.",
                    (data.account.id,),
                )
            )
    open_tasks = [t for t in data.playbook_tasks if not t.done]
    for pb in data.playbooks:
        left = [t for t in open_tasks if t.playbook_id == pb.id]
        if left:
            out.append(
                Bullet(
                    f"Finish playbook {quoted(pb.name, pb.id)}: {len(left)} task(s) left, "
                    f"next {quoted(left[0].title, left[0].id)}.",
                    refs(pb, left[0]),
                )
            )
    if not out:
        out.append(
            Bullet(
                "Keep the regular cadence: nothing in the account's data calls for a change "
                "of plan.",
                (),
            )
        )
    return out[:MAX_NEXT_STEPS]
