"""A chat.postMessage payload built from ``slack_sdk.models`` blocks.

slack_sdk's own ``Message`` model is deprecated (and adds fields chat.postMessage does not
take), so this small container holds the arguments we send: ``channel``, the fallback ``text``
and the blocks. ``to_dict()`` runs slack_sdk's validators on every block and checks what
slack_sdk does not (50 blocks, a non-empty fallback).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

from bot.blocks.mrkdwn import MESSAGE_BLOCKS, MESSAGE_TEXT


@dataclass(slots=True)
class SlackMessage:
    text: str
    blocks: Sequence[Block] = field(default_factory=list)
    channel: str | None = None

    def to_dict(self) -> dict[str, Any]:
        if not self.text.strip():
            raise SlackObjectFormationError("a message needs a non-empty text fallback")
        if len(self.text) > MESSAGE_TEXT:
            raise SlackObjectFormationError(f"text is longer than {MESSAGE_TEXT} characters")
        if len(self.blocks) > MESSAGE_BLOCKS:
            raise SlackObjectFormationError(
                f"{len(self.blocks)} blocks; a message allows at most {MESSAGE_BLOCKS}"
            )
        out: dict[str, Any] = {}
        if self.channel is not None:
            out["channel"] = self.channel
        out["text"] = self.text
        out["blocks"] = [b.to_dict() for b in self.blocks]
        return out
