"""Talking to Slack: Web API clients with retry handlers (:mod:`bot.slack.client`), finding each
user's Slack id and time zone (:mod:`bot.slack.users`), the daily DM delivery
(:mod:`bot.slack.delivery`) and Events API dedupe (:mod:`bot.slack.dedupe`)."""
