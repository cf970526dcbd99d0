"""An expansion opportunity from the summary's suggestions: the modal that creates it, and the
receipt. Pure functions to Block Kit."""

from __future__ import annotations

from datetime import date

from slack_sdk.models.blocks import (
    DatePickerElement,
    InputBlock,
    NumberInputElement,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.blocks import mrkdwn as m
from bot.blocks.message import SlackMessage
from bot.blocks.values import OpportunityDraft
from bot.ids import ActionId, BlockId, CallbackId

TITLE_MAX = 500  # opportunities.title


def opportunity_modal(draft: OpportunityDraft, account_name: str) -> View:
    """Create an expansion opportunity on the account, its title pre-filled with the
    summary's suggestion."""
    return View(
        type="modal",
        callback_id=CallbackId.OPPORTUNITY_MODAL,
        title=m.view_title("New opportunity"),
        submit=m.view_button("Create"),
        close=m.view_button("Cancel"),
        private_metadata=OpportunityDraft(account=draft.account).dump(),
        blocks=[
            SectionBlock(
                text=m.section_text(
                    f"An expansion opportunity on *{m.fit(m.one_line(account_name), 150)}*."
                )
            ),
            InputBlock(
                block_id=BlockId.OPPORTUNITY_TITLE,
                label=m.label("What"),
                element=PlainTextInputElement(
                    action_id=ActionId.OPPORTUNITY_TITLE,
                    initial_value=m.fit(m.one_line(draft.title or ""), 300) or None,
                    max_length=TITLE_MAX,
                    multiline=True,
                ),
            ),
            InputBlock(
                block_id=BlockId.OPPORTUNITY_AMOUNT,
                label=m.label("Amount"),
                optional=True,
                element=NumberInputElement(
                    action_id=ActionId.OPPORTUNITY_AMOUNT,
                    is_decimal_allowed=True,
                    min_value="0",
                ),
            ),
            InputBlock(
                block_id=BlockId.OPPORTUNITY_CLOSE,
                label=m.label("Expected close"),
                optional=True,
                element=DatePickerElement(action_id=ActionId.OPPORTUNITY_CLOSE),
            ),
        ],
    )


def opportunity_created(
    account_name: str, title: str, amount: float | None, close: date | None
) -> SlackMessage:
    parts = [f":seedling: Opportunity created on *{m.fit(m.one_line(account_name), 150)}*:"]
    parts.append(f"_{m.esc(m.fit(m.one_line(title), 300))}_")
    if amount is not None:
        parts.append(f"amount {amount:,.0f}")
    if close is not None:
        parts.append(f"expected to close {close:%b %d, %Y}")
    text = " ".join(parts)
    return SlackMessage(text=m.fallback(text), blocks=[SectionBlock(text=m.section_text(text))])
