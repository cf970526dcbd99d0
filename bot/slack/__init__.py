"""Talking to Slack: Web API clients with retry handlers (:mod:`bot.slack.client`), finding each
user's Slack id and time zone (:mod:`bot.slack.users`), finding a post whose answer was lost
(:mod:`bot.slack.posted`), pacing chat writes (:mod:`bot.slack.delivery`) and Events API dedupe
(:mod:`bot.slack.dedupe`)."""
