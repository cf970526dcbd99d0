"""The one place where text meets Slack: escaping of customer data and every length limit.

Every builder in ``bot.blocks`` makes its text objects here, so no string reaches Slack
unescaped or over a limit. Customer data (account names, email subjects, notes, CRM fields)
goes through :func:`esc` (or :func:`fit`): ``&``, ``<`` and ``>`` become entities, so
``<!channel>`` or ``<@U123>`` in an email subject pings nobody. Text that we compose ourselves
from escaped parts and formatting (``*bold*``, ``<url|label>``) is cut with :func:`clip`,
which never cuts inside an entity or a link.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote, urlsplit

from slack_sdk.models.blocks import MarkdownTextObject, PlainTextObject

# Limits (docs.slack.dev/reference/block-kit).
SECTION_TEXT = 3000
SECTION_FIELD = 2000
SECTION_FIELDS = 10
HEADER_TEXT = 150
BUTTON_TEXT = 75
OPTION_TEXT = 75
OPTION_VALUE = 150
BUTTON_VALUE = 2000
PLACEHOLDER = 150
CONTEXT_TEXT = 2000  # per context element (Slack documents none below 3000; stay well under)
CONTEXT_ELEMENTS = 10
LABEL = 2000
VIEW_TITLE = 24
VIEW_BUTTON = 24  # submit / close
PRIVATE_METADATA = 3000
MESSAGE_TEXT = 4000  # fallback text: Slack allows 40,000, a notification needs far less
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
URL = 3000

ELLIPSIS = "…"
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def esc(text: str) -> str:
    """Escape customer text for any Slack text field (mrkdwn or plain_text)."""
    return "".join(_ENTITIES.get(ch, ch) for ch in text)


def one_line(text: str) -> str:
    """Collapse every run of whitespace (newlines included) to one space."""
    return " ".join(text.split())


def fit(text: str, limit: int) -> str:
    """Escape ``text`` and cut it so that the *escaped* result is at most ``limit`` characters.

    Cuts on the raw text, so an entity is never split; a cut ends with ``…``.
    """
    escaped = esc(text)
    if len(escaped) <= limit:
        return escaped
    out: list[str] = []
    used = 0
    for ch in text:
        piece = _ENTITIES.get(ch, ch)
        if used + len(piece) > limit - len(ELLIPSIS):
            break
        out.append(piece)
        used += len(piece)
    return "".join(out).rstrip() + ELLIPSIS


def clip(mrkdwn: str, limit: int) -> str:
    """Cut already-escaped mrkdwn to ``limit`` characters without breaking an entity or a
    ``<…>`` link/mention; a cut ends with ``…``."""
    if len(mrkdwn) <= limit:
        return mrkdwn
    cut = limit - len(ELLIPSIS)
    head = mrkdwn[:cut]
    amp, semi = head.rfind("&"), head.rfind(";")
    if amp > semi:  # inside an entity
        head = head[:amp]
    lt, gt = head.rfind("<"), head.rfind(">")
    if lt > gt:  # inside a link or mention
        head = head[:lt]
    return head.rstrip() + ELLIPSIS


def link(url: str | None, label: str, limit: int = 500) -> str:
    """``<url|label>`` with an escaped label; just the escaped label when the URL is not a
    plain http(s) URL (no ``javascript:``, no Slack control sequences)."""
    text = fit(one_line(label) or "—", limit)
    safe = safe_url(url)
    if safe is None:
        return text
    return f"<{safe}|{text}>"


def safe_url(url: str | None) -> str | None:
    """An http(s) URL made safe inside ``<…|…>``; None when unusable."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    # Percent-encode what would end the link or start a label; keep the rest of the URL.
    cleaned = quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")
    cleaned = cleaned.replace("&", "&amp;")
    if len(cleaned) > URL:
        return None
    return cleaned


def bullets(items: Iterable[str], limit: int, *, more: int = 0, bullet: str = "•") -> str:
    """Lines ``• item`` of already-escaped items, cut to ``limit`` with a ``+N more`` line."""
    lines: list[str] = []
    items = list(items)
    used = 0
    for i, item in enumerate(items):
        line = f"{bullet} {item}" if bullet else item
        rest = len(items) - i - 1 + more
        reserve = len(f"\n_+{rest} more_") if rest else 0
        if used + len(line) + 1 + reserve > limit:
            more += len(items) - i
            break
        lines.append(line)
        used += len(line) + 1
    if more:
        lines.append(f"_+{more} more_")
    return clip("\n".join(lines), limit)


# ---------------------------------------------------------------- text objects


def md(text: str, limit: int = SECTION_TEXT) -> MarkdownTextObject:
    """A mrkdwn text object from already-escaped mrkdwn, clipped to ``limit``."""
    return MarkdownTextObject(text=clip(text, limit) or " ")


def plain(text: str, limit: int, *, emoji: bool = True) -> PlainTextObject:
    """A plain_text object from raw text (escaped and cut to ``limit``)."""
    return PlainTextObject(text=fit(one_line(text), limit) or " ", emoji=emoji)


def section_text(text: str) -> MarkdownTextObject:
    return md(text, SECTION_TEXT)


def field_text(text: str) -> MarkdownTextObject:
    return md(text, SECTION_FIELD)


def context_text(text: str) -> MarkdownTextObject:
    return md(text, CONTEXT_TEXT)


def header_text(text: str) -> PlainTextObject:
    return plain(text, HEADER_TEXT)


def button_text(text: str) -> PlainTextObject:
    return plain(text, BUTTON_TEXT)


def option_text(text: str) -> PlainTextObject:
    return plain(text, OPTION_TEXT)


def placeholder(text: str) -> PlainTextObject:
    return plain(text, PLACEHOLDER)


def label(text: str) -> PlainTextObject:
    return plain(text, LABEL)


def view_title(text: str) -> PlainTextObject:
    return plain(text, VIEW_TITLE)


def view_button(text: str) -> PlainTextObject:
    return plain(text, VIEW_BUTTON)


def fallback(text: str) -> str:
    """A message's top-level ``text`` (notifications, screen readers): escaped, one line-ish,
    never empty."""
    return clip(text, MESSAGE_TEXT) or "Followup Bot"
