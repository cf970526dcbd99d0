"""Find an account by id or name.

Only an id or a whole name (case-insensitive) finds an account: a fragment or a misspelt name
finds none and gives the closest names instead, so nothing acts on an account the user did not
name. A read-only caller (``/account-summary``) may also take the one name that contains the
text (``partial=True``); the answer says so (``loose``) so the reply can name what it picked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils
from sqlalchemy import Connection, select

from bot.db.models import Account

SUGGESTIONS = 5
# When no name contains the text, the names this alike are suggested (rapidfuzz WRatio, 0-100),
# if not far behind the most alike.
ALIKE = 60.0
ALIKE_SPREAD = 25.0


@dataclass(frozen=True, slots=True)
class AccountRef:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Lookup:
    """``match`` when exactly one account fits (``loose`` when only a part of its name was
    given); else ``candidates`` (several accounts fit) or ``suggestions`` (none fits: the
    closest names, maybe none; ``empty`` when there are no accounts at all)."""

    query: str
    match: AccountRef | None = None
    loose: bool = False
    candidates: tuple[AccountRef, ...] = ()
    suggestions: tuple[AccountRef, ...] = ()
    empty: bool = False


def find_account(conn: Connection, query: str, *, partial: bool = False) -> Lookup:
    """The account whose id is ``query`` or whose name is ``query`` (case and runs of spaces
    aside). With ``partial``, also the account whose name contains it, when only one does."""
    text = query.strip()
    rows = sorted(
        (AccountRef(i, n) for i, n in conn.execute(select(Account.id, Account.name))),
        key=lambda r: (r.name.casefold(), r.id),
    )
    for ref in rows:
        if ref.id == text:
            return Lookup(text, match=ref)
    wanted = _folded(text)
    exact = [r for r in rows if _folded(r.name) == wanted]
    if len(exact) == 1:
        return Lookup(text, match=exact[0])
    if exact:
        return Lookup(text, candidates=tuple(exact))
    if not rows:
        return Lookup(text, empty=True)
    if not wanted:
        return Lookup(text)
    containing = [r for r in rows if wanted in _folded(r.name)]
    if partial and len(containing) == 1:
        return Lookup(text, match=containing[0], loose=True)
    if partial and containing:
        return Lookup(text, candidates=_closest(text, containing, len(containing)))
    if containing:  # a part of some names: suggest those
        return Lookup(text, suggestions=_closest(text, containing, SUGGESTIONS))
    return Lookup(text, suggestions=_closest(text, rows, SUGGESTIONS, cutoff=ALIKE))


def _folded(name: str) -> str:
    return " ".join(name.split()).casefold()


def _closest(
    text: str, rows: Sequence[AccountRef], limit: int, *, cutoff: float = 0.0
) -> tuple[AccountRef, ...]:
    """The names most like ``text``, best first: at least ``cutoff`` alike and, with a cutoff,
    within ALIKE_SPREAD of the best."""
    scored = process.extract(
        text,
        [r.name for r in rows],
        scorer=fuzz.WRatio,
        processor=utils.default_process,
        limit=limit,
        score_cutoff=cutoff or None,
    )
    if cutoff and scored:
        cutoff = max(cutoff, scored[0][1] - ALIKE_SPREAD)
    return tuple(rows[i] for _, score, i in scored if score >= cutoff)
