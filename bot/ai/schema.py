"""The one tool the model answers with (structured output through tool use) and the pydantic
models its input is validated with."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.engine.summary.sections import SectionId

TOOL_NAME = "write_account_summary"
MAX_BULLETS = 8


class AiBullet(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str = Field(min_length=1, max_length=600)
    refs: list[str] = Field(default_factory=list, max_length=20)


class AiAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sections: dict[SectionId, list[AiBullet]]


def tool(sections: Sequence[SectionId]) -> dict[str, Any]:
    bullet = {
        "type": "object",
        "properties": {
            "text": {"type": "string", "description": "One plain-text statement."},
            "refs": {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 1,
                "description": "Ids of the records (from the account data) it rests on.",
            },
        },
        "required": ["text", "refs"],
    }
    return {
        "name": TOOL_NAME,
        "description": "Write the sections of the account summary, each bullet citing the ids "
        "of the records it rests on.",
        "input_schema": {
            "type": "object",
            "properties": {
                "sections": {
                    "type": "object",
                    "properties": {
                        s.value: {"type": "array", "items": bullet, "maxItems": MAX_BULLETS}
                        for s in sections
                    },
                    "required": [s.value for s in sections],
                }
            },
            "required": ["sections"],
        },
    }
