"""Who is clicking, and what they may change.

:class:`Caller` is the Slack user of a request as one of our users (``users.slack_user_id``,
else linked by their Slack email); a Slack user who is not one of ours gets :class:`NotSetUp`.
A card belongs to its account's CSM (the org's fallback CSM for an account with none); it may
be changed by that owner, the owner's manager (their own ``manager``, else their team's) or an
admin — checked against the database on every click, never against the payload.

Every listener declares who may use it with :func:`allow` (a listener middleware): anyone, any
of our users, the card's owner / their manager / an admin, the manager of the account's CSM /
an admin (an escalation's buttons), or an admin. The middleware resolves
the caller once per request (the listener reads it with :func:`caller_of`) and answers everyone
else itself — a refusal the user sees, and the listener never runs.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from slack_bolt import BoltContext, BoltResponse, Respond
from slack_sdk import WebClient
from sqlalchemy import Connection, select

from bot.blocks import mrkdwn as m
from bot.db.models import Account, ActionRun, Org, User
from bot.engine.facts import OrgFacts, UserFacts, load_org, load_users
from bot.engine.overview import UnknownAccount
from bot.handlers import Deps
from bot.handlers.errors import (
    NotAllowed,
    NotSetUp,
    UnknownApproval,
    notice_view,
    report,
    user_message,
)
from bot.handlers.replies import slack_user_of
from bot.handlers.work import FORWARD
from bot.service.escalations import may_handle
from bot.service.people import People, account_owner
from bot.slack.users import resolve_users, user_for_slack_id

log = logging.getLogger(__name__)

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

    def may_approve(self, owner: UserFacts | None) -> bool:
        """An approval of an action on ``owner``'s account: their manager or an admin — never
        the CSM themself."""
        if self.is_admin:
            return True
        return owner is not None and owner.id != self.user.id and owner.manager_id == self.user.id

    def require_approver(self, owner: UserFacts | None, account_name: str) -> None:
        if self.may_approve(owner):
            return
        name = f"*{m.fit(m.one_line(account_name), 150)}*"
        if owner is not None and owner.id == self.user.id:
            raise NotAllowed(
                f":lock: {name} is your account: an action on it is decided by your manager or "
                "an admin, not by you — nothing was changed."
            )
        whose = f"{m.esc(owner.name)}'s manager" if owner is not None else "The CSM's manager"
        raise NotAllowed(
            f":lock: Only {whose} or an admin can decide on this action on {name} — nothing "
            "was changed."
        )

    def require_manage(self, csm_id: str | None, account_name: str) -> None:
        """The manager of the account's CSM, or an admin (for an account with no CSM, the
        fallback CSM too): who may act on its escalation."""
        if may_handle(People(self.org, self.users), self.user, csm_id):
            return
        csm = self.users.get(csm_id) if csm_id else None
        whose = f"{m.esc(csm.name)}'s card" if csm is not None else "a card with no CSM"
        raise NotAllowed(
            f":lock: *{m.fit(m.one_line(account_name), 150)}* is {whose}. Only their manager "
            "or an admin can act on its escalation — nothing was changed."
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


def run_owner(conn: Connection, people: People, run_id: int) -> tuple[UserFacts | None, str]:
    """The owner of an action run's account now (its CSM, else the fallback CSM; the run's
    owner when the account is gone) and the account's name; UnknownApproval for no such run."""
    row = conn.execute(
        select(ActionRun.account_id, ActionRun.owner_id).where(ActionRun.id == run_id)
    ).first()
    if row is None:
        raise UnknownApproval(run_id)
    try:
        found = account_owner(conn, people, row.account_id)
    except UnknownAccount:
        return people.get(row.owner_id), str(row.account_id)
    return found.owner, found.account_name


# ------------------------------------------------------------------ permissions


class Permission(StrEnum):
    ANYONE = "anyone"  # any Slack user (the listener answers strangers itself)
    MEMBER = "member"  # one of our users
    CARD = "card"  # the card's owner, their manager, or an admin
    APPROVER = "approver"  # an approval's: the CSM's manager or an admin (not the CSM)
    MANAGER = "manager"  # the manager of the account's CSM, or an admin (escalations)
    ADMIN = "admin"


CALLER = "followup_caller"  # context key: the resolved Caller
AccountOf = Callable[[Mapping[str, Any]], str]
RunOf = Callable[[Mapping[str, Any]], int]


@dataclass(frozen=True, slots=True)
class Allow:
    """Who may use a listener; ``account_of`` reads the card's account from the request (for
    :attr:`Permission.CARD`), ``run_of`` the action run (for :attr:`Permission.APPROVER`);
    ``what`` completes "Only an admin can …"."""

    permission: Permission
    account_of: AccountOf | None = None
    what: str = "do that"
    run_of: RunOf | None = None

    def check(self, deps: Deps, client: WebClient, body: Mapping[str, Any]) -> Caller | None:
        """The caller when allowed (None for ANYONE); raises the refusal otherwise."""
        if self.permission is Permission.ANYONE:
            return None
        # Before the answer to Slack: nothing is asked of Slack here (see caller_of).
        caller = Caller.resolve(deps, client, slack_user_of(body), timezone=False)
        if self.permission is Permission.ADMIN:
            caller.require_admin(self.what)
        elif self.permission is Permission.CARD:
            assert self.account_of is not None
            account_id = self.account_of(body)
            with deps.engine.connect() as conn:
                found = account_owner(conn, People(caller.org, caller.users), account_id)
            caller.require_change(found.owner, found.account_name)
        elif self.permission is Permission.APPROVER:
            assert self.run_of is not None
            with deps.engine.connect() as conn:
                owner, name = run_owner(conn, People(caller.org, caller.users), self.run_of(body))
            caller.require_approver(owner, name)
        elif self.permission is Permission.MANAGER:
            assert self.account_of is not None
            account_id = self.account_of(body)
            with deps.engine.connect() as conn:
                row = conn.execute(
                    select(Account.name, Account.csm_id).where(Account.id == account_id)
                ).first()
            if row is None:
                raise UnknownAccount(account_id)
            caller.require_manage(row.csm_id, str(row.name))
        return caller


def allow(
    deps: Deps,
    permission: Permission,
    account_of: AccountOf | None = None,
    *,
    what: str = "do that",
    run_of: RunOf | None = None,
) -> list[Callable[..., BoltResponse | None]]:
    """The listener middleware that lets only ``permission``'s callers through:
    ``@app.action(ActionId.X, middleware=allow(deps, Permission.CARD, account_of))``."""
    rule = Allow(permission, account_of, what, run_of)

    def permitted(
        body: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
        next: Callable[[], BoltResponse],
    ) -> BoltResponse | None:
        if context.get(FORWARD) is not None:
            # `serve`'s answering process: the listener only acknowledges and forwards the
            # request to a work process, whose own run of this middleware decides.
            return next()
        try:
            caller = rule.check(deps, client, body)
        except Exception as exc:
            return refuse(exc, body=body, client=client, respond=respond, context=context)
        if caller is not None:
            context[CALLER] = caller
        return next()

    permitted.allow = rule  # type: ignore[attr-defined]  # read by tests/test_permissions.py
    return [permitted]


def refuse(
    error: BaseException,
    *,
    body: Mapping[str, Any],
    client: WebClient,
    respond: Respond | None,
    context: Mapping[str, Any],
) -> BoltResponse:
    """Answer a refused request: a modal submission turns into a notice; anything else is
    acknowledged and the user told why (after the answer, so Slack does not wait for it)."""
    if body.get("type") == "view_submission":
        text, _ = user_message(error)
        log.info("view_submission refused: %s", type(error).__name__)
        notice = {"response_action": "update", "view": notice_view(text).to_dict()}
        return BoltResponse(
            status=200, body=json.dumps(notice), headers={"content-type": "application/json"}
        )
    threading.Thread(
        target=report,
        args=(error,),
        kwargs={"body": body, "client": client, "respond": respond, "context": context},
        name="refusal",
        daemon=True,
    ).start()
    return BoltResponse(status=200, body="")


def caller_of(
    deps: Deps, client: WebClient, body: Mapping[str, Any], context: Any, *, timezone: bool = True
) -> Caller:
    """The caller the permission middleware resolved (resolved here if none did). The
    middleware answers Slack at once, so it never asks Slack anything; with ``timezone`` (work
    after the answer), a caller whose time zone nobody gave yet gets Slack's now."""
    found = context.get(CALLER) if context is not None else None
    if not isinstance(found, Caller):
        return Caller.resolve(deps, client, slack_user_of(body), timezone=timezone)
    if timezone:
        ident = resolve_users(deps.engine, client, [found.user.id]).get(found.user.id)
        if ident is not None and ident.timezone and ident.timezone != found.user.timezone:
            user = replace(found.user, timezone=ident.timezone)
            found = replace(found, user=user, users={**found.users, user.id: user})
    return found
