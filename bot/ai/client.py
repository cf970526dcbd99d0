"""The Anthropic client, built from the settings, and one call with retries.

The SDK's own retries are off (``max_retries=0``): :func:`call_tool` retries 429, 529 and
other 5xx answers, timeouts and lost connections itself, ``attempts`` times in all, with
exponential backoff (honouring ``Retry-After`` up to ``MAX_WAIT``), so the number of tries and
the waits are ours to state and test. Failures become :class:`AiUnavailable` with a message
for the user that names the setting to fix when it is a configuration problem. The key never
appears in a message or a log line.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anthropic

from bot.settings import Settings

log = logging.getLogger(__name__)

TIMEOUT = 45.0  # seconds per request
ATTEMPTS = 3
BACKOFF = 1.0  # seconds before the second try; doubled each time
MAX_WAIT = 10.0
MAX_TOKENS = 4096


class AiUnavailable(Exception):
    """The AI could not write the summary; ``str()`` says why, in plain words."""


@dataclass(frozen=True, slots=True)
class AiConfig:
    api_key: str
    model: str
    base_url: str | None = None
    timeout: float = TIMEOUT
    attempts: int = ATTEMPTS
    backoff: float = BACKOFF

    @classmethod
    def from_settings(cls, settings: Settings | None) -> AiConfig | None:
        """None without a key (an empty ANTHROPIC_API_KEY counts as none)."""
        if settings is None or settings.anthropic_api_key is None:
            return None
        key = settings.anthropic_api_key.get_secret_value().strip()
        if not key:
            return None
        return cls(
            api_key=key, model=settings.anthropic_model, base_url=settings.anthropic_base_url
        )

    def __repr__(self) -> str:  # never show the key
        return f"AiConfig(model={self.model!r}, base_url={self.base_url!r})"


def make_client(config: AiConfig) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key=config.api_key,
        base_url=config.base_url or None,
        timeout=config.timeout,
        max_retries=0,
    )


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, anthropic.APIConnectionError):  # timeouts included
        return True
    if isinstance(exc, anthropic.APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    return False


def _retry_after(exc: Exception) -> float | None:
    if not isinstance(exc, anthropic.APIStatusError):
        return None
    value = exc.response.headers.get("retry-after")
    try:
        return min(float(value), MAX_WAIT) if value is not None else None
    except ValueError:
        return None


def _plain(exc: Exception, config: AiConfig, attempts: int) -> str:
    if isinstance(exc, anthropic.AuthenticationError):
        return "the AI was not used: the API refused ANTHROPIC_API_KEY (401); check that setting"
    if isinstance(exc, anthropic.PermissionDeniedError):
        return "the AI was not used: ANTHROPIC_API_KEY may not use this model (403)"
    if isinstance(exc, anthropic.NotFoundError):
        return (
            f"the AI was not used: ANTHROPIC_MODEL '{config.model}' was not found (404); "
            "check that setting"
        )
    if isinstance(exc, anthropic.APITimeoutError):
        return f"the AI was unavailable: no answer within {config.timeout:g}s, {attempts} tries"
    if isinstance(exc, anthropic.APIConnectionError):
        where = config.base_url or "the Anthropic API"
        return (
            f"the AI was unavailable: could not reach {where} after {attempts} tries "
            "(check ANTHROPIC_BASE_URL)"
        )
    if isinstance(exc, anthropic.APIStatusError):
        return f"the AI was unavailable: the API answered {exc.status_code} after {attempts} tries"
    return f"the AI was unavailable: {type(exc).__name__}"


def call_tool(
    config: AiConfig,
    request: dict[str, Any],
    *,
    client: anthropic.Anthropic | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Send one Messages request that forces a tool call; the tool's input. Raises
    :class:`AiUnavailable` after the retries, or at once for a non-retryable error."""
    client = client or make_client(config)
    last: Exception | None = None
    for attempt in range(1, config.attempts + 1):
        try:
            message = client.messages.create(model=config.model, max_tokens=MAX_TOKENS, **request)
        except anthropic.APIError as exc:
            last = exc
            status = getattr(exc, "status_code", None)
            log.warning(
                "Anthropic API attempt %d: %s %s", attempt, type(exc).__name__, status or ""
            )
            if not _retryable(exc) or attempt == config.attempts:
                raise AiUnavailable(_plain(exc, config, attempt)) from None
            wait = _retry_after(exc)
            if wait is None:
                wait = config.backoff * 2 ** (attempt - 1) * (0.8 + 0.4 * random.random())
            sleep(min(wait, MAX_WAIT))
            continue
        for block in message.content:
            if block.type == "tool_use":
                return dict(block.input) if isinstance(block.input, dict) else {}
        raise AiUnavailable("the AI answer was invalid: it did not call the summary tool")
    raise AiUnavailable(_plain(last or RuntimeError(), config, config.attempts))
