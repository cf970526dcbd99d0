"""AI answers kept by the hash of exactly what they were written from: the model, the
instructions, the tool and the prompt. The same inputs are served from here with no API
call; any change in the account's data changes the prompt, hence the key."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from bot.db.models import SummaryCache


@dataclass(frozen=True, slots=True)
class Cached:
    answer: dict[str, Any]
    created_at: datetime


def cache_key(model: str, request: dict[str, Any]) -> str:
    text = json.dumps({"model": model, "request": request}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cached(engine: Engine, key: str) -> Cached | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(SummaryCache.sections, SummaryCache.created_at).where(SummaryCache.key == key)
        ).first()
    return None if row is None else Cached(dict(row.sections), row.created_at)


def store(
    engine: Engine, key: str, account_id: str, model: str, answer: dict[str, Any], now: datetime
) -> None:
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(SummaryCache).values(
                    key=key, account_id=account_id, created_at=now, model=model, sections=answer
                )
            )
    except IntegrityError:  # written meanwhile by another process, from the same inputs
        pass
