"""One executor per action (followup-rules.md "Action policy"): what it writes, and the messages
it queues in the outbox. Each runs inside the transaction that records its action run, so that
what it writes, the run, its audit entry and its messages commit together or not at all.

An executor answers :class:`Done` (a result for the run, messages to queue) or
:class:`Refused` (a precondition is missing — no owner, no specialists channel, no one to take an
account over: nothing was written, and the run is tried again on a later tick).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, func, insert, or_, select, update

from bot.blocks.action_messages import (
    checkin_draft_message,
    notify_owner_message,
    reassigned_message,
    specialist_message,
)
from bot.blocks.message import SlackMessage
from bot.db.models import (
    Account,
    Contact,
    DiscountRequest,
    HealthScoreUpdate,
    SequenceMembership,
    Task,
)
from bot.db.upsert import insert_ignore
from bot.engine.actions import Recommendation
from bot.engine.assessment import Assessment
from bot.engine.execution import (
    SEQUENCES,
    checkin_draft,
    lowest_load,
    pick_contact,
    task_for,
)
from bot.engine.execution import Contact as DraftContact
from bot.engine.facts import NEVER_FLAGGED_STATUSES, OrgFacts, UserFacts
from bot.service.outbox import Kind, Message


@dataclass(slots=True)
class Run:
    """One action being executed: the recommendation and where it stands."""

    id: int
    key: str
    rec: Recommendation
    assessment: Assessment
    org: OrgFacts
    users: dict[str, UserFacts]
    now: datetime
    approved_by: str | None = None

    @property
    def account_name(self) -> str:
        return self.assessment.profile.name

    @property
    def reasons(self) -> list[str]:
        return [f"{t.name.replace('_', ' ')}: {t.text}" for t in self.rec.triggers]

    def name_of(self, user_id: str | None) -> str | None:
        user = self.users.get(user_id or "")
        return user.name if user else user_id

    def dm(self, suffix: str, user_id: str, message: SlackMessage) -> Message:
        return Message(
            f"action:{self.key}:{suffix}",
            Kind.DM,
            user_id,
            message.to_dict(),
            subject=f"action_run:{self.id}",
        )


@dataclass(slots=True)
class Done:
    result: dict[str, Any]
    messages: list[Message] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Refused:
    reason: str


Outcome = Done | Refused
Executor = Callable[[Connection, Run], Outcome]

NO_OWNER = "the account has no CSM and the org no fallback CSM"


def _task(conn: Connection, run: Run, assignee: str | None) -> str:
    spec = task_for(run.rec.action.id, run.account_name, run.rec)
    assert spec is not None
    task_id = f"bot-action-{run.id}"
    conn.execute(
        insert(Task).values(
            id=task_id,
            account_id=run.rec.account,
            title=spec.title,
            due_at=run.now + spec.due_in,
            priority=spec.priority,
            status="open",
            assignee_id=assignee,
            created_at=run.now,
            auto_created=True,
        )
    )
    return task_id


def notify_owner(conn: Connection, run: Run) -> Outcome:
    owner = run.rec.owner
    if owner is None:
        return Refused(NO_OWNER)
    message = notify_owner_message(
        run.id,
        run.account_name,
        run.rec.priority.value,
        run.reasons,
        approved_by=run.name_of(run.approved_by) if run.approved_by else None,
    )
    return Done({"notified": owner}, [run.dm("dm", owner, message)])


def create_task(conn: Connection, run: Run) -> Outcome:
    return Done({"task": _task(conn, run, run.rec.owner)})


def record_health_score(conn: Connection, run: Run) -> Outcome:
    legacy = run.assessment.legacy
    previous = conn.execute(
        select(HealthScoreUpdate.score)
        .where(HealthScoreUpdate.account_id == run.rec.account)
        .order_by(HealthScoreUpdate.at.desc(), HealthScoreUpdate.id.desc())
        .limit(1)
    ).scalar()
    conn.execute(
        insert(HealthScoreUpdate).values(
            account_id=run.rec.account,
            action_run_id=run.id,
            at=run.now,
            score=legacy.total,
            tier=legacy.tier,
            previous=previous,
            factors={
                "points": {line.field: line.points for line in legacy.lines},
                "themes": [t.id for t in run.assessment.themes],
            },
        )
    )
    return Done({"score": legacy.total, "tier": legacy.tier, "previous": previous})


def escalate_to_specialist(conn: Connection, run: Run) -> Outcome:
    channel = run.org.specialists_channel
    if not channel:
        return Refused("the org has no specialists_channel: set one (data-format.md, org)")
    message = specialist_message(
        run.id,
        run.account_name,
        run.name_of(run.assessment.profile.csm_id),
        run.rec.priority.value,
        run.reasons,
        approved_by=run.name_of(run.approved_by) if run.approved_by else None,
    )
    post = Message(
        f"action:{run.key}:post",
        Kind.POST,
        channel,
        message.to_dict(),
        subject=f"action_run:{run.id}",
    )
    return Done({"channel": channel}, [post])


def add_to_sequence(conn: Connection, run: Run) -> Outcome:
    sequence = SEQUENCES[run.rec.action.id]
    added = insert_ignore(
        conn,
        cast(Table, SequenceMembership.__table__),
        {
            "account_id": run.rec.account,
            "sequence": sequence,
            "added_at": run.now,
            "action_run_id": run.id,
        },
        ("account_id", "sequence"),
    )
    return Done({"sequence": sequence, "added": added is not None})


def send_checkin_email(conn: Connection, run: Run) -> Outcome:
    owner = run.rec.owner
    if owner is None:
        return Refused(NO_OWNER)
    contacts = [
        DraftContact(name, email, role)
        for name, email, role in conn.execute(
            select(Contact.name, Contact.email, Contact.role)
            .where(Contact.account_id == run.rec.account)
            .order_by(Contact.id)
        )
    ]
    draft = checkin_draft(
        run.account_name,
        pick_contact(contacts),
        run.name_of(owner),
        [t.id for t in run.assessment.themes],
    )
    message = checkin_draft_message(
        run.id,
        run.account_name,
        draft,
        run.reasons,
        approved_by=run.name_of(run.approved_by) if run.approved_by else None,
    )
    return Done({"draft": draft.to_json(), "to": owner}, [run.dm("dm", owner, message)])


def reassign_ownership(conn: Connection, run: Run) -> Outcome:
    """The account moves to the active CSM of the previous CSM's team (else of any team) who
    owns the fewest accounts; the new owner is told, and the previous one when still active."""
    previous = run.assessment.profile.csm_id
    team = run.users[previous].team_id if previous in run.users else None
    csms = [u for u in run.users.values() if u.active and u.role == "csm"]
    pool = [u for u in csms if team is not None and u.team_id == team and u.id != previous]
    pool = pool or csms
    loads = {
        str(csm): int(n)
        for csm, n in conn.execute(
            select(Account.csm_id, func.count())
            .where(
                Account.csm_id.is_not(None),
                or_(Account.status.is_(None), Account.status.not_in(NEVER_FLAGGED_STATUSES)),
            )
            .group_by(Account.csm_id)
        )
    }
    new = lowest_load([(u.id, u.name) for u in pool], loads, leaving=previous)
    if new is None:
        return Refused("no active CSM to take the account over")
    conn.execute(update(Account).where(Account.id == run.rec.account).values(csm_id=new))
    new_name = run.name_of(new) or new
    previous_name = run.name_of(previous)
    approved = run.name_of(run.approved_by) if run.approved_by else None
    told = [
        run.dm(
            "new_owner",
            new,
            reassigned_message(
                run.id,
                run.account_name,
                to_new_owner=True,
                previous=previous_name,
                new=new_name,
                rationale=run.reasons,
                approved_by=approved,
            ),
        )
    ]
    if previous is not None and previous in run.users and run.users[previous].active:
        told.append(
            run.dm(
                "previous_owner",
                previous,
                reassigned_message(
                    run.id,
                    run.account_name,
                    to_new_owner=False,
                    previous=previous_name,
                    new=new_name,
                    rationale=run.reasons,
                    approved_by=approved,
                ),
            )
        )
    return Done({"from": previous, "to": new, "load": loads.get(new, 0)}, told)


def create_discount_request(conn: Connection, run: Run) -> Outcome:
    task_id = _task(conn, run, run.rec.owner)
    request_id = conn.execute(
        insert(DiscountRequest)
        .values(
            account_id=run.rec.account,
            action_run_id=run.id,
            requested_for=run.rec.owner,
            status="open",
            reason=run.rec.rationale,
            task_id=task_id,
            created_at=run.now,
        )
        .returning(DiscountRequest.id)
    ).scalar_one()
    return Done({"discount_request": request_id, "task": task_id})


EXECUTORS: dict[str, Executor] = {
    "notify_owner_slack": notify_owner,
    "schedule_checkpoint_7d": create_task,
    "create_support_task": create_task,
    "update_csm_health_score": record_health_score,
    "escalate_to_specialist": escalate_to_specialist,
    "add_to_onboarding_recovery": add_to_sequence,
    "add_to_low_adoption_nurture": add_to_sequence,
    "send_checkin_email": send_checkin_email,
    "reassign_ownership": reassign_ownership,
    "create_discount_request": create_discount_request,
}
