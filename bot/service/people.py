"""Who is who: the org, its users by id, and whose queue an account's card is in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, select

from bot.db.models import Account
from bot.engine.facts import OrgFacts, UserFacts, load_org, load_users
from bot.engine.overview import UnknownAccount
from bot.engine.queue import card_owner_id


@dataclass(frozen=True, slots=True)
class People:
    org: OrgFacts
    users: Mapping[str, UserFacts]

    def names(self) -> dict[str, str]:
        return {u.id: u.name for u in self.users.values()}

    def get(self, user_id: str | None) -> UserFacts | None:
        return self.users.get(user_id) if user_id else None

    def owner_id(self, csm_id: str | None) -> str | None:
        """The reader of an account's card: its CSM, else the org's fallback CSM."""
        return card_owner_id(csm_id, self.org.fallback_csm_id)


def load_people(conn: Connection) -> People:
    org = load_org(conn)
    return People(org, load_users(conn, org.timezone))


@dataclass(frozen=True, slots=True)
class AccountOwner:
    account_id: str
    account_name: str
    owner: UserFacts | None


def account_owner(conn: Connection, people: People, account_id: str) -> AccountOwner:
    """An account's name and the owner of its card; UnknownAccount if there is no such account."""
    row = conn.execute(select(Account.name, Account.csm_id).where(Account.id == account_id)).first()
    if row is None:
        raise UnknownAccount(account_id)
    return AccountOwner(account_id, str(row.name), people.get(people.owner_id(row.csm_id)))
