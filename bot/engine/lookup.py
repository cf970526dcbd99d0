"""Find an account by id or name (exact, then case-insensitive, then fuzzy with rapidfuzz)."""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils
from sqlalchemy import Connection, select

from bot.db.models import Account

FUZZY_CUTOFF = 80.0
SUGGESTIONS = 5


@dataclass(frozen=True, slots=True)
class AccountRef:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Lookup:
    """``match`` when exactly one account fits; else ``candidates`` (several close matches) or
    ``suggestions`` (nothing close: the nearest names)."""

    query: str
    match: AccountRef | None = None
    candidates: tuple[AccountRef, ...] = ()
    suggestions: tuple[AccountRef, ...] = ()


def find_account(conn: Connection, query: str) -> Lookup:
    text = query.strip()
    rows = [AccountRef(i, n) for i, n in conn.execute(select(Account.id, Account.name))]
    for ref in rows:
        if ref.id == text:
            return Lookup(text, match=ref)
    exact = [r for r in rows if r.name.casefold() == text.casefold()]
    if len(exact) == 1:
        return Lookup(text, match=exact[0])
    if len(exact) > 1:
        return Lookup(text, candidates=tuple(exact))
    if not text or not rows:
        return Lookup(text)
    names = [r.name for r in rows]
    scored = process.extract(
        text, names, scorer=fuzz.WRatio, processor=utils.default_process, limit=SUGGESTIONS
    )
    close = [rows[i] for _, score, i in scored if score >= FUZZY_CUTOFF]
    if len(close) == 1:
        return Lookup(text, match=close[0])
    best = scored[0][1] if scored else 0
    top = [rows[i] for _, score, i in scored if score >= FUZZY_CUTOFF and best - score < 5]
    if len(top) == 1:
        return Lookup(text, match=top[0])
    if close:
        return Lookup(text, candidates=tuple(close))
    return Lookup(text, suggestions=tuple(rows[i] for _, _, i in scored[:3]))
