"""The actions webhook: every executed action POSTed as signed JSON (cli.md
``ACTIONS_WEBHOOK_URL`` / ``ACTIONS_WEBHOOK_SECRET``).

The request body is the event's JSON. Headers:

* ``X-Followup-Timestamp``: Unix seconds when the request was signed;
* ``X-Followup-Signature``: ``sha256=`` + the hex HMAC-SHA256, keyed with the secret, of
  ``"{timestamp}." + body`` (the raw body bytes);
* ``X-Followup-Event``: the event's idempotency key (also ``id`` in the body). A delivery whose
  answer was lost is sent again, so a receiver should drop an id it has seen.

A receiver checks the signature with :func:`verify` (or the same few lines in its language) and
refuses a timestamp more than five minutes old.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.settings import Settings

TIMEOUT = 10.0  # seconds
TOLERANCE = 300  # seconds a receiver should accept between the timestamp and its clock
USER_AGENT = "followup-bot-webhook/1"


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    url: str
    secret: str


def webhook_from(settings: Settings) -> WebhookConfig | None:
    """The webhook the settings configure (both ACTIONS_WEBHOOK_URL and _SECRET), if any."""
    secret = settings.actions_webhook_secret
    if not settings.actions_webhook_url or secret is None:
        return None
    return WebhookConfig(settings.actions_webhook_url, secret.get_secret_value())


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    ok: bool
    status: int | None
    error: str | None = None


def body_of(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` + hex HMAC-SHA256 of ``timestamp.body``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, given: str, *, now: float) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    try:
        fresh = abs(now - int(timestamp)) <= TOLERANCE
    except ValueError:
        return False
    return fresh and hmac.compare_digest(signature(secret, timestamp, body), given)


def post_webhook(
    url: str, secret: str, payload: Mapping[str, Any], event_id: str, now: datetime
) -> WebhookOutcome:
    """POST ``payload``, signed; ok on any 2xx."""
    body = body_of(payload)
    timestamp = str(int(now.timestamp()))
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Followup-Timestamp": timestamp,
            "X-Followup-Signature": signature(secret, timestamp, body),
            "X-Followup-Event": event_id,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        return WebhookOutcome(False, exc.code, f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return WebhookOutcome(False, None, f"{type(reason).__name__}: {reason}")
    if 200 <= status < 300:
        return WebhookOutcome(True, status)
    return WebhookOutcome(False, status, f"HTTP {status}")
