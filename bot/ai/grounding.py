"""Grounding: an AI bullet survives only when everything it says can be traced to this
account's data.

A bullet is dropped when it cites no id, cites an id that is not in the account's data, cites
(in Strategic Value Achievements) a KPI that is not on track or completed with significant
progress, or holds a number, an ISO date or a proper name that does not appear in the prompt
the model was given. Numbers therefore always come from our code (the prompt's lines).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.ai.schema import AiBullet
from bot.engine.summary.data import AccountData
from bot.engine.summary.model import Bullet
from bot.engine.summary.sections import SectionId

_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")
_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_SENTENCE_END = re.compile(r"[.!?:;]\s*$")
# Capitalised words the model may use although the data need not hold them.
ALLOWED_WORDS = frozenset(
    {
        "i",
        "ai",
        "kpi",
        "kpis",
        "csm",
        "csms",
        "qbr",
        "qbrs",
        "ebr",
        "roi",
        "mrr",
        "arr",
        "sso",
        "api",
        "crm",
        "faq",
        "it",
        "ok",
        "ceo",
        "cfo",
        "cto",
        "coo",
        "cio",
        "vp",
        "q1",
        "q2",
        "q3",
        "q4",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    }
)


@dataclass(frozen=True, slots=True)
class Grounds:
    """What a bullet may rest on: the account's ids and the prompt's numbers, dates, words."""

    ids: frozenset[str]
    numbers: frozenset[str]
    dates: frozenset[str]
    words: frozenset[str]
    value_kpis_excluded: frozenset[str]

    @classmethod
    def of(cls, data: AccountData, prompt: str) -> Grounds:
        kpis = {k.id for k in data.kpis}
        significant = {k.id for k in data.kpis if k.significant}
        return cls(
            ids=frozenset(data.known_ids()),
            numbers=frozenset(_norm(n) for n in _NUMBER.findall(prompt)),
            dates=frozenset(_ISO_DATE.findall(prompt)),
            words=frozenset(w.lower() for w in _WORD.findall(prompt)),
            value_kpis_excluded=frozenset(kpis - significant),
        )

    @classmethod
    def of_text(cls, prompt: str, ids: frozenset[str] = frozenset()) -> Grounds:
        """Grounds of a prompt that is not an account summary's (a card's evidence, recent
        activity): its numbers, dates and words, and the record ids it names."""
        return cls(
            ids=ids,
            numbers=frozenset(_norm(n) for n in _NUMBER.findall(prompt)),
            dates=frozenset(_ISO_DATE.findall(prompt)),
            words=frozenset(w.lower() for w in _WORD.findall(prompt)),
            value_kpis_excluded=frozenset(),
        )


def _norm(number: str) -> str:
    text = number.replace(",", "")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def why_dropped(section: SectionId, bullet: AiBullet, grounds: Grounds) -> str | None:
    """None when the bullet is grounded; else why not."""
    refs = [r.strip() for r in bullet.refs if r.strip()]
    if not refs:
        return "cites no record"
    unknown = [r for r in refs if r not in grounds.ids]
    if unknown:
        return f"cites ids that are not in the account's data: {', '.join(unknown[:3])}"
    if section is SectionId.STRATEGIC_VALUE_ACHIEVEMENTS:
        excluded = [r for r in refs if r in grounds.value_kpis_excluded]
        if excluded:
            return f"cites KPIs that are not achievements: {', '.join(excluded)}"
    return ungrounded_text(bullet.text, grounds)


def ungrounded_text(text: str, grounds: Grounds) -> str | None:
    """None when every date, number and proper name of ``text`` is in the grounds' prompt;
    else what is not."""
    dates = _ISO_DATE.findall(text)
    bad_dates = [d for d in dates if d not in grounds.dates]
    if bad_dates:
        return f"names dates not in the data: {', '.join(bad_dates)}"
    rest = _ISO_DATE.sub(" ", text)
    bad_numbers = [n for n in _NUMBER.findall(rest) if _norm(n) not in grounds.numbers]
    if bad_numbers:
        return f"states numbers not in the data: {', '.join(bad_numbers[:3])}"
    names = _unknown_names(text, grounds)
    if names:
        return f"names what is not in the data: {', '.join(names[:3])}"
    return None


def _unknown_names(text: str, grounds: Grounds) -> list[str]:
    """Capitalised words (not starting a sentence) that the prompt never mentions."""
    out = []
    previous_end = 0
    for found in _WORD.finditer(text):
        word = found.group(0)
        starts_sentence = previous_end == 0 or bool(_SENTENCE_END.search(text[: found.start()]))
        previous_end = found.end()
        if not word[0].isupper() or starts_sentence:
            continue
        key = word.lower().strip("'’-")
        if key in grounds.words or key in ALLOWED_WORDS or key.rstrip("s") in grounds.words:
            continue
        out.append(word)
    return out


def ground(
    section: SectionId, bullets: list[AiBullet], grounds: Grounds
) -> tuple[list[Bullet], list[str]]:
    """The grounded bullets (as summary bullets), and why each other one was dropped."""
    kept: list[Bullet] = []
    dropped: list[str] = []
    for b in bullets:
        why = why_dropped(section, b, grounds)
        if why is None:
            refs = tuple(dict.fromkeys(r.strip() for r in b.refs if r.strip()))
            kept.append(Bullet(" ".join(b.text.split()), refs))
        else:
            dropped.append(why)
    return kept, dropped
