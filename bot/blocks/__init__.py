"""Slack payloads, built with ``slack_sdk.models`` so that slack_sdk validates them.

- :mod:`bot.blocks.mrkdwn`: escaping and every length limit (the only place for both);
- :mod:`bot.blocks.values`: typed button / option values and private_metadata;
- :mod:`bot.blocks.cards`: one lane card; :mod:`bot.blocks.digest`: the daily DM;
- :mod:`bot.blocks.views`: App Home and modals; :mod:`bot.blocks.summary`: the account
  summary; :mod:`bot.blocks.messages`: escalation, receipt (Undo) and account picker;
  :mod:`bot.blocks.dumps`: payload files.
"""

from bot.blocks.digest import digest_messages, digest_payloads
from bot.blocks.message import SlackMessage
from bot.blocks.messages import (
    escalation_message,
    receipt_message,
    summary_picker_message,
)
from bot.blocks.summary import account_summary_message
from bot.blocks.views import (
    dismiss_modal,
    home_view,
    org_settings_modal,
    settings_modal,
    snooze_modal,
)

__all__ = [
    "SlackMessage",
    "account_summary_message",
    "digest_messages",
    "digest_payloads",
    "dismiss_modal",
    "escalation_message",
    "home_view",
    "org_settings_modal",
    "receipt_message",
    "settings_modal",
    "snooze_modal",
    "summary_picker_message",
]
