"""Alembic environment. The engine comes from ``bot.db.session.alembic_config`` (or
``sqlalchemy.url`` in the config for ad-hoc ``alembic`` use)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from bot.db.models import Base
from bot.db.types import compare_type

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite:///followup.db")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=compare_type,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
