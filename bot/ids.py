"""Every identifier of the bot's Slack surface, in one place.

``ActionId`` names what a click or a select does (one Bolt listener per value), ``CallbackId``
names a modal (one ``view_submission`` listener per value), ``BlockId`` names a block. Blocks that
repeat in one message (a card per account) carry the account id in their *block_id*
(``BlockId.CARD_ACTIONS.at("acc-1")`` → ``"card_actions:acc-1"``), never in the action_id, so
that the action_id alone routes the click and the block_id says which card it came from.
"""

from __future__ import annotations

from enum import StrEnum

MAX_ID_LENGTH = 255  # action_id, block_id and callback_id


class ActionId(StrEnum):
    # A card's buttons (daily DM, App Home, escalation).
    CARD_DONE = "card_done"
    CARD_SNOOZE = "card_snooze"  # static_select; its "pick a date…" option opens the date modal
    CARD_DISMISS = "card_dismiss"  # opens the dismiss modal
    CARD_SUMMARY = "card_summary"
    CARD_DO_ACTION = "card_do_action"  # "Do it" on a recommended action
    UNDO = "undo"  # after done/snooze/dismiss, and "wake now" on a snoozed card
    # App Home.
    HOME_FILTER_LANE = "home_filter_lane"
    HOME_FILTER_SEVERITY = "home_filter_severity"
    HOME_FILTER_SIGNAL = "home_filter_signal"
    HOME_OPEN_SETTINGS = "home_open_settings"
    HOME_OPEN_ORG_SETTINGS = "home_open_org_settings"
    HOME_REFRESH = "home_refresh"  # sweeps the user's accounts again, then republishes
    HOME_OPEN_SUMMARY_SECTIONS = "home_open_summary_sections"  # admins: which sections show
    # Account summary.
    SUMMARY_SAVE = "summary_save"
    SUMMARY_SHARE = "summary_share"
    SUMMARY_PICK_ACCOUNT = "summary_pick_account"
    SUMMARY_PERIOD = "summary_period"  # static_select: re-render for another period
    SUMMARY_OPEN_SAVED = "summary_open_saved"  # a saved version of a summary
    SUMMARY_PREP = "summary_prep"  # the meeting-prep brief of the summary's account
    SUMMARY_CREATE_OPPORTUNITY = "summary_create_opportunity"  # opens the opportunity modal
    OPPORTUNITY_TITLE = "opportunity_title"
    OPPORTUNITY_AMOUNT = "opportunity_amount"
    OPPORTUNITY_CLOSE = "opportunity_close"
    # An action's messages.
    CHECKIN_MARK_SENT = "checkin_mark_sent"  # on a check-in email draft: records the email
    # An approval request in the approvals channel (value: the action run).
    APPROVAL_APPROVE = "approval_approve"
    APPROVAL_REJECT = "approval_reject"  # opens the reject modal (a reason)
    # An escalation's buttons.
    ESCALATION_ACK = "escalation_ack"  # stops the reminder
    ESCALATION_REASSIGN = "escalation_reassign"  # opens the picker of the team's CSMs
    ESCALATION_NUDGE = "escalation_nudge"  # a DM to the CSM
    # Inputs inside modals (read from view.state.values on submission).
    SNOOZE_DATE = "snooze_date"
    DISMISS_REASON = "dismiss_reason"
    SETTINGS_SENSITIVITY = "settings_sensitivity"
    SETTINGS_OPT_OUT = "settings_opt_out"
    SETTINGS_SEND_AT = "settings_send_at"
    ORG_SETTINGS_ENABLED = "org_settings_enabled"
    ORG_SETTINGS_MAX_PER_LANE = "org_settings_max_per_lane"
    ORG_SETTINGS_AUTOMATION = "org_settings_automation"
    SUMMARY_SECTIONS_SHOWN = "summary_sections_shown"
    APPROVAL_REJECT_REASON = "approval_reject_reason"
    ESCALATION_REASSIGN_TO = "escalation_reassign_to"


class CallbackId(StrEnum):
    SNOOZE_PICK_DATE = "snooze_pick_date"
    DISMISS_MODAL = "dismiss_modal"
    SETTINGS_MODAL = "settings_modal"
    ORG_SETTINGS_MODAL = "org_settings_modal"
    SUMMARY_SECTIONS_MODAL = "summary_sections_modal"
    OPPORTUNITY_MODAL = "opportunity_modal"
    APPROVAL_REJECT_MODAL = "approval_reject_modal"
    ESCALATION_REASSIGN_MODAL = "escalation_reassign_modal"
    HOME = "followup_home"


class BlockId(StrEnum):
    # Daily DM.
    DIGEST_HEADER = "digest_header"
    DIGEST_OVERVIEW = "digest_overview"
    DIGEST_FOOTER = "digest_footer"
    LANE = "lane"  # + lane id (+ ":cont" in a continuation message)
    # One card (+ account id).
    CARD = "card"
    CARD_FACTS = "card_facts"
    CARD_ACTIONS = "card_actions"
    CARD_HANDLED = "card_handled"  # a day's-list card handled since: one line with Undo
    # App Home.
    HOME_HEADER = "home_header"
    HOME_STATUS = "home_status"
    HOME_FILTERS = "home_filters"
    HOME_REFRESH = "home_refresh"
    HOME_SHOWING = "home_showing"
    HOME_EMPTY = "home_empty"
    HOME_SNOOZED = "home_snoozed"  # + account id for each snoozed account
    HOME_SETTINGS = "home_settings"
    HOME_ORG_SETTINGS = "home_org_settings"
    HOME_SUMMARY_SECTIONS = "home_summary_sections"
    HOME_OUTBOX = "home_outbox"  # admins: "N messages not sent — run followup-bot outbox"
    HOME_SAVED = "home_saved"  # the latest saved summaries (+ ":open" for their buttons)
    OPPORTUNITY_TITLE = "opportunity_title"
    OPPORTUNITY_AMOUNT = "opportunity_amount"
    OPPORTUNITY_CLOSE = "opportunity_close"
    # Modals (input blocks: read state.values[block_id][action_id]).
    SNOOZE_DATE = "snooze_date"
    DISMISS_REASON = "dismiss_reason"
    SETTINGS_SENSITIVITY = "settings_sensitivity"
    SETTINGS_OPT_OUT = "settings_opt_out"
    SETTINGS_SEND_AT = "settings_send_at"
    ORG_SETTINGS_ENABLED = "org_settings_enabled"
    ORG_SETTINGS_MAX_PER_LANE = "org_settings_max_per_lane"
    ORG_SETTINGS_AUTOMATION = "org_settings_automation"
    SUMMARY_SECTIONS_SHOWN = "summary_sections_shown"
    APPROVAL_REJECT_REASON = "approval_reject_reason"
    # Summary and escalation messages.
    SUMMARY_ACTIONS = "summary_actions"
    SUMMARY_PICKER = "summary_picker"
    SUMMARY_PERIOD = "summary_period"
    SUMMARY_SECTION = "summary_section"  # + section id
    SUMMARY_SAVED = "summary_saved"  # + saved summary id
    ESCALATION_ACTIONS = "escalation_actions"
    # The meeting-prep brief (+ part: meeting, attendees, obligations, …).
    PREP = "prep"
    ESCALATION_STATUS = "escalation_status"  # acknowledged / reassigned (+ escalation id)
    ESCALATION_REASSIGN_TO = "escalation_reassign_to"
    WAKEUP = "wakeup"
    # An executed action's messages (+ action run id).
    ACTION_NOTICE = "action_notice"
    CHECKIN_DRAFT = "checkin_draft"
    CHECKIN_ACTIONS = "checkin_actions"
    RECEIPT = "receipt"
    # An approval request (+ action run id).
    APPROVAL = "approval"
    APPROVAL_ACTIONS = "approval_actions"
    APPROVAL_DECISION = "approval_decision"

    def at(self, *parts: str) -> str:
        """This block id for one item, e.g. ``card_actions:acc-1`` (cut to Slack's 255)."""
        return ":".join((self.value, *parts))[:MAX_ID_LENGTH]


def split_block_id(block_id: str) -> tuple[BlockId, str | None]:
    """``"card_actions:acc-1"`` → ``(BlockId.CARD_ACTIONS, "acc-1")``; ValueError if unknown."""
    kind, sep, rest = block_id.partition(":")
    return BlockId(kind), (rest if sep else None)


class Command(StrEnum):
    ACCOUNT_SUMMARY = "/account-summary"
    FOLLOWUP = "/followup"


class Event(StrEnum):
    APP_HOME_OPENED = "app_home_opened"
