"""Who is clicking, and what they may change.

:class:`Caller` is the Slack user of a request as one of our users (``users.slack_user_id``,
else linked by their Slack email); a Slack user who is not one of ours gets :class:`NotSetUp`.
A card belongs to its account's CSM (the org's fallback CSM for an account with none); it may
be changed by that owner, the owner's manager (their own ``manager``, else their team's) or an
admin — checked against the database on every click, never against the payload.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from slack_sdk import WebClient
from sqlalchemy import Connection, select

from bot.blocks import mrkdwn as m
from bot.db.models import Account, Org, User
from bot.engine.facts import OrgFacts, UserFacts, load_org, load_users
from bot.handlers import Deps
from bot.handlers.errors import NotAllowed, NotSetUp
from bot.slack.users import resolve_users, user_for_slack_id

ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Caller:
    user: UserFacts
    org: OrgFacts
    users: Mapping[str, UserFacts]
    slack_user_id: str

    @classmethod
    def resolve(
        cls, deps: Deps, client: WebClient, slack_user_id: str | None, *, timezone: bool = True
    ) -> Caller:
        """The caller, or NotSetUp. ``timezone``: ask Slack for it when nobody gave one yet
        (skip it on the way to a ``views.open``, whose trigger_id lives 3 seconds)."""
        if not slack_user_id:
            raise NotSetUp()
        user_id = user_for_slack_id(deps.engine, client, slack_user_id)
        if user_id is None:
            raise NotSetUp()
        if timezone:
            resolve_users(deps.engine, client, [user_id])
        with deps.engine.connect() as conn:
            org = load_org(conn)
            users = load_users(conn, org.timezone)
        user = users.get(user_id)
        if user is None:
            raise NotSetUp()
        return cls(user, org, users, slack_user_id)

    @property
    def is_admin(self) -> bool:
        return self.user.role == ADMIN

    def name_of(self, user_id: str | None) -> str:
        if user_id is None:
            return "someone"
        if user_id == self.user.id:
            return "you"
        found = self.users.get(user_id)
        return found.name if found is not None else user_id

    def owner(self, owner_id: str | None) -> UserFacts | None:
        return self.users.get(owner_id) if owner_id else None

    def may_change(self, owner: UserFacts | None) -> bool:
        """The owner of a card, the owner's manager, or an admin."""
        if self.is_admin:
            return True
        if owner is None:
            return False
        return owner.id == self.user.id or owner.manager_id == self.user.id

    def require_change(self, owner: UserFacts | None, account_name: str) -> None:
        if self.may_change(owner):
            return
        whose = f"{m.esc(owner.name)}'s card" if owner is not None else "a card with no owner"
        raise NotAllowed(
            f":lock: *{m.fit(m.one_line(account_name), 150)}* is {whose}. Only its CSM, their "
            "manager or an admin can change it — nothing was changed."
        )

    def require_admin(self, what: str) -> None:
        if not self.is_admin:
            raise NotAllowed(f":lock: Only an admin can {what}.")


def owner_timezone(conn: Connection, account_id: str, slack_user_id: str | None) -> str:
    """The time zone snoozes of this account's card are computed in: its owner's (the CSM, else
    the org's fallback CSM), else the clicking user's, else the org's. Two quick reads, no Slack
    (for validating a modal before its ``ack``)."""
    org = conn.execute(select(Org.timezone, Org.fallback_csm_id).order_by(Org.id).limit(1)).first()
    org_tz = (org.timezone if org is not None else None) or "UTC"
    owner = conn.execute(select(Account.csm_id).where(Account.id == account_id)).scalar()
    if owner is None and org is not None:
        owner = org.fallback_csm_id
    cond = User.id == owner if owner is not None else User.slack_user_id == slack_user_id
    row = conn.execute(select(User.timezone, User.slack_timezone).where(cond).limit(1)).first()
    if row is None and owner is not None and slack_user_id:
        row = conn.execute(
            select(User.timezone, User.slack_timezone)
            .where(User.slack_user_id == slack_user_id)
            .limit(1)
        ).first()
    if row is None:
        return str(org_tz)
    return str(row.timezone or row.slack_timezone or org_tz)
