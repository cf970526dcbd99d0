"""Followup Bot: daily follow-up lanes for customer-success managers, in Slack."""

__version__ = "0.1.0"
