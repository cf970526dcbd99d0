"""Each of the sixteen signals at and around its default threshold, through the real importer
and the real sweep (followup-rules.md "Signals")."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.portfolio import NOW, Portfolio, iso, load, next_id, ny, signals, sweep

D = timedelta(days=1)
H = timedelta(hours=1)


@pytest.fixture
def p() -> Portfolio:
    return Portfolio()


def fired(url: str, p: Portfolio, tmp_path: Path, now=NOW, account: str = "acc-1") -> dict:
    load(url, p, tmp_path)
    return signals(sweep(url, now), account)


# ------------------------------------------------------------ unreplied_customer_email


def inbound(p: Portfolio, at, thread: str = "th-1", subject: str = "Renewal terms", **kw):
    return p.activity(
        "acc-1", at, kind="email", direction="inbound", thread=thread, subject=subject, **kw
    )


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        (ny(2026, 11, 13, 16), None),  # Fri 16:00 → Mon 15:00 = 1 + 6 = 7 business hours
        (ny(2026, 11, 13, 15), None),  # exactly 8 business hours: not older than the SLA
        (ny(2026, 11, 13, 14), "high"),  # 9 business hours
        (ny(2026, 11, 11, 16), "high"),  # Wed 16:00: 1 + 8 + 8 + 6 = 23 hours
        (ny(2026, 11, 11, 13), "critical"),  # 4 + 8 + 8 + 6 = 26 > 3 × 8
    ],
)
def test_unreplied_email_counts_business_hours(sqlite_url, p, tmp_path, received, expected) -> None:
    p.quiet_account()
    p.add("contacts", id="c-li", account="acc-1", name="Li Wei", role="champion")
    inbound(p, received, contact="c-li", id="a-881")
    reason = fired(sqlite_url, p, tmp_path).get("unreplied_customer_email")
    if expected is None:
        assert reason is None
    else:
        assert reason is not None and reason["severity"] == expected
        assert reason["evidence"] == "activity:a-881"
        assert "Li Wei" in reason["detail"] and "'Renewal terms'" in reason["detail"]


def test_reply_closes_the_thread_but_internal_note_does_not(sqlite_url, p, tmp_path) -> None:
    p.quiet_account()
    inbound(p, NOW - 5 * D, thread="th-replied")
    p.activity("acc-1", NOW - 4 * D, kind="email", direction="outbound", thread="th-replied")
    inbound(p, NOW - 5 * D, thread="th-internal", id="a-wait")
    p.activity("acc-1", NOW - 4 * D, kind="email", direction="internal", thread="th-internal")
    reason = fired(sqlite_url, p, tmp_path)["unreplied_customer_email"]
    assert reason["evidence"] == "activity:a-wait"


def test_unthreaded_inbound_emails_are_threads_of_their_own(sqlite_url, p, tmp_path) -> None:
    p.quiet_account()
    inbound(p, NOW - 5 * D, thread=None, id="a-1")
    inbound(p, NOW - 4 * D, thread=None, id="a-2")
    load(sqlite_url, p, tmp_path)
    card = next(c for c in sweep(sqlite_url).cards if c.account == "acc-1")
    evidence = {r.evidence for r in card.reasons if r.signal == "unreplied_customer_email"}
    assert evidence == {"activity:a-1", "activity:a-2"}


def test_unreplied_lookback(sqlite_url, p, tmp_path) -> None:
    p.quiet_account()
    inbound(p, NOW - 31 * D)
    assert "unreplied_customer_email" not in fired(sqlite_url, p, tmp_path)


def test_unreplied_uses_the_csm_time_zone(sqlite_url, p, tmp_path) -> None:
    # Ana works in Los Angeles: Mon 15:00 New York is 12:00 there, 3 business hours into Monday.
    p.data["users"][1]["timezone"] = "America/Los_Angeles"
    p.quiet_account()
    inbound(p, ny(2026, 11, 13, 19))  # Fri 16:00 LA: 1 + 3 = 4 hours in LA
    assert "unreplied_customer_email" not in fired(sqlite_url, p, tmp_path)


# -------------------------------------------------------- no_first_response / never_touched


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (47 * H, set()),
        (49 * H, {"no_first_response"}),
        (30 * D, {"no_first_response"}),
        (31 * D, {"never_touched"}),
    ],
)
def test_first_response_then_never_touched(sqlite_url, p, tmp_path, age, expected) -> None:
    p.account(created_at=iso(NOW - age))
    got = set(fired(sqlite_url, p, tmp_path)) & {"no_first_response", "never_touched"}
    assert got == expected


def test_no_created_at_counts_as_old(sqlite_url, p, tmp_path) -> None:
    p.account(created_at=None)
    got = fired(sqlite_url, p, tmp_path)
    assert got["never_touched"]["evidence"] == "none"
    assert "no_first_response" not in got


def test_a_connected_call_is_a_first_touch_but_a_missed_one_is_not(sqlite_url, p, tmp_path) -> None:
    p.account("acc-1", created_at=iso(NOW - 5 * D))
    p.activity("acc-1", NOW - 1 * D, kind="call", direction="inbound", outcome="connected")
    p.account("acc-2", created_at=iso(NOW - 5 * D))
    p.activity("acc-2", NOW - 1 * D, kind="call", direction="outbound", outcome="no_answer")
    load(sqlite_url, p, tmp_path)
    result = sweep(sqlite_url)
    assert "no_first_response" not in signals(result, "acc-1")
    assert signals(result, "acc-2")["no_first_response"]["severity"] == "critical"


# ------------------------------------------------------------------------ overdue_task


@pytest.mark.parametrize(
    ("priority", "severity"),
    [("urgent", "critical"), ("high", "high"), ("normal", "medium"), ("low", "low")],
)
def test_overdue_task_severity_follows_priority(
    sqlite_url, p, tmp_path, priority, severity
) -> None:
    p.quiet_account()
    due = NOW - 1 * H
    p.add(
        "tasks",
        id="t-9",
        account="acc-1",
        title="Send QBR deck",
        priority=priority,
        due_at=iso(due),
    )
    reason = fired(sqlite_url, p, tmp_path)["overdue_task"]
    assert reason["severity"] == severity
    assert reason["evidence"] == f"task:t-9@{iso(due)}"


def test_task_not_yet_due_or_done_is_not_overdue(sqlite_url, p, tmp_path) -> None:
    p.quiet_account()
    p.add("tasks", id="t-1", account="acc-1", title="Later", due_at=iso(NOW + 1 * H))
    p.add(
        "tasks",
        id="t-2",
        account="acc-1",
        title="Done",
        due_at=iso(NOW - 5 * D),
        status="done",
        completed_at=iso(NOW - 6 * D),
    )
    assert "overdue_task" not in fired(sqlite_url, p, tmp_path)


# ---------------------------------------------------------------------- call_retry_due


@pytest.mark.parametrize(("hours_ago", "fires"), [(23, False), (25, True)])
def test_call_retry_after_24_hours(sqlite_url, p, tmp_path, hours_ago, fires) -> None:
    p.account(created_at=iso(NOW - 400 * D))
    p.touch("acc-1", NOW - 10 * D)
    p.activity(
        "acc-1",
        NOW - hours_ago * H,
        kind="call",
        direction="outbound",
        outcome="voicemail",
        id="call-1",
    )
    got = fired(sqlite_url, p, tmp_path)
    assert ("call_retry_due" in got) is fires
    if fires:
        assert got["call_retry_due"] == {
            "signal": "call_retry_due",
            "group": "direct_action",
            "severity": "medium",
            "detail": got["call_retry_due"]["detail"],
            "evidence": "activity:call-1",
        }


def test_touch_after_missed_call_cancels_retry(sqlite_url, p, tmp_path) -> None:
    p.account()
    p.activity("acc-1", NOW - 3 * D, kind="call", direction="outbound", outcome="no_answer")
    p.touch("acc-1", NOW - 2 * D)
    assert "call_retry_due" not in fired(sqlite_url, p, tmp_path)


# ------------------------------------------------------------ stale_high_impact_request


@pytest.mark.parametrize(("days", "fires"), [(29, False), (31, True)])
def test_stale_high_impact_request(sqlite_url, p, tmp_path, days, fires) -> None:
    p.quiet_account()
    p.add(
        "requests",
        id="r-1",
        accounts=["acc-1"],
        title="Okta SSO",
        impact="high",
        status="planned",
        created_at=iso(NOW - 90 * D),
        updated_at=iso(NOW - days * D),
    )
    assert ("stale_high_impact_request" in fired(sqlite_url, p, tmp_path)) is fires


def test_linked_activity_freshens_a_request(sqlite_url, p, tmp_path) -> None:
    p.quiet_account()
    p.add(
        "requests",
        id="r-1",
        accounts=["acc-1"],
        title="Okta SSO",
        impact="high",
        status="open",
        created_at=iso(NOW - 90 * D),
    )
    p.activity("acc-1", NOW - 3 * D, kind="note", direction="internal", request="r-1")
    p.add(
        "requests",
        id="r-2",
        accounts=["acc-1"],
        title="Audit log",
        impact="medium",
        status="open",
        created_at=iso(NOW - 90 * D),
    )
    assert "stale_high_impact_request" not in fired(sqlite_url, p, tmp_path)


# ----------------------------------------------------------------- unowned_action_item


def test_unowned_action_item_only_for_meetings_that_took_place(sqlite_url, p, tmp_path) -> None:
    p.quiet_account()
    items = [
        {"text": "Send the SOC 2 report", "owner": None, "done": False},
        {"text": "Owned", "owner": "u-ana", "done": False},
        {"text": "Finished", "owner": None, "done": True},
    ]
    p.add(
        "meetings",
        id="m-past",
        account="acc-1",
        title="QBR",
        starts_at=iso(NOW - 3 * D),
        next_step="Follow up",
        action_items=items,
    )
    p.add(
        "meetings",
        id="m-future",
        account="acc-1",
        title="Planning",
        starts_at=iso(NOW + 3 * D),
        action_items=items,
    )
    reason = fired(sqlite_url, p, tmp_path)["unowned_action_item"]
    assert reason["evidence"] == "meeting:m-past" and reason["severity"] == "high"
    assert "SOC 2" in reason["detail"] and "Owned" not in reason["detail"]


# ------------------------------------------------------------------------- health_drop


@pytest.mark.parametrize(
    ("before", "after", "severity"),
    [(82, 55, "critical"), (79, 62, "high"), (75, 62, None), (45, 30, "critical"), (62, 80, None)],
)
def test_health_drop(sqlite_url, p, tmp_path, before, after, severity) -> None:
    p.quiet_account()
    p.add("health_scores", account="acc-1", at=iso(NOW - 40 * D), score=before)
    p.add("health_scores", account="acc-1", at=iso(NOW - 10 * D), score=after)
    p.add("health_scores", account="acc-1", at=iso(NOW - 70 * D), score=10)  # older: ignored
    reason = fired(sqlite_url, p, tmp_path).get("health_drop")
    assert (reason and reason["severity"]) == severity
    if reason:
        assert reason["evidence"] == f"health:{(NOW - 10 * D).date().isoformat()}"


# --------------------------------------------------------------------- request_shipped


def shipped(p: Portfolio, days_ago: float = 4, rid: str = "r-9") -> None:
    p.add(
        "requests",
        id=rid,
        accounts=["acc-1"],
        title="Okta SSO",
        impact="high",
        status="shipped",
        created_at=iso(NOW - 90 * D),
        shipped_at=iso(NOW - days_ago * D),
    )


def test_shipped_request_is_news_with_a_hook(sqlite_url, p, tmp_path) -> None:
    p.quiet_account()
    shipped(p)
    load(sqlite_url, p, tmp_path)
    result = sweep(sqlite_url)
    reason = signals(result)["request_shipped"]
    assert reason["evidence"] == "request:r-9@shipped" and reason["severity"] == "medium"
    card = result.cards[0]
    assert card.lane.value == "bring_them_news"
    assert card.hook is not None and "Okta SSO" in card.hook


def test_shipped_outside_news_window_is_not_news(sqlite_url, p, tmp_path) -> None:
    p.quiet_account()
    shipped(p, days_ago=31)
    assert "request_shipped" not in fired(sqlite_url, p, tmp_path)


@pytest.mark.parametrize(
    ("task_done_days_ago", "email_days_ago", "why"),
    [
        (3, None, "follow-up task done"),
        (None, 3, "outbound email after ship"),
        (3, 1, "follow-up task done"),  # the task came first
        (1, 3, "outbound email after ship"),  # the email came first
    ],
)
def test_shipped_follow_through_suppresses_whichever_first(
    sqlite_url, p, tmp_path, task_done_days_ago, email_days_ago, why
) -> None:
    p.account()
    shipped(p, days_ago=4)
    p.touch("acc-1", NOW - 20 * D)  # before the ship: does not count
    if task_done_days_ago is not None:
        p.add(
            "tasks",
            id="t-auto",
            account="acc-1",
            title="Tell them about Okta SSO",
            request="r-9",
            auto_created=True,
            status="done",
            completed_at=iso(NOW - task_done_days_ago * D),
        )
    if email_days_ago is not None:
        p.touch("acc-1", NOW - email_days_ago * D)
    load(sqlite_url, p, tmp_path)
    result = sweep(sqlite_url)
    assert "request_shipped" not in signals(result)
    assert [s.to_json() for s in result.suppressed] == [
        {"account": "acc-1", "signal": "request_shipped", "evidence": "request:r-9", "why": why}
    ]


def test_suppression_applies_from_the_moment_it_happens(sqlite_url, p, tmp_path) -> None:
    p.quiet_account()
    shipped(p, days_ago=6)
    p.add(
        "tasks",
        id="t-auto",
        account="acc-1",
        title="Tell them",
        request="r-9",
        auto_created=True,
        status="done",
        completed_at=iso(NOW - 3 * D),
    )
    load(sqlite_url, p, tmp_path)
    before = sweep(sqlite_url, NOW - 4 * D)  # the task was not done yet
    after = sweep(sqlite_url, NOW)
    assert "request_shipped" in signals(before)
    assert "request_shipped" not in signals(after)


# ------------------------------------------------------------------- request_discussed


def test_discussed_request_without_follow_up(sqlite_url, p, tmp_path) -> None:
    p.quiet_account()
    discussed = NOW - 3 * D
    p.add(
        "requests",
        id="r-5",
        accounts=["acc-1"],
        title="Bulk export",
        impact="medium",
        status="in_progress",
        created_at=iso(NOW - 50 * D),
        discussed_at=iso(discussed),
    )
    reason = fired(sqlite_url, p, tmp_path)["request_discussed"]
    assert reason["severity"] == "low" and reason["evidence"] == f"request:r-5@{iso(discussed)}"


def test_note_after_discussion_suppresses(sqlite_url, p, tmp_path) -> None:
    p.quiet_account()
    p.add(
        "requests",
        id="r-5",
        accounts=["acc-1"],
        title="Bulk export",
        impact="medium",
        status="in_progress",
        created_at=iso(NOW - 50 * D),
        discussed_at=iso(NOW - 3 * D),
    )
    p.activity("acc-1", NOW - 1 * D, kind="note", direction="internal", body="Told them on chat")
    load(sqlite_url, p, tmp_path)
    result = sweep(sqlite_url)
    assert "request_discussed" not in signals(result)
    assert [(s.signal, s.why) for s in result.suppressed] == [
        ("request_discussed", "note after discussion")
    ]


# ---------------------------------------------------------------------- stay close


@pytest.mark.parametrize(
    ("policy", "days", "severity"),
    [
        ("strategic", 13, None),
        ("strategic", 15, "medium"),
        ("onboarding", 8, "medium"),
        ("standard", 29, None),
        ("standard", 31, "low"),
        ("low_touch", 59, None),
        ("low_touch", 61, "low"),
    ],
)
def test_no_recent_touch_by_policy(sqlite_url, p, tmp_path, policy, days, severity) -> None:
    p.account(touch_policy=policy)
    p.touch("acc-1", NOW - days * D, id="a-touch")
    reason = fired(sqlite_url, p, tmp_path).get("no_recent_touch")
    assert (reason and reason["severity"]) == severity
    if reason:
        assert reason["evidence"] == "activity:a-touch"


def test_a_meeting_record_that_took_place_is_a_touch(sqlite_url, p, tmp_path) -> None:
    p.account(touch_policy="strategic")
    p.touch("acc-1", NOW - 40 * D)
    p.add(
        "meetings",
        id="m-held",
        account="acc-1",
        title="Sync",
        starts_at=iso(NOW - 5 * D),
        next_step="x",
    )
    p.add(
        "meetings",
        id="m-canceled",
        account="acc-1",
        title="Sync",
        canceled=True,
        starts_at=iso(NOW - 1 * D),
    )
    load(sqlite_url, p, tmp_path)
    result = sweep(sqlite_url)
    assert "no_recent_touch" not in signals(result)
    assert result.cards == [] or result.cards[0].last_touch_days == 5


@pytest.mark.parametrize(
    ("policy", "days", "fires"),
    [
        ("strategic", 29, False),
        ("strategic", 31, True),
        ("onboarding", 15, True),
        ("standard", 91, True),
        ("low_touch", 400, False),
    ],
)
def test_stale_meeting_cadence(sqlite_url, p, tmp_path, policy, days, fires) -> None:
    p.account(touch_policy=policy)
    p.touch("acc-1", NOW - 1 * D)
    p.activity("acc-1", NOW - days * D, kind="meeting", direction="outbound", id="a-meet")
    got = fired(sqlite_url, p, tmp_path)
    assert ("stale_meeting_cadence" in got) is fires
    if fires:
        assert got["stale_meeting_cadence"]["evidence"] == "activity:a-meet"


def test_cadence_waits_for_young_accounts(sqlite_url, p, tmp_path) -> None:
    p.account(touch_policy="strategic", created_at=iso(NOW - 20 * D))
    p.touch("acc-1", NOW - 1 * D)
    assert "stale_meeting_cadence" not in fired(sqlite_url, p, tmp_path)


@pytest.mark.parametrize(
    ("ended_hours_ago", "next_step", "note", "fires"),
    [
        (47, None, None, False),
        (49, None, None, True),
        (49, "Send proposal", None, False),
        (49, None, "linked", False),
        (49, None, "after", False),
        (31 * 24, None, None, False),
    ],
)
def test_missing_next_step(
    sqlite_url, p, tmp_path, ended_hours_ago, next_step, note, fires
) -> None:
    p.quiet_account()
    ends = NOW - ended_hours_ago * H
    p.add(
        "meetings",
        id="m-1",
        account="acc-1",
        title="Kickoff",
        starts_at=iso(ends - H),
        ends_at=iso(ends),
        next_step=next_step,
    )
    if note == "linked":
        p.activity(
            "acc-1", NOW - 1 * H, kind="post_meeting_note", direction="internal", meeting="m-1"
        )
    elif note == "after":
        p.activity("acc-1", ends + H, kind="post_meeting_note", direction="internal")
    got = fired(sqlite_url, p, tmp_path)
    assert ("missing_next_step" in got) is fires
    if fires:
        assert got["missing_next_step"]["evidence"] == "meeting:m-1"


def test_no_next_action(sqlite_url, p, tmp_path) -> None:
    p.account("acc-1")
    p.touch("acc-1", NOW - 1 * D, id="a-last")
    p.account("acc-2")
    p.touch("acc-2", NOW - 1 * D)
    p.add("tasks", id="t-next", account="acc-2", title="Check in", due_at=iso(NOW + 2 * D))
    load(sqlite_url, p, tmp_path)
    result = sweep(sqlite_url)
    assert signals(result, "acc-1")["no_next_action"]["evidence"] == "activity:a-last"
    assert "no_next_action" not in signals(result, "acc-2")


@pytest.mark.parametrize(
    ("policy", "csm", "csm_age_days", "ai", "fires"),
    [
        ("strategic", 4, 10, None, True),
        ("strategic", 5, 10, None, False),
        ("standard", 2, 10, None, False),
        ("strategic", 4, 91, None, False),  # expired after 90 days
        ("strategic", 1, 31, None, False),  # a 1 expires after 30 days
        ("strategic", 1, 29, None, True),
        ("strategic", 7, 10, 3, True),  # the AI pulse is low
    ],
)
def test_low_pulse(sqlite_url, p, tmp_path, policy, csm, csm_age_days, ai, fires) -> None:
    fields = {"csm_pulse": {"score": csm, "set_at": iso(NOW - csm_age_days * D), "set_by": "u-ana"}}
    if ai is not None:
        fields["ai_pulse"] = {"score": ai, "at": iso(NOW - 2 * D), "rationale": "quiet"}
    p.quiet_account(touch_policy=policy, **fields)
    assert ("low_pulse" in fired(sqlite_url, p, tmp_path)) is fires


@pytest.mark.parametrize(
    ("csm", "ai", "ai_age", "divergent"),
    [
        (8, 5, 2, True),
        (8, 6, 2, False),
        (8, 3, 31, None),
    ],
)
def test_pulse_divergence(sqlite_url, p, tmp_path, csm, ai, ai_age, divergent) -> None:
    p.quiet_account(
        csm_pulse={"score": csm, "set_at": iso(NOW - 5 * D)},
        ai_pulse={"score": ai, "at": iso(NOW - ai_age * D)},
    )
    p.add("tasks", id=next_id("t"), account="acc-1", title="x", due_at=iso(NOW - H))
    load(sqlite_url, p, tmp_path)
    result = sweep(sqlite_url)
    assert ("pulse_divergence" in signals(result)) is bool(divergent)
    assert result.cards[0].pulse.divergent is divergent


# ------------------------------------------------------------- scope and configuration


def test_churned_inactive_and_excluded_accounts_are_never_flagged(sqlite_url, p, tmp_path) -> None:
    for acc, status in (("acc-c", "churned"), ("acc-i", "inactive"), ("acc-x", "active")):
        p.account(acc, status=status, created_at=None)
    p.data["exclusions"] = [{"account": "acc-x", "reason": "wind-down", "until": None}]
    load(sqlite_url, p, tmp_path)
    assert sweep(sqlite_url).cards == []


def test_team_overrides_and_disabled_signals(sqlite_url, p, tmp_path) -> None:
    p.data["org"]["rules"] = {"touch_days": {"standard": 10}}
    p.data["teams"].append(
        {
            "id": "t-2",
            "name": "Scale",
            "manager": "u-mgr",
            "rules": {"touch_days": {"standard": 45}, "disabled_signals": ["no_next_action"]},
        }
    )
    p.data["users"].append({"id": "u-ben", "name": "Ben", "team": "t-2"})
    for acc, csm in (("acc-1", "u-ana"), ("acc-2", "u-ben")):
        p.account(acc, csm=csm)
        p.touch(acc, NOW - 20 * D)
    load(sqlite_url, p, tmp_path)
    result = sweep(sqlite_url)
    assert {"no_recent_touch", "no_next_action"} <= set(signals(result, "acc-1"))
    assert not {"no_recent_touch", "no_next_action"} & set(signals(result, "acc-2"))
