"""The daily DM fan-out's pacing and its report.

Sending goes through the one outbox (:mod:`bot.service.outbox`): each message of a daily DM is
an outbox row, posted once by its delivery (:mod:`bot.service.dm_delivery`). This module holds
what the fan-out and every other chat write share: a :class:`Pacer` that spaces writes per
channel and overall (Slack: about 1 message per second per channel, plus a workspace limit) and
holds a channel for a 429's ``Retry-After``; a client without 429 retries of its own
(:func:`paced_client`), so that those go through the pacer; and what a delivery run reports
(:class:`Outcome` per reader, :class:`DeliveryReport`). 500/503 of other calls and connection
resets are retried inside the client (:func:`bot.slack.client.make_client`).
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

DEFAULT_LANES = 8  # DMs in flight at once during the fan-out

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------------- pacing


@dataclass(frozen=True, slots=True)
class Pacing:
    """Seconds between two chat writes to one DM channel (Slack: about 1 message per second
    per channel) and between any two chat writes (the workspace-wide limit)."""

    per_channel: float = 1.1
    per_call: float = 0.2


class Pacer:
    """Spaces chat writes per DM channel and overall, for any number of threads: a slot is
    reserved under a lock and slept for outside it, so a DM waiting for its own channel does not
    hold up the others. After a 429, :meth:`hold` keeps writes off that channel until Slack's
    ``Retry-After`` has passed."""

    def __init__(
        self,
        pacing: Pacing,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pacing = pacing
        self._sleep = sleep
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._next_call = float("-inf")
        self._next: dict[str, float] = {}

    def wait(self, channel: str) -> float:
        """Sleep until a chat write to ``channel`` is allowed; returns the time slept."""
        with self._lock:
            now = self._monotonic()
            due = max(now, self._next_call, self._next.get(channel, float("-inf")))
            self._next_call = due + self.pacing.per_call
            self._next[channel] = due + self.pacing.per_channel
        slept = due - now
        if slept > 0:
            self._sleep(slept)
        return max(0.0, slept)

    def hold(self, channel: str, seconds: float) -> None:
        """Nothing more to ``channel`` for ``seconds`` (Slack answered 429 with Retry-After)."""
        with self._lock:
            until = self._monotonic() + seconds
            self._next[channel] = max(self._next.get(channel, float("-inf")), until)


def paced_client(client: WebClient) -> WebClient:
    """``client`` without its own 429 retries: the fan-out retries those through its
    :class:`Pacer`, so that every lane knows the channel is held."""
    paced = copy.copy(client)
    paced.retry_handlers = [
        h for h in client.retry_handlers if not isinstance(h, RateLimitErrorRetryHandler)
    ]
    return paced


# ------------------------------------------------------------------------ results


class Status(StrEnum):
    POSTED = "posted"
    UPDATED = "updated"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(slots=True)
class Outcome:
    user_id: str
    name: str
    status: Status
    reason: str | None = None
    posted: int = 0
    updated: int = 0
    deleted: int = 0

    def describe(self) -> str:
        who = f"{self.name} ({self.user_id})"
        if self.status in (Status.SKIPPED, Status.FAILED):
            return f"{who}: {self.reason}"
        counts = [
            (n, verb)
            for n, verb in (
                (self.posted, "posted"),
                (self.updated, "updated"),
                (self.deleted, "deleted"),
            )
            if n
        ]
        if not counts:
            text = f"{who}: nothing to change"
        elif len(counts) == 1:
            n, verb = counts[0]
            text = f"{who}: {n} message{'s' if n > 1 else ''} {verb}"
        else:
            text = f"{who}: " + ", ".join(f"{n} {verb}" for n, verb in counts)
        return text + (f" ({self.reason})" if self.reason else "")


@dataclass(slots=True)
class DeliveryReport:
    as_of: datetime
    outcomes: list[Outcome] = field(default_factory=list)
    cards: int = 0
    alerts_new: int = 0

    def by_status(self, status: Status) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is status]

    def summary(self) -> str:
        return ", ".join(f"{len(self.by_status(s))} {s.value}" for s in Status)

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "outcomes": [
                {
                    "user": o.user_id,
                    "status": o.status.value,
                    "reason": o.reason,
                    "posted": o.posted,
                    "updated": o.updated,
                    "deleted": o.deleted,
                }
                for o in self.outcomes
            ],
        }
