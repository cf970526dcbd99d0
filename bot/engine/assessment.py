"""Account assessment: named risk themes with their evidence, and beside them the legacy
additive health score (seed 004) that a user can compare them with.

Inputs are the account's imported fields (segment, lifecycle ``status``, renewal date, usage
trend, adoption, open issues, CSAT, blocker) and its latest two health scores. Every line the
assessment draws is a rule (``assessment``, ``legacy_points``, ``legacy_tiers`` in the org's or
team's ``rules``); the defaults are documented in the README ("Actions and automation").

Themes:

* ``onboarding_friction`` — an account in onboarding with any weak sign (declining usage, low
  adoption, open issues, low CSAT, a blocker, low or dropping health). It is told apart from
  churn risk: the same numbers during onboarding call for recovery, not a save.
* ``churn_risk`` — an active account with a steep usage decline, or at least
  ``churn_indicators`` of: declining usage, low CSAT, a major blocker, low health, a health
  drop.
* ``support_burden`` — at least ``support_issues`` open issues.
* ``low_adoption`` — an active account below ``low_adoption`` (in onboarding that is friction).
* ``renewal_risk`` — a renewal within ``renewal_window_days`` on an account showing any risk.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select

from bot.db.bulk import id_chunks, member_of
from bot.db.models import Account, HealthScore
from bot.engine.business_time import local_date
from bot.engine.facts import NEVER_FLAGGED_STATUSES, OrgFacts, UserFacts
from bot.engine.rules import TIER_RANK, Rules, Severity

THEME_LABELS = {
    "churn_risk": "Churn risk",
    "onboarding_friction": "Onboarding friction",
    "renewal_risk": "Renewal risk",
    "support_burden": "Support burden",
    "low_adoption": "Low adoption",
}
THEME_ORDER = tuple(THEME_LABELS)
LOW_HEALTH_TIERS = ("at_risk", "critical")


@dataclass(frozen=True, slots=True)
class AccountProfile:
    """What the assessment reads of one account (as of ``now``)."""

    id: str
    name: str
    segment: str | None
    status: str  # lifecycle: active (also when not given), onboarding, inactive, churned
    csm_id: str | None
    csm_active: bool
    team_id: str | None
    timezone: str
    renewal_date: date | None
    usage_trend: float | None
    adoption: float | None
    open_issues: int | None
    csat: float | None
    blocker: str | None
    health: float | None  # latest health score at or before now
    health_prev: float | None  # the one before it


_PROFILE_COLUMNS = (
    Account.id,
    Account.name,
    Account.segment,
    Account.status,
    Account.csm_id,
    Account.renewal_date,
    Account.usage_trend,
    Account.adoption,
    Account.open_issues,
    Account.csat,
    Account.blocker,
)


def load_profile(
    conn: Connection, account_id: str, now: datetime, org: OrgFacts, users: dict[str, UserFacts]
) -> AccountProfile | None:
    return load_profiles(conn, [account_id], now, org, users).get(account_id)


def load_profiles(
    conn: Connection,
    account_ids: Sequence[str],
    now: datetime,
    org: OrgFacts,
    users: dict[str, UserFacts],
) -> dict[str, AccountProfile]:
    """The profiles of ``account_ids`` (unknown ids left out): a few statements for any number
    of accounts (the scheduler assesses every account each round)."""
    rows: list[Any] = []
    scores: dict[str, list[float]] = {}
    for part in id_chunks(conn, list(account_ids)):
        rows += conn.execute(
            select(*_PROFILE_COLUMNS).where(member_of(conn, Account.id, part))
        ).all()
        for account_id, score in conn.execute(
            select(HealthScore.account_id, HealthScore.score)
            .where(member_of(conn, HealthScore.account_id, part), HealthScore.at <= now)
            .order_by(HealthScore.account_id, HealthScore.at.desc())
        ):
            latest = scores.setdefault(account_id, [])
            if len(latest) < 2:
                latest.append(score)
    out = {}
    for row in rows:
        latest = scores.get(row.id, [])
        csm = users.get(row.csm_id) if row.csm_id else None
        out[row.id] = AccountProfile(
            id=row.id,
            name=row.name,
            segment=row.segment,
            status=row.status or "active",
            csm_id=row.csm_id,
            csm_active=csm is not None and csm.active,
            team_id=csm.team_id if csm else None,
            timezone=csm.timezone if csm else org.timezone,
            renewal_date=row.renewal_date,
            usage_trend=row.usage_trend,
            adoption=row.adoption,
            open_issues=row.open_issues,
            csat=row.csat,
            blocker=row.blocker,
            health=latest[0] if latest else None,
            health_prev=latest[1] if len(latest) > 1 else None,
        )
    return out


@dataclass(frozen=True, slots=True)
class Indicator:
    """One observed fact behind a theme: a stable ``key`` and a human ``text``."""

    key: str
    text: str


@dataclass(frozen=True, slots=True)
class Theme:
    id: str
    severity: Severity
    indicators: tuple[Indicator, ...]

    @property
    def label(self) -> str:
        return THEME_LABELS[self.id]

    @property
    def evidence(self) -> str:
        """Stable while the same facts hold: a new kind of fact makes new evidence."""
        return f"theme:{self.id}({','.join(sorted(i.key for i in self.indicators))})"

    @property
    def summary(self) -> str:
        return ", ".join(i.text for i in self.indicators)

    def to_json(self) -> dict[str, Any]:
        return {
            "theme": self.id,
            "severity": self.severity.value,
            "evidence": [i.text for i in self.indicators],
        }


@dataclass(frozen=True, slots=True)
class LegacyLine:
    field: str
    value: str  # as shown; "—" when unknown
    points: float


@dataclass(frozen=True, slots=True)
class LegacyScore:
    """The additive baseline: risk points per field, their total and its tier."""

    lines: tuple[LegacyLine, ...]
    total: float
    tier: str

    def to_json(self) -> dict[str, Any]:
        return {
            "fields": [
                {"field": x.field, "value": x.value, "points": x.points} for x in self.lines
            ],
            "total": self.total,
            "tier": self.tier,
        }


@dataclass(frozen=True, slots=True)
class Assessment:
    profile: AccountProfile
    today: date
    renewal_days: int | None
    health_tier: str | None
    flagged: bool  # false for churned and inactive accounts: no themes, no actions
    themes: tuple[Theme, ...]
    legacy: LegacyScore

    def theme(self, theme_id: str) -> Theme | None:
        return next((t for t in self.themes if t.id == theme_id), None)

    def to_json(self) -> dict[str, Any]:
        p = self.profile
        return {
            "segment": p.segment,
            "lifecycle": p.status,
            "renewal_date": p.renewal_date.isoformat() if p.renewal_date else None,
            "renewal_days": self.renewal_days,
            "health": {"score": p.health, "tier": self.health_tier},
            "themes": [t.to_json() for t in self.themes],
            "legacy_score": self.legacy.to_json(),
        }


def pct(value: float, *, signed: bool = False) -> str:
    text = f"{value:+.0%}" if signed else f"{value:.0%}"
    return text.replace("-", "−")


class _Facts:
    """The account's indicators under its rules, each found once."""

    def __init__(self, p: AccountProfile, rules: Rules, renewal_days: int | None) -> None:
        t = rules.assessment
        self.usage = _band(
            p.usage_trend,
            operator.le,
            (t.usage_decline, "usage_decline"),
            (t.usage_steep_decline, "usage_steep_decline", "steep"),
            lambda v: f"usage {pct(v, signed=True)} over 30 days",
        )
        self.adoption = _band(
            p.adoption,
            operator.lt,
            (t.low_adoption, "low_adoption"),
            (t.very_low_adoption, "very_low_adoption", "very low"),
            lambda v: f"adoption {pct(v)}",
        )
        self.issues = _band(
            p.open_issues,
            operator.ge,
            (t.support_issues, "support_issues"),
            (t.heavy_support_issues, "heavy_support_issues", "heavy"),
            lambda v: f"{v:g} open issues",
        )
        self.csat = _band(
            p.csat,
            operator.lt,
            (t.low_csat, "low_csat"),
            (t.very_low_csat, "very_low_csat", "very low"),
            lambda v: f"CSAT {v:g}",
        )
        self.blocker = (
            Indicator(f"blocker_{p.blocker}", f"{p.blocker} blocker")
            if p.blocker in ("minor", "major")
            else None
        )
        tiers = rules.health_tiers
        self.tier = tiers.tier(p.health) if p.health is not None else None
        self.health_low = (
            Indicator("health_low", f"health {p.health:g} ({self.tier.replace('_', ' ')})")
            if p.health is not None and self.tier in LOW_HEALTH_TIERS
            else None
        )
        self.health_drop: Indicator | None = None
        if p.health is not None and p.health_prev is not None:
            drop = p.health_prev - p.health
            tier_drop = (
                self.tier is not None
                and TIER_RANK[self.tier] < TIER_RANK[tiers.tier(p.health_prev)]
            )
            if drop >= rules.health_drop_points or tier_drop:
                self.health_drop = Indicator(
                    "health_drop", f"health {p.health_prev:g} → {p.health:g} (−{drop:g})"
                )
        self.renewal: Indicator | None = None
        self.renewal_imminent = False
        if renewal_days is not None and 0 <= renewal_days <= t.renewal_window_days:
            assert p.renewal_date is not None
            self.renewal = Indicator(
                f"renewal:{p.renewal_date.isoformat()}",
                f"renews in {renewal_days} days ({p.renewal_date.isoformat()})",
            )
            self.renewal_imminent = renewal_days <= t.renewal_imminent_days


def _band(
    value: float | None,
    past: Callable[[float, float], bool],
    line: tuple[float, str],
    far: tuple[float, str, str],
    text: Callable[[float], str],
) -> Indicator | None:
    """The indicator of a ``value`` past a line (``past(value, line)``): ``line``'s key, or
    ``far``'s key and note when it is past that one too. The keys name the legacy score's
    points."""
    if value is None or not past(value, line[0]):
        return None
    if past(value, far[0]):
        return Indicator(far[1], f"{text(value)} ({far[2]})")
    return Indicator(line[1], text(value))


def _present(*items: Indicator | None) -> tuple[Indicator, ...]:
    return tuple(i for i in items if i is not None)


def assess(profile: AccountProfile, rules: Rules, now: datetime) -> Assessment:
    today = local_date(now, profile.timezone)
    renewal_days = (profile.renewal_date - today).days if profile.renewal_date else None
    f = _Facts(profile, rules, renewal_days)
    flagged = profile.status not in NEVER_FLAGGED_STATUSES
    themes = _themes(profile, rules, f) if flagged else []
    themes.sort(key=lambda t: (-t.severity.rank, THEME_ORDER.index(t.id)))
    return Assessment(
        profile=profile,
        today=today,
        renewal_days=renewal_days,
        health_tier=f.tier,
        flagged=flagged,
        themes=tuple(themes),
        legacy=legacy_score(profile, rules, f),
    )


def _themes(p: AccountProfile, rules: Rules, f: _Facts) -> list[Theme]:
    themes: list[Theme] = []
    major = f.blocker if p.blocker == "major" else None
    if p.status == "onboarding":
        found = _present(f.usage, f.adoption, f.issues, f.csat, f.blocker, f.health_low)
        found += _present(f.health_drop)
        if found:
            high = len(found) >= 2 or major is not None
            themes.append(
                Theme("onboarding_friction", Severity.HIGH if high else Severity.MEDIUM, found)
            )
    else:
        found = _present(f.usage, f.csat, major, f.health_low, f.health_drop)
        steep = f.usage is not None and f.usage.key == "usage_steep_decline"
        needed = rules.assessment.churn_indicators
        if steep or len(found) >= needed:
            critical = len(found) > needed
            themes.append(
                Theme("churn_risk", Severity.CRITICAL if critical else Severity.HIGH, found)
            )
        if f.adoption is not None:
            very = f.adoption.key == "very_low_adoption"
            themes.append(
                Theme("low_adoption", Severity.MEDIUM if very else Severity.LOW, (f.adoption,))
            )
    if f.issues is not None:
        found = _present(f.issues, f.csat, major)
        high = f.issues.key == "heavy_support_issues" or len(found) > 1
        themes.append(Theme("support_burden", Severity.HIGH if high else Severity.MEDIUM, found))
    if f.renewal is not None:
        at_stake = [Indicator(f"theme:{t.id}", t.label.lower()) for t in themes]
        if not themes:
            at_stake = list(_present(f.usage, f.csat, major, f.health_low))
        if at_stake:
            churn = any(t.id == "churn_risk" for t in themes)
            severity = Severity.MEDIUM
            if f.renewal_imminent:
                severity = Severity.CRITICAL if churn else Severity.HIGH
            themes.append(Theme("renewal_risk", severity, (f.renewal, *at_stake)))
    return themes


def legacy_score(p: AccountProfile, rules: Rules, f: _Facts) -> LegacyScore:
    """Seed 004's additive baseline: points per field, at the assessment's lines (each band's
    indicator names its points in ``legacy_points``), with no context."""
    usage = "—" if p.usage_trend is None else pct(p.usage_trend, signed=True)
    rows = (
        ("usage_trend", usage, f.usage),
        ("adoption", "—" if p.adoption is None else pct(p.adoption), f.adoption),
        ("open_issues", "—" if p.open_issues is None else str(p.open_issues), f.issues),
        ("csat", "—" if p.csat is None else f"{p.csat:g}", f.csat),
        ("blocker", p.blocker or "—", f.blocker),
    )
    lines = tuple(
        LegacyLine(name, shown, float(getattr(rules.legacy_points, ind.key)) if ind else 0.0)
        for name, shown, ind in rows
    )
    total = sum(x.points for x in lines)
    return LegacyScore(lines, total, rules.legacy_tiers.tier(total))
