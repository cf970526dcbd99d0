"""Typed, versioned values carried by buttons, select options and modal private_metadata.

Each is a small pydantic model: ``dump()`` gives the compact JSON Slack stores (checked against
the limit of where it goes), ``parse()`` reads it back in the handler and raises
:class:`BadValue` for anything else. ``v`` is the format version: a payload of an unknown version
(an old message clicked after an upgrade) fails to parse instead of being misread.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.blocks.mrkdwn import BUTTON_VALUE, OPTION_VALUE, PRIVATE_METADATA
from bot.engine.results import Card
from bot.engine.rules import SIGNALS, Lane, Severity
from bot.engine.summary.model import PeriodChoice
from bot.engine.triage import SnoozeChoice

PICK_DATE: Literal["pick_date"] = "pick_date"
AccountId = Annotated[str, Field(min_length=1, max_length=64)]


class BadValue(ValueError):
    """A button/option value or private_metadata that is not ours (or not this version)."""


class ValueTooLong(ValueError):
    """A value that would not fit where Slack stores it."""


class _Value(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: ClassVar[int] = BUTTON_VALUE
    v: Literal[1] = 1

    def dump(self) -> str:
        text = self.model_dump_json(exclude_none=True)
        if len(text) > self.limit:
            raise ValueTooLong(f"{type(self).__name__}: {len(text)} > {self.limit} characters")
        return text

    @classmethod
    def parse(cls, raw: str | None) -> Self:
        if not raw:
            raise BadValue(f"{cls.__name__}: empty value")
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            raise BadValue(
                f"{cls.__name__}: {exc.error_count()} problem(s) in {raw[:80]!r}"
            ) from exc


def _fits(model: _Value) -> bool:
    try:
        model.dump()
    except ValueTooLong:
        return False
    return True


def card_alert_ids(card: Card) -> tuple[int, ...]:
    """The stored alert ids of a card's reasons, in reason order."""
    ids = [card.alert_ids[r.key_part] for r in card.reasons if r.key_part in card.alert_ids]
    return tuple(dict.fromkeys(ids))


class CardRef(_Value):
    """A card's buttons: ``{"v":1,"account":"acc-1","alerts":[12,13]}``.

    ``alerts`` lists the card's alert ids. It is None only when the list would not fit in
    the value: the handler then acts on every alert of the account that is open for the
    clicking user (the same set the card showed, re-read from the database).
    """

    account: AccountId
    alerts: tuple[int, ...] | None = ()

    @classmethod
    def for_card(cls, card: Card) -> CardRef:
        return cls.of(card.account, card_alert_ids(card))

    @classmethod
    def of(cls, account: str, alerts: Sequence[int]) -> CardRef:
        full = cls(account=account, alerts=tuple(alerts))
        return full if _fits(full) else cls(account=account, alerts=None)


class SnoozeOption(_Value):
    """One option of a card's Snooze select: the choice plus the card it snoozes.

    ``{"v":1,"snooze":"tomorrow","account":"acc-1","alerts":[12]}``; ``pick_date`` opens the
    date-picker modal. ``alerts`` is None when the ids would not fit in 150 characters (see
    :class:`CardRef`).
    """

    limit: ClassVar[int] = OPTION_VALUE
    snooze: SnoozeChoice | Literal["pick_date"]
    account: AccountId
    alerts: tuple[int, ...] | None = ()

    @classmethod
    def of(cls, choice: SnoozeChoice | Literal["pick_date"], ref: CardRef) -> SnoozeOption:
        full = cls(snooze=choice, account=ref.account, alerts=ref.alerts)
        return full if _fits(full) else cls(snooze=choice, account=ref.account, alerts=None)

    @property
    def card(self) -> CardRef:
        return CardRef(account=self.account, alerts=self.alerts)

    @classmethod
    def picks_date(cls, raw: str | None) -> bool:
        """Whether ``raw`` is a readable "pick a date…" option (False for anything else)."""
        try:
            return cls.parse(raw).snooze == PICK_DATE
        except BadValue:
            return False


class SummaryRef(_Value):
    """An account-summary button or picker option: ``{"v":1,"account":"acc-1"}``, with the
    summary's period choice when one was made (``"period":"90"``), or the saved version it
    shows (``"saved":12``)."""

    limit: ClassVar[int] = OPTION_VALUE
    account: AccountId
    period: PeriodChoice | None = None
    saved: int | None = None  # a saved version (its saved_summaries id)


class UndoValue(_Value):
    """Undo a triage step (or wake a snoozed card): reopen these alerts."""

    op: Literal["done", "snooze", "dismiss"]
    account: AccountId
    alerts: tuple[int, ...]


class HomeFilters(_Value):
    """The App Home filters. Each filter option carries the *whole* new filter state (the
    current filters with that option applied), so a handler needs nothing else to re-render.
    Also the home view's private_metadata."""

    limit: ClassVar[int] = OPTION_VALUE
    lane: Lane | None = None
    severity: Severity | None = None  # minimum severity of any reason
    signal: str | None = None

    @field_validator("signal")
    @classmethod
    def _known_signal(cls, value: str | None) -> str | None:
        if value is not None and value not in SIGNALS:
            raise ValueError(f"unknown signal {value!r}")
        return value

    def matches(self, card: Card) -> bool:
        if self.lane is not None and card.lane is not self.lane:
            return False
        if self.severity is not None and not any(
            r.severity.rank >= self.severity.rank for r in card.reasons
        ):
            return False
        return self.signal is None or any(r.signal == self.signal for r in card.reasons)

    @property
    def active(self) -> bool:
        return self.lane is not None or self.severity is not None or self.signal is not None


class SnoozeModalMeta(_Value):
    """private_metadata of the date-picker modal: the card, and where the click came from
    (a DM message to update afterwards, or the App Home)."""

    limit: ClassVar[int] = PRIVATE_METADATA
    card: CardRef
    channel: str | None = None
    ts: str | None = None
    earliest: date | None = None
    home: HomeFilters | None = None  # opened from the App Home, with these filters


class DismissModalMeta(_Value):
    limit: ClassVar[int] = PRIVATE_METADATA
    card: CardRef
    channel: str | None = None
    ts: str | None = None
    home: HomeFilters | None = None  # opened from the App Home, with these filters


class ApprovalRef(_Value):
    """An approval request's buttons: ``{"v":1,"run":12}`` (the action run)."""

    run: int = Field(ge=1)


class ApprovalModalMeta(_Value):
    """The reject modal: the run, and the channel message to re-render after it."""

    limit: ClassVar[int] = PRIVATE_METADATA
    run: int = Field(ge=1)
    channel: str | None = None
    ts: str | None = None


class SettingsModalMeta(_Value):
    limit: ClassVar[int] = PRIVATE_METADATA
    scope: Literal["user", "org"]
    user: AccountId


class EscalationRef(_Value):
    """An escalation's buttons and its reassign modal: ``{"v":1,"escalation":7}``."""

    escalation: int = Field(ge=1)


class OpportunityDraft(_Value):
    """The "Create opportunity" button of a summary: the account and the suggestion that
    pre-fills the modal's title; also the modal's private_metadata (without the title)."""

    account: AccountId
    title: str | None = None


class DoActionValue(_Value):
    """An option of a card's "Do it…" menu: take this recommended action on the account."""

    limit: ClassVar[int] = OPTION_VALUE
    account: AccountId
    action: str = Field(min_length=1, max_length=40)
