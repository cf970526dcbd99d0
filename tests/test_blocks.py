"""Slack payloads (bot/blocks): every payload rebuilds with slack_sdk.models, stays within
Slack's limits, escapes customer text, and carries values that parse back."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.blocks import mrkdwn as mk
from bot.blocks.digest import digest_messages, digest_payloads
from bot.blocks.messages import (
    escalation_message,
    receipt_message,
    summary_picker_message,
)
from bot.blocks.summary import account_summary_message
from bot.blocks.values import (
    PICK_DATE,
    BadValue,
    CardRef,
    DismissModalMeta,
    HomeFilters,
    OpportunityDraft,
    SettingsModalMeta,
    SnoozeModalMeta,
    SnoozeOption,
    SummaryRef,
    UndoValue,
)
from bot.blocks.views import (
    dismiss_modal,
    home_view,
    org_settings_modal,
    settings_modal,
    snooze_modal,
)
from bot.db.session import make_engine
from bot.engine.business_time import BusinessHours
from bot.engine.digest import Digest
from bot.engine.facts import OrgFacts, UserFacts
from bot.engine.overview import SnoozedAlert, snoozed_alerts
from bot.engine.results import Card, Pulse, Reason
from bot.engine.rules import LANE_ORDER, SIGNALS, Lane, RulesBook, Severity
from bot.engine.summary import Bullet, Period, Section, SectionId, Summary
from bot.engine.sweep import SweepResult
from bot.engine.triage import SnoozeChoice, snooze
from bot.ids import ActionId, BlockId, CallbackId, split_block_id
from tests.portfolio import NOW, Portfolio, iso, load, sweep

EVIL = "Fwd: <!channel> Q4 & SSO — need <@U123> sign-off"
CHECKER = Path("/work/shared/tools/slack-check/check_blockkit_sdk.py")

# ------------------------------------------------------------------------ builders


def reason(
    signal: str = "unreplied_customer_email",
    severity: Severity = Severity.HIGH,
    detail: str = "Email from Li Wei 'Renewal terms', unanswered 3 days",
    evidence: str | None = None,
) -> Reason:
    return Reason(signal, severity, detail, evidence or f"activity:{signal}")


def make_card(
    account: str = "acc-1",
    *,
    name: str | None = None,
    lane: Lane = Lane.OWE,
    severity: Severity = Severity.HIGH,
    reasons: list[Reason] | None = None,
    alert_ids: list[int] | None = None,
    score: float = 72.5,
    csm: str | None = "u-ana",
    **fields: Any,
) -> Card:
    reasons = reasons or [reason(severity=severity)]
    ids = alert_ids if alert_ids is not None else list(range(10, 10 + len(reasons)))
    values: dict[str, Any] = {
        "account": account,
        "account_name": name or f"Account {account}",
        "csm": csm,
        "lane": lane,
        "action_score": score,
        "severity": severity,
        "mrr": 12000.0,
        "segment": "mid_market",
        "touch_policy": "strategic",
        "reasons": reasons,
        "hook": "We shipped Okta SSO — let them know",
        "summary": "Li Wei has waited 3 days for a reply on 'Renewal terms'.",
        "next_step": "Reply to Li Wei today",
        "waiting_on_you": ["Reply to 'Renewal terms' (3 days)"],
        "pulse": Pulse(55, "at_risk", -27, 8, 3, True),
        "last_touch_days": 12,
        "open_requests": 3,
        "high_impact_requests": 1,
        "upcoming_meeting": True,
        "escalate": False,
        "crm_url": f"https://crm.example.com/accounts/{account}?tab=1&x=2",
        "renewal_date": "2026-12-20",
        "alert_ids": {r.key_part: i for r, i in zip(reasons, ids, strict=False)},
    }
    values.update(fields)
    return Card(**values)


def make_user(
    uid: str = "u-ana", *, role: str = "csm", digest: dict[str, Any] | None = None
) -> UserFacts:
    return UserFacts(
        id=uid,
        name="Ana Alvarez",
        email="ana@example.com",
        slack_user_id="U0ANA",
        role=role,
        team_id="t-1",
        manager_id="u-mgr",
        timezone="America/New_York",
        active=True,
        digest=digest or {},
    )


def make_org(**digest: Any) -> OrgFacts:
    return OrgFacts(
        name="Lumen & Co",
        timezone="America/New_York",
        business_hours=BusinessHours(),
        rules=RulesBook(None, {}),
        fallback_csm_id="u-ana",
        digest={"enabled": True, "sensitivity": "standard", "max_per_lane": 5, **digest},
        automation_level="assisted",
        escalation_channel="C0ESCALATE",
        approvals_channel=None,
    )


def make_digest(
    cards: list[Card], *, more: dict[Lane, int] | None = None, user: UserFacts | None = None
) -> Digest:
    lanes: dict[Lane, list[Card]] = {lane: [] for lane in LANE_ORDER}
    for c in cards:
        lanes[c.lane].append(c)
    result = SweepResult(as_of=NOW, cards=cards, suppressed=[])
    return Digest(user or make_user(), result, "standard", lanes, more or {})


def mixed_cards(n: int) -> list[Card]:
    lanes = list(LANE_ORDER)
    return [
        make_card(f"acc-{i}", lane=lanes[i % 3], score=100 - i, name=f"Account number {i}")
        for i in range(n)
    ]


def make_summary(name: str = "Account acc-1") -> Summary:
    """A summary of every section, its bullets full of customer text that must be escaped."""
    sections = [
        Section(sid, [Bullet(f"{sid.label}: {EVIL}", ("acc-1",)), Bullet("x" * 900, ())])
        for sid in SectionId
    ]
    sections[3].notice = f"Includes activities from 2026-10-01 on; {EVIL}"
    sections[4].bullets = []
    return Summary("acc-1", name, NOW, Period(since=NOW - timedelta(days=90)), sections)


# ---------------------------------------------------------------------- validation


def _checker() -> ModuleType | None:
    """slack-check's limits checker (pure Python over slack_sdk), when the tool is present."""
    if not CHECKER.is_file():
        return None
    spec = importlib.util.spec_from_file_location("slack_check_sdk", CHECKER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("slack_check_sdk", module)
    spec.loader.exec_module(module)
    return module


CHECK = _checker()


def validate(payload: dict[str, Any]) -> dict[str, Any]:
    """Rebuild a payload with slack_sdk.models (which validates in to_dict()) and check the
    limits slack_sdk does not; returns the payload."""
    blocks = payload["blocks"]
    rebuilt = [Block.parse(dict(b)) for b in blocks]
    assert all(b is not None for b in rebuilt)
    assert [b.to_dict() for b in rebuilt if b is not None] == blocks  # nothing dropped
    if payload.get("type") in ("modal", "home"):
        assert 1 <= len(blocks) <= 100
        view = View(**payload)
        assert view.to_dict()["type"] == payload["type"]
    else:
        assert len(blocks) <= 50
        assert isinstance(payload["text"], str) and payload["text"].strip()
        assert set(payload) <= {"channel", "text", "blocks"}
    if CHECK is not None:
        assert CHECK.check_payload(json.loads(json.dumps(payload))) == []
    return payload


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def interactive(payload: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(block_id, element) for every element with an action_id."""
    out = []
    for block in payload["blocks"]:
        for node in walk(block):
            if "action_id" in node:
                out.append((block.get("block_id", ""), node))
    return out


def assert_ids_unique(payload: dict[str, Any]) -> None:
    block_ids = [b["block_id"] for b in payload["blocks"] if "block_id" in b]
    assert len(block_ids) == len(set(block_ids)), "duplicate block_id"
    pairs = [(bid, el["action_id"]) for bid, el in interactive(payload)]
    assert len(pairs) == len(set(pairs)), "duplicate action_id within a block"
    for _, el in interactive(payload):
        ActionId(el["action_id"])  # every action_id comes from the enum


def all_text(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False)


def every_payload(cards: list[Card]) -> list[dict[str, Any]]:
    """One of each payload kind built from ``cards``."""
    user, org = make_user(), make_org()
    top = cards[0]
    ref = CardRef.for_card(top)
    manager = make_user("u-mgr", role="manager")
    snoozed = [
        SnoozedAlert(
            99,
            top.account,
            top.account_name,
            "overdue_task",
            Lane.OWE,
            Severity.HIGH,
            EVIL,
            NOW + timedelta(days=1),
        ),
    ]
    return [
        *digest_payloads(make_digest(cards)),
        home_view(user, org, cards, now=NOW, snoozed=snoozed).to_dict(),
        home_view(make_user(role="admin"), org, cards, now=NOW).to_dict(),
        snooze_modal(ref, top.account_name, today=NOW.date()).to_dict(),
        dismiss_modal(ref, top.account_name, [r.detail for r in top.reasons]).to_dict(),
        settings_modal(user, org).to_dict(),
        org_settings_modal(make_user(role="admin"), org).to_dict(),
        account_summary_message(make_summary(top.account_name), tz="America/New_York").to_dict(),
        summary_picker_message([(c.account, c.account_name) for c in cards]).to_dict(),
        escalation_message(top, "Ana Alvarez", manager, now=NOW).to_dict(),
        receipt_message(top.account_name, "snooze", ref, until=NOW, now=NOW).to_dict(),
    ]


# ------------------------------------------------------------------------- mrkdwn


def test_escape_and_fit_never_split_an_entity() -> None:
    assert mk.esc("a & <b> <!channel>") == "a &amp; &lt;b&gt; &lt;!channel&gt;"
    for limit in range(2, 40):
        out = mk.fit("<<<<<<<<<<&&&&&&&&&&>>>>>>>>>>", limit)
        assert len(out) <= limit
        body = out.removesuffix("…")
        assert body.replace("&lt;", "").replace("&amp;", "").replace("&gt;", "") == ""


def test_clip_keeps_links_and_entities_whole() -> None:
    text = "see <https://example.com/x|the account> &amp; more text here"
    for limit in range(5, len(text)):
        out = mk.clip(text, limit)
        assert len(out) <= limit
        assert out.count("<") == out.count(">")
        assert "&am…" not in out and "&a…" not in out and "&…" not in out


def test_links_only_for_http_urls_and_labels_escaped() -> None:
    assert mk.link("javascript:alert(1)", "X") == "X"
    assert mk.link(None, "A & B") == "A &amp; B"
    got = mk.link("https://crm.example.com/a?x=1&y=2|z>", "<@U1>")
    assert got.startswith("<https://crm.example.com/a?x=1&amp;y=2%7Cz%3E|")
    assert got.endswith("|&lt;@U1&gt;>")


# ----------------------------------------------------------------------- the DM


def test_digest_payloads_validate_and_show_a_full_card() -> None:
    cards = [
        make_card("acc-1", lane=Lane.OWE, severity=Severity.CRITICAL, score=91),
        make_card(
            "acc-2",
            lane=Lane.NEWS,
            severity=Severity.MEDIUM,
            reasons=[reason("request_shipped", Severity.MEDIUM, "Okta SSO shipped 4 days ago")],
        ),
        make_card(
            "acc-3",
            lane=Lane.STAY,
            severity=Severity.LOW,
            reasons=[reason("no_recent_touch", Severity.LOW, "No touch in 40 days")],
            pulse=Pulse(None, None, None, None, None, None),
            upcoming_meeting=False,
            last_touch_days=None,
        ),
    ]
    payloads = digest_payloads(make_digest(cards))
    assert len(payloads) == 1
    msg = validate(payloads[0])
    assert_ids_unique(msg)
    assert msg["channel"] == "U0ANA"
    assert msg["blocks"][0]["type"] == "header"
    header = msg["blocks"][0]["text"]["text"]
    assert "Mon, Nov 16" in header
    counts = msg["blocks"][1]["elements"][0]["text"]
    assert "*1* owe them something" in counts and "*1* stay close" in counts
    text = all_text(msg)
    for shown in (
        "<https://crm.example.com/accounts/acc-1?tab=1&amp;x=2|Account acc-1>",  # linked name
        "Ana Alvarez",  # owner
        "$12,000/mo",  # MRR
        "`Mid-market`",  # segment badge
        "score *91*",  # action score
        "We shipped Okta SSO",  # hook
        "Li Wei has waited 3 days",  # why flagged
        "*Next step:* Reply to Li Wei today",
        "They're waiting on you",
        "Health *55*",
        "CSM Pulse *8*",
        "AI Pulse *3*",
        "disagree",  # divergence warning
        "*Act now*",  # reason badges by group, in a CSM's words
        "*Close the loop*",
        "*Keep in touch*",
        "last touch 12d ago",
        "3 open requests (1 high-impact)",
        "meeting coming up",
        "never touched",
    ):
        assert shown in text, shown
    # The Owe lane shows the waiting list; other lanes don't.
    news = next(b for b in msg["blocks"] if b.get("block_id") == "card:acc-2")
    assert "waiting on you" not in news["text"]["text"]
    # Lanes in order, cards after their lane title.
    lane_ids = [b["block_id"] for b in msg["blocks"] if b.get("block_id", "").startswith("lane:")]
    assert lane_ids == [f"lane:{lane.value}" for lane in LANE_ORDER]


def test_cards_ranked_as_given_and_each_card_has_done_snooze_dismiss_summary() -> None:
    cards = [make_card(f"acc-{i}", score=90 - i) for i in range(3)]
    msg = digest_payloads(make_digest(cards))[0]
    order = [b["block_id"] for b in msg["blocks"] if b.get("block_id", "").startswith("card:")]
    assert order == ["card:acc-0", "card:acc-1", "card:acc-2"]
    for card in cards:
        actions = next(
            b for b in msg["blocks"] if b.get("block_id") == BlockId.CARD_ACTIONS.at(card.account)
        )
        ids = [e["action_id"] for e in actions["elements"]]
        assert ids == ["card_done", "card_snooze", "card_dismiss", "card_summary"]


def test_forty_cards_stay_within_50_blocks_with_an_overflow_note() -> None:
    cards = mixed_cards(40)
    digest = make_digest(cards, more={Lane.STAY: 3})
    messages = digest_messages(digest)
    assert 1 <= len(messages) <= 2
    shown = 0
    for msg in messages:
        payload = validate(msg.to_dict())
        assert_ids_unique(payload)
        assert len(payload["blocks"]) <= 50
        shown += sum(1 for b in payload["blocks"] if b.get("block_id", "").startswith("card:"))
    last = messages[-1].to_dict()
    footer = last["blocks"][-1]
    assert footer["block_id"] == "digest_footer"
    hidden = 40 - shown + 3
    assert hidden > 3
    assert f"*{hidden} more* in the App Home" in footer["elements"][0]["text"]
    # The header still counts every card of each lane, the left-out ones included.
    overview = messages[0].to_dict()["blocks"][1]["elements"][0]["text"]
    assert "*14* owe them something" in overview and "*16* stay close" in overview


def test_more_from_max_per_lane_is_counted_even_when_everything_fits() -> None:
    msg = digest_payloads(make_digest([make_card()], more={Lane.OWE: 4, Lane.NEWS: 2}))[0]
    assert "*6 more* in the App Home" in msg["blocks"][-1]["elements"][0]["text"]


def test_a_full_default_digest_splits_into_two_messages_at_a_lane_boundary() -> None:
    cards = [make_card(f"acc-{lane.value}-{i}", lane=lane) for lane in LANE_ORDER for i in range(5)]
    messages = [validate(m.to_dict()) for m in digest_messages(make_digest(cards))]
    assert len(messages) == 2
    second = messages[1]
    assert second["blocks"][0]["type"] == "context" and "continued" in all_text(second)
    lanes_in = [
        [b["block_id"] for b in msg["blocks"] if b.get("block_id", "").startswith("lane:")]
        for msg in messages
    ]
    assert lanes_in == [["lane:owe_them_something", "lane:bring_them_news"], ["lane:stay_close"]]
    assert "more* in the App Home" not in all_text(messages[1])


def test_empty_and_skipped_digests() -> None:
    empty = digest_payloads(make_digest([]))
    assert len(empty) == 1
    validate(empty[0])
    assert "Nothing needs you today" in all_text(empty[0])
    skipped = make_digest([make_card()])
    skipped.skipped = "opt_out"
    assert digest_payloads(skipped) == []


def test_customer_text_cannot_ping_anyone() -> None:
    evil_reasons = [reason(detail=EVIL), reason("overdue_task", Severity.CRITICAL, EVIL)]
    card = make_card(
        name=f"{EVIL} Inc",
        reasons=evil_reasons,
        severity=Severity.CRITICAL,
        hook=EVIL,
        summary=EVIL,
        next_step=EVIL,
        waiting_on_you=[EVIL, EVIL],
        crm_url="https://crm.example.com/<!channel>",
    )
    for payload in every_payload([card]):
        validate(payload)
        text = all_text(payload)
        assert "<!" not in text and "<@" not in text, text[:500]
    msg = digest_payloads(make_digest([card]))[0]
    assert "Fwd: &lt;!channel&gt; Q4 &amp; SSO — need &lt;@U123&gt; sign-off" in all_text(msg)
    assert EVIL not in msg["text"]


def test_long_text_is_cut_to_slack_limits() -> None:
    long = "Ω" * 5000
    card = make_card(
        "acc-long",
        name="N" * 600,
        reasons=[reason(detail=long)] * 1 + [reason("overdue_task", detail=long)],
        hook=long,
        summary=long,
        next_step=long,
        waiting_on_you=[long] * 30,
        segment="x" * 500,
    )
    for payload in every_payload([card, *mixed_cards(3)]):
        validate(payload)
        for node in walk(payload["blocks"]):
            if node.get("type") == "header":
                assert len(node["text"]["text"]) <= mk.HEADER_TEXT
            if node.get("type") == "section" and "text" in node:
                assert len(node["text"]["text"]) <= mk.SECTION_TEXT
            if node.get("type") == "button":
                assert len(node["text"]["text"]) <= mk.BUTTON_TEXT
                assert len(node.get("value", "")) <= mk.BUTTON_VALUE
            if node.get("type") == "context":
                assert len(node["elements"]) <= mk.CONTEXT_ELEMENTS
                assert all(len(e["text"]) <= mk.CONTEXT_TEXT for e in node["elements"])
            if "options" in node:
                for o in node["options"]:
                    assert len(o["text"]["text"]) <= mk.OPTION_TEXT
                    assert len(o["value"]) <= mk.OPTION_VALUE


# ------------------------------------------------------------------------- values


def test_button_values_parse_back_to_the_card() -> None:
    reasons = [reason(), reason("overdue_task", evidence="task:t-1@2026-11-10")]
    card = make_card(reasons=reasons, alert_ids=[12, 13])
    msg = digest_payloads(make_digest([card]))[0]
    elements = dict(
        (el["action_id"], el) for bid, el in interactive(msg) if bid == "card_actions:acc-1"
    )
    done = CardRef.parse(elements["card_done"]["value"])
    assert elements["card_done"]["value"] == '{"v":1,"account":"acc-1","alerts":[12,13]}'
    assert done == CardRef(account="acc-1", alerts=(12, 13))
    assert CardRef.parse(elements["card_dismiss"]["value"]) == done
    assert SummaryRef.parse(elements["card_summary"]["value"]).account == "acc-1"
    options = [SnoozeOption.parse(o["value"]) for o in elements["card_snooze"]["options"]]
    assert [o.snooze for o in options] == [
        SnoozeChoice.TOMORROW,
        SnoozeChoice.THREE_BUSINESS_DAYS,
        SnoozeChoice.NEXT_MONDAY,
        PICK_DATE,
    ]
    assert all(o.card == done for o in options)
    split = split_block_id("card_actions:acc-1")
    assert split == (BlockId.CARD_ACTIONS, "acc-1")


def test_values_that_would_not_fit_fall_back_to_the_account() -> None:
    reasons = [reason("overdue_task", evidence=f"task:t-{i}") for i in range(400)]
    card = make_card(reasons=reasons, alert_ids=list(range(1_000_000, 1_000_400)))
    ref = CardRef.for_card(card)
    assert ref.alerts is None and len(ref.dump()) <= mk.BUTTON_VALUE
    small = make_card(reasons=reasons[:3], alert_ids=[1, 2, 3])
    assert CardRef.for_card(small).alerts == (1, 2, 3)
    option = SnoozeOption.of(SnoozeChoice.TOMORROW, CardRef(account="a" * 64, alerts=(1,) * 30))
    assert option.alerts is None and len(option.dump()) <= mk.OPTION_VALUE
    msg = validate(digest_payloads(make_digest([card]))[0])
    assert_ids_unique(msg)


def test_bad_values_are_refused() -> None:
    for raw in (None, "", "nope", '{"v":2,"account":"a"}', '{"v":1,"account":"a","x":1}'):
        with pytest.raises(BadValue):
            CardRef.parse(raw)
    with pytest.raises(BadValue):
        HomeFilters.parse('{"v":1,"signal":"made_up"}')
    for model in (
        UndoValue(op="done", account="a", alerts=(1,)),
        SnoozeModalMeta(card=CardRef(account="a"), earliest=date(2026, 11, 17)),
        DismissModalMeta(card=CardRef(account="a"), channel="D1", ts="1.2"),
        SettingsModalMeta(scope="user", user="u-1"),
        HomeFilters(lane=Lane.NEWS, severity=Severity.HIGH, signal="request_shipped"),
    ):
        assert type(model).parse(model.dump()) == model


def test_ids_are_unique_and_cover_the_interactive_surface() -> None:
    for enum in (ActionId, CallbackId, BlockId):
        values = [e.value for e in enum]
        assert len(values) == len(set(values))
    expected = {
        "card_done",
        "card_snooze",
        "card_dismiss",
        "card_summary",
        "home_filter_lane",
        "home_filter_severity",
        "home_filter_signal",
        "summary_save",
        "summary_share",
        "summary_pick_account",
        "undo",
    }
    assert expected <= {a.value for a in ActionId}
    assert {"snooze_pick_date", "dismiss_modal", "settings_modal"} <= {c.value for c in CallbackId}


def test_action_ids_unique_in_every_payload() -> None:
    for payload in every_payload(mixed_cards(12)):
        assert_ids_unique(validate(payload))


# -------------------------------------------------------------------------- views


def test_home_view_fits_100_blocks_and_says_how_many_it_shows() -> None:
    cards = mixed_cards(60)
    snoozed = [
        SnoozedAlert(
            i,
            f"acc-z{i}",
            f"Snoozed {i}",
            "no_recent_touch",
            Lane.STAY,
            Severity.LOW,
            None,
            NOW + timedelta(days=i + 1),
        )
        for i in range(9)
    ]
    admin = make_user(role="admin")
    view = validate(home_view(admin, make_org(), cards, now=NOW, snoozed=snoozed).to_dict())
    assert_ids_unique(view)
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    shown = sum(1 for b in view["blocks"] if b.get("block_id", "").startswith("card:"))
    assert 0 < shown < 60
    assert f"Showing *{shown}* of *60*" in all_text(view)
    text = all_text(view)
    assert (
        "Snoozed* · 9" in text.replace("  ", " ") and "wakes" in text and "+4 more snoozed" in text
    )
    assert "My digest settings" in text and "digest settings* · admin" in text
    assert "<#C0ESCALATE>" in text
    wake = next(el for bid, el in interactive(view) if bid == "home_snoozed:acc-z0")
    assert UndoValue.parse(wake["value"]) == UndoValue(op="snooze", account="acc-z0", alerts=(0,))


def test_home_view_without_admin_rights_has_no_org_settings() -> None:
    view = validate(home_view(make_user(), make_org(), [], now=NOW).to_dict())
    text = all_text(view)
    assert "Your queue is clear" in text and "· admin" not in text
    assert "home_open_org_settings" not in text


def test_home_view_tells_admins_only_of_messages_not_sent() -> None:
    admin, csm = make_user(role="admin"), make_user()
    view = validate(home_view(admin, make_org(), mixed_cards(60), now=NOW, not_sent=3).to_dict())
    assert len(view["blocks"]) <= 100
    [line] = [b for b in view["blocks"] if b.get("block_id") == "home_outbox"]
    assert line["type"] == "context"
    assert "*3 messages not sent*" in all_text(line) and "`followup-bot outbox`" in all_text(line)
    one = validate(home_view(admin, make_org(), [], now=NOW, not_sent=1).to_dict())
    assert "*1 message not sent*" in all_text(one)
    for view in (
        home_view(admin, make_org(), [], now=NOW, not_sent=0).to_dict(),
        home_view(csm, make_org(), [], now=NOW, not_sent=3).to_dict(),
    ):
        assert "home_outbox" not in json.dumps(view) and "not sent" not in all_text(view)


def test_home_filters_carry_the_whole_state_and_filter_the_queue() -> None:
    cards = mixed_cards(9)
    cards[1].reasons = [reason("request_shipped", Severity.CRITICAL)]
    current = HomeFilters(lane=Lane.NEWS)
    view = validate(home_view(make_user(), make_org(), cards, now=NOW, filters=current).to_dict())
    assert HomeFilters.parse(view["private_metadata"]) == current
    shown = [b["block_id"] for b in view["blocks"] if b.get("block_id", "").startswith("card:")]
    assert shown == [f"card:{c.account}" for c in cards if c.lane is Lane.NEWS]
    selects = {el["action_id"]: el for _, el in interactive(view) if "options" in el}
    lane_select = selects["home_filter_lane"]
    assert HomeFilters.parse(lane_select["initial_option"]["value"]) == current
    sev = [HomeFilters.parse(o["value"]) for o in selects["home_filter_severity"]["options"]]
    assert all(f.lane is Lane.NEWS for f in sev)  # other filters kept
    assert HomeFilters(lane=Lane.NEWS, severity=Severity.CRITICAL) in sev
    signals = [HomeFilters.parse(o["value"]) for o in selects["home_filter_signal"]["options"]]
    assert {f.signal for f in signals} == {None, *SIGNALS}
    crit = HomeFilters(lane=Lane.NEWS, severity=Severity.CRITICAL)
    filtered = home_view(make_user(), make_org(), cards, now=NOW, filters=crit).to_dict()
    cards_shown = [b.get("block_id", "") for b in filtered["blocks"]]
    assert [bid for bid in cards_shown if bid.startswith("card:")] == ["card:acc-1"]
    none = home_view(
        make_user(), make_org(), cards, now=NOW, filters=HomeFilters(signal="never_touched")
    ).to_dict()
    assert "No cards match these filters" in all_text(validate(none))


def test_modals() -> None:
    ref = CardRef(account="acc-1", alerts=(4, 5))
    snooze_view = validate(snooze_modal(ref, EVIL, today=date(2026, 11, 16), ts="1.2").to_dict())
    assert snooze_view["callback_id"] == "snooze_pick_date"
    picker = next(n for n in walk(snooze_view["blocks"]) if n.get("type") == "datepicker")
    assert picker["initial_date"] == "2026-11-17" and picker["action_id"] == "snooze_date"
    meta = SnoozeModalMeta.parse(snooze_view["private_metadata"])
    assert meta.card == ref and meta.ts == "1.2"

    dismiss_view = validate(dismiss_modal(ref, "Acme", ["one", "two"]).to_dict())
    assert dismiss_view["callback_id"] == "dismiss_modal"
    reason_input = next(b for b in dismiss_view["blocks"] if b["type"] == "input")
    assert reason_input["optional"] is True and reason_input["block_id"] == "dismiss_reason"
    assert DismissModalMeta.parse(dismiss_view["private_metadata"]).card == ref

    opted = make_user(digest={"opt_out": True, "sensitivity": "important", "send_at": "7:05"})
    settings = validate(settings_modal(opted, make_org()).to_dict())
    assert settings["callback_id"] == "settings_modal"
    nodes = {n.get("action_id"): n for n in walk(settings["blocks"]) if "action_id" in n}
    assert nodes["settings_sensitivity"]["initial_option"]["value"] == "important"
    assert nodes["settings_opt_out"]["initial_options"][0]["value"] == "opt_out"
    assert nodes["settings_send_at"]["initial_time"] == "07:05"
    default = validate(settings_modal(make_user(), make_org()).to_dict())
    nodes = {n.get("action_id"): n for n in walk(default["blocks"]) if "action_id" in n}
    assert nodes["settings_sensitivity"]["initial_option"]["value"] == "org_default"
    assert "initial_options" not in nodes["settings_opt_out"]

    org_view = validate(org_settings_modal(make_user(role="admin"), make_org()).to_dict())
    assert org_view["callback_id"] == "org_settings_modal"


# ------------------------------------------------------------------- other messages


def test_escalation_mentions_the_manager_only_in_the_escalation_channel() -> None:
    card = make_card(
        severity=Severity.CRITICAL,
        escalate=True,
        reasons=[reason(severity=Severity.CRITICAL, detail=EVIL)],
    )
    manager = make_user("u-mgr", role="manager")
    dm = validate(escalation_message(card, "Ana Alvarez", manager, now=NOW).to_dict())
    assert dm["channel"] == "U0ANA" and "<@" not in all_text(dm)
    channel = validate(
        escalation_message(card, "Ana Alvarez", manager, channel="C0ESC", now=NOW).to_dict()
    )
    assert channel["channel"] == "C0ESC"
    assert all_text(channel).count("<@") == 1 and "<@U0ANA>" in all_text(channel)
    assert "Escalation" in channel["text"]


def test_summary_message_sections_and_buttons() -> None:
    msg = validate(account_summary_message(make_summary(EVIL), tz="America/New_York").to_dict())
    text = all_text(msg)
    assert "<!" not in text and "<@" not in text
    ids = [b.get("block_id", "") for b in msg["blocks"]]
    assert [i.split(":")[1] for i in ids if i.startswith("summary_section:")] == [
        s.value for s in SectionId
    ]
    assert "Includes activities from 2026-10-01 on" in text and "Nothing to report" in text
    assert "Covers activity from" in text and "written by rules" in text
    elements = {el["action_id"]: el for _, el in interactive(msg)}
    assert set(elements) == {
        "summary_period",
        "summary_save",
        "summary_share",
        "summary_prep",
        "summary_create_opportunity",  # the summary suggests an expansion
    }
    draft = OpportunityDraft.parse(elements["summary_create_opportunity"]["value"])
    assert draft.account == "acc-1" and draft.title
    assert "<!" not in (draft.title or "")  # the suggestion is escaped before it pre-fills
    assert SummaryRef.parse(elements["summary_save"]["value"]).account == "acc-1"
    assert SummaryRef.parse(elements["summary_prep"]["value"]).account == "acc-1"
    periods = [SummaryRef.parse(o["value"]).period for o in elements["summary_period"]["options"]]
    assert [p.value for p in periods if p] == ["30", "90", "365", "all"]
    shared = validate(account_summary_message(make_summary(), shared_by="Mia <!here>").to_dict())
    assert interactive(shared) == [] and "Shared by Mia &lt;!here&gt;" in all_text(shared)


def test_receipt_has_undo() -> None:
    ref = CardRef(account="acc-1", alerts=(3,))
    for op in ("done", "snooze", "dismiss"):
        msg = validate(receipt_message("Acme", op, ref, until=NOW, now=NOW).to_dict())
        (_, undo), *_ = interactive(msg)
        assert undo["action_id"] == "undo"
        assert UndoValue.parse(undo["value"]) == UndoValue(op=op, account="acc-1", alerts=(3,))


def test_summary_picker_caps_options() -> None:
    accounts = [(f"acc-{i}", f"Account {i}") for i in range(130)]
    msg = validate(summary_picker_message(accounts).to_dict())
    select = next(el for _, el in interactive(msg))
    assert select["action_id"] == "summary_pick_account" and len(select["options"]) == 100
    assert "Showing 100 of 130" in all_text(msg)


# -------------------------------------------------- through the importer and sweep

D = timedelta(days=1)


def overview_portfolio() -> Portfolio:
    p = Portfolio()
    p.account("acc-1", name="Acme & Sons", crm_url="https://crm.example.com/acc-1")
    p.add("contacts", id="c-1", account="acc-1", name="Li Wei", email="li@acme.example")
    p.activity("acc-1", NOW - 40 * D, kind="email", direction="outbound", subject="Kickoff")
    for i in range(10):
        p.activity(
            "acc-1", NOW - (20 - i) * D, kind="note", direction="internal", body=f"Note {i}: {EVIL}"
        )
    p.activity(
        "acc-1",
        NOW - 3 * D,
        kind="email",
        direction="inbound",
        subject=EVIL,
        contact="c-1",
        thread="th-1",
    )
    p.activity("acc-1", NOW + 2 * D, kind="note", direction="internal", body="future")
    p.add(
        "tasks",
        id="t-late",
        account="acc-1",
        title="Send the deck",
        priority="high",
        due_at=iso(NOW - 2 * D),
    )
    p.add("tasks", id="t-next", account="acc-1", title="Prep QBR", due_at=iso(NOW + 5 * D))
    p.add(
        "tasks",
        id="t-done",
        account="acc-1",
        title="Old",
        status="done",
        due_at=iso(NOW - 9 * D),
        completed_at=iso(NOW - 8 * D),
    )
    p.add(
        "requests",
        id="r-1",
        title="SCIM provisioning",
        impact="high",
        status="planned",
        accounts=["acc-1"],
        created_at=iso(NOW - 60 * D),
    )
    p.add(
        "requests",
        id="r-2",
        title="Dark mode",
        impact="low",
        status="shipped",
        accounts=["acc-1"],
        shipped_at=iso(NOW - 90 * D),
    )
    p.add("meetings", id="m-1", account="acc-1", title="QBR", starts_at=iso(NOW + 3 * D))
    p.add("health_scores", account="acc-1", at=iso(NOW - 20 * D), score=82)
    p.add("health_scores", account="acc-1", at=iso(NOW - 1 * D), score=55)
    return p


def test_the_summary_of_an_account_escapes_its_data(sqlite_url: str, tmp_path: Path) -> None:
    from bot.summarize import summarize

    load(sqlite_url, overview_portfolio(), tmp_path)
    engine = make_engine(sqlite_url)
    summary = summarize(engine, "acc-1", NOW)
    engine.dispose()
    msg = validate(account_summary_message(summary, tz="America/New_York").to_dict())
    text = all_text(msg)
    assert "<!" not in text and "<@" not in text
    assert "Send the deck" in text and "Acme &amp; Sons" in text


def test_snoozed_alerts_reach_the_home_view(sqlite_url: str, tmp_path: Path) -> None:
    load(sqlite_url, overview_portfolio(), tmp_path)
    result = sweep(sqlite_url, dry_run=False)
    card = next(c for c in result.cards if c.account == "acc-1")
    alert_id = next(iter(card.alert_ids.values()))
    engine = make_engine(sqlite_url)
    until = NOW + 2 * D
    with engine.begin() as conn:
        snooze(conn, alert_id, until, actor="u-ana", now=NOW)
    with engine.connect() as conn:
        items = snoozed_alerts(conn, "u-ana", NOW)
        assert snoozed_alerts(conn, "u-ana", until + D) == []
    engine.dispose()
    assert [(s.alert_id, s.account_id, s.snooze_until) for s in items] == [
        (alert_id, "acc-1", until)
    ]
    after = sweep(sqlite_url)
    view = validate(
        home_view(make_user(), make_org(), after.cards, now=NOW, snoozed=items).to_dict()
    )
    assert "Snoozed* · 1" in all_text(view).replace("  ", " ")
    assert "wakes Wed, Nov 18 at 15:00" in all_text(view)


def test_real_sweep_cards_make_valid_payloads(sqlite_url: str, tmp_path: Path) -> None:
    load(sqlite_url, overview_portfolio(), tmp_path)
    result = sweep(sqlite_url)
    assert result.cards
    for payload in every_payload(result.cards):
        assert_ids_unique(validate(payload))
        text = all_text(payload)
        assert "<!" not in text and "<@" not in text


def test_now_is_a_monday_afternoon() -> None:  # the dates asserted above depend on it
    assert NOW.astimezone(UTC) == datetime(2026, 11, 16, 20, 0, tzinfo=UTC)
