"""Create an expansion opportunity on an account (from the summary's suggestions), audited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine, insert, select

from bot.db.models import Account, AuditLog, Opportunity
from bot.engine.overview import UnknownAccount


@dataclass(frozen=True, slots=True)
class NewOpportunity:
    id: str
    account_id: str
    account_name: str
    title: str
    amount: float | None
    close_date: date | None


def create_opportunity(
    engine: Engine,
    account_id: str,
    title: str,
    *,
    amount: float | None,
    close_date: date | None,
    actor: str,
    now: datetime,
) -> NewOpportunity:
    """Store an open expansion opportunity (stage "Identified"); UnknownAccount if the account
    is gone."""
    opportunity_id = f"opp-{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        name = conn.execute(select(Account.name).where(Account.id == account_id)).scalar()
        if name is None:
            raise UnknownAccount(account_id)
        conn.execute(
            insert(Opportunity).values(
                id=opportunity_id,
                account_id=account_id,
                title=title,
                kind="expansion",
                stage="Identified",
                status="open",
                amount=amount,
                close_date=close_date,
            )
        )
        conn.execute(
            insert(AuditLog).values(
                at=now,
                actor=actor,
                action="opportunity.created",
                subject=f"account:{account_id}",
                details={
                    "opportunity": opportunity_id,
                    "title": title,
                    "amount": amount,
                    "close_date": close_date.isoformat() if close_date else None,
                },
            )
        )
    return NewOpportunity(opportunity_id, account_id, str(name), title, amount, close_date)
