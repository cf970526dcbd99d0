"""Column types shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: stored as naive UTC on every backend, returned timezone-aware (UTC)."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given for an instant column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        """A fast path: one C-level parse per value (the sweep reads hundreds of thousands)."""
        utc = UTC
        if dialect.name == "sqlite":
            parse = datetime.fromisoformat

            def from_text(value: Any) -> datetime | None:
                # "+00:00" makes the parse return an aware instant (datetime.replace is slow).
                return None if value is None else parse(value + "+00:00")

            return from_text

        combine = datetime.combine

        def from_naive(value: Any) -> datetime | None:
            return None if value is None else combine(value, value.time(), utc)

        return from_naive

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        if not isinstance(moment, datetime):
            raise TypeError(f"expected a datetime from the database, got {value!r}")
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class CompactUTCDateTime(TypeDecorator[datetime]):
    """An instant, as :class:`UTCDateTime`, but stored on SQLite as whole microseconds since
    the epoch (an 8-byte integer, not a 26-character text): for a column of a big table that
    is rewritten often and indexed (``account_sweep_state.next_check_at``), rows and index
    entries half the size mean about half the pages written. A timestamp elsewhere."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(DateTime(timezone=False))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given for an instant column")
        if dialect.name == "sqlite":
            return (value - EPOCH) // MICROSECOND
        return value.astimezone(UTC).replace(tzinfo=None)

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if dialect.name == "sqlite":
            epoch, us = EPOCH, MICROSECOND

            def from_micros(value: Any) -> datetime | None:
                return None if value is None else epoch + value * us

            return from_micros
        return UTCDateTime().result_processor(dialect, coltype)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def compare_type(
    context: Any,
    inspected_column: Any,
    metadata_column: Any,
    inspected_type: Any,
    metadata_type: Any,
) -> bool | None:
    """Alembic's type comparison, but for the length of a VARCHAR on SQLite, which SQLite
    does not enforce (the migrations change lengths on PostgreSQL only). False: the same
    type; None: Alembic's own comparison decides."""
    if (
        context.dialect.name == "sqlite"
        and isinstance(inspected_type, String)
        and isinstance(metadata_type, String)
        and type(inspected_type.as_generic()) is type(metadata_type.as_generic())
    ):
        return False
    return None
