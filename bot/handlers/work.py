"""Where a listener's work after its ``ack()`` runs.

Every listener answers Slack first (``ack()``), then hands the rest to :func:`after_ack`:

* in an app built without a work process (the tests, :func:`bot.app.build_app` on its own) the
  work runs right there, inside :func:`~bot.handlers.errors.reporting` (which reports its
  errors and takes one of the app's work slots);
* in ``followup-bot serve`` the app that answers Slack only forwards the request to the work
  process (:mod:`bot.work_process`), whose own app runs the same listener again and does the
  work there. Re-rendering DMs and App Homes is CPU-bound: in the answering process it held the
  interpreter lock that every answer to Slack needs (bench/bench_interactions.py: HTTP p99
  91–160 ms on SQLite with the work in the same process, 27 ms with it elsewhere).

A listener's part before ``ack()`` (reading a modal's input, answering ``/followup help``)
therefore runs in both processes and must not change anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot.handlers.errors import reporting

# context key: forwards this request to the work process (set only in the answering app)
FORWARD = "followup_forward"
# context key: True when a work process runs this request again because the one it was first
# sent to died before finishing it (set only by the work process, never from a request)
RESENT = "followup_resent"

Work = Callable[[], None]


def after_ack(
    work: Work,
    ack: Ack,
    body: Mapping[str, Any],
    client: WebClient,
    respond: Respond | None,
    context: Mapping[str, Any],
    *,
    opens_modal: bool = False,
) -> None:
    """Run ``work`` (the listener's part after ``ack()``) here, or forward the request to the
    work process, which runs it there. ``opens_modal``: the work opens a modal with the
    request's trigger_id (3 seconds), so it does not wait for a work slot."""
    forward = context.get(FORWARD)
    if forward is not None:
        forward()
        return
    with reporting(ack, body, client, respond, context, opens_modal=opens_modal):
        work()
