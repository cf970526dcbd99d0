"""What a summary is made of: bullets that cite record ids, sections, and the summary itself
(the ``summary --format json`` document of cli.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.engine.results import iso_z
from bot.engine.summary.sections import SectionId, parse_hidden


def _instant(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class PeriodChoice(StrEnum):
    """The period choices of the summary in Slack."""

    LAST_30 = "30"
    LAST_90 = "90"
    LAST_365 = "365"
    ALL = "all"

    @property
    def days(self) -> int | None:
        return None if self is PeriodChoice.ALL else int(self.value)

    @property
    def label(self) -> str:
        return "All time" if self is PeriodChoice.ALL else f"Last {self.value} days"


class Generator(StrEnum):
    RULES = "rules"
    AI = "ai"


@dataclass(frozen=True, slots=True)
class Period:
    """The activities a summary reads: ``since`` ≤ at < ``until`` (None: unbounded; the
    summary never reads past its ``now``)."""

    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def last_days(cls, days: int | None, now: datetime) -> Period:
        return cls() if days is None else cls(since=now - timedelta(days=days))

    def to_json(self) -> dict[str, str | None]:
        return {
            "since": iso_z(self.since) if self.since else None,
            "until": iso_z(self.until) if self.until else None,
        }


@dataclass(frozen=True, slots=True)
class Bullet:
    """One statement and the ids of the records it rests on."""

    text: str
    refs: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "refs": list(self.refs)}


@dataclass(slots=True)
class Section:
    id: SectionId
    bullets: list[Bullet]
    notice: str | None = None
    generator: Generator = Generator.RULES

    @property
    def title(self) -> str:
        return self.id.label

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id.value,
            "title": self.title,
            "content": [b.to_json() for b in self.bullets],
            "notice": self.notice,
            "generator": self.generator.value,
        }


@dataclass(slots=True)
class Summary:
    account_id: str
    account_name: str
    generated_at: datetime
    period: Period
    sections: list[Section] = field(default_factory=list)
    cached: bool = False
    ai_fallback: str | None = None

    @property
    def generator(self) -> Generator:
        ai = any(s.generator is Generator.AI for s in self.sections)
        return Generator.AI if ai else Generator.RULES

    def section(self, section_id: SectionId) -> Section | None:
        return next((s for s in self.sections if s.id is section_id), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account_id,
            "account_name": self.account_name,
            "generated_at": iso_z(self.generated_at),
            "generator": self.generator.value,
            "cached": self.cached,
            "ai_fallback": self.ai_fallback,
            "period": self.period.to_json(),
            "sections": [s.to_json() for s in self.sections],
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Summary:
        """A summary back from its JSON (a saved summary); unknown sections are skipped."""
        sections = []
        for raw in doc.get("sections") or []:
            if not parse_hidden([raw.get("id")]):
                continue
            sections.append(
                Section(
                    id=SectionId(raw["id"]),
                    bullets=[
                        Bullet(str(b.get("text", "")), tuple(b.get("refs") or ()))
                        for b in raw.get("content") or []
                    ],
                    notice=raw.get("notice"),
                    generator=Generator(raw.get("generator") or "rules"),
                )
            )
        period = doc.get("period") or {}
        generated = _instant(doc.get("generated_at"))
        assert generated is not None, "a summary has generated_at"
        return cls(
            account_id=str(doc["account"]),
            account_name=str(doc.get("account_name") or doc["account"]),
            generated_at=generated,
            period=Period(since=_instant(period.get("since")), until=_instant(period.get("until"))),
            sections=sections,
            cached=bool(doc.get("cached")),
            ai_fallback=doc.get("ai_fallback"),
        )

    def to_text(self) -> str:
        """Readable plain text (``summary --format text``)."""
        lines = [f"Account summary: {self.account_name} ({self.account_id})"]
        since = self.period.since.date().isoformat() if self.period.since else "the start"
        until = self.period.until.date().isoformat() if self.period.until else "now"
        lines.append(
            f"Period: {since} to {until} · written by {self.generator.value}"
            + (" (cached)" if self.cached else "")
            + f" · {iso_z(self.generated_at)}"
        )
        if self.ai_fallback:
            lines.append(f"Note: {self.ai_fallback}")
        for s in self.sections:
            lines.append("")
            lines.append(s.title.upper())
            if s.notice:
                lines.append(f"  ({s.notice})")
            for b in s.bullets:
                refs = f"  [{', '.join(b.refs)}]" if b.refs else ""
                lines.append(f"  - {b.text}{refs}")
            if not s.bullets and not s.notice:
                lines.append("  - Nothing to report.")
        return "\n".join(lines)
