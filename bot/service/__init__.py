"""The use cases, each written once: deliver the daily DMs, render a reader's DM / App Home /
``/followup today`` from the stored queue, change a card, refresh a reader's queue.

The CLI, the Slack listeners (:mod:`bot.handlers`) and scheduler jobs call these; they call the
engine (the domain), the block builders and the Slack adapters (:mod:`bot.slack`). SQL lives here,
in the engine and in :mod:`bot.db`, never in a listener.
"""
