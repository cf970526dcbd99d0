"""Engine and session wiring. Nothing here is module-level state: callers build and pass them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker


class DatabaseError(Exception):
    """The database cannot be reached or migrated; the message is for the user."""


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite files get WAL, foreign keys and a busy timeout (and the
    file's folder is made). A URL that names no usable database raises ``DatabaseError``."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(
            f"not a database URL: '{url}' (e.g. sqlite:///followup.db or "
            "postgresql+psycopg://user:password@host/dbname)"
        ) from None
    shown = parsed.render_as_string(hide_password=True)
    try:
        if parsed.get_backend_name() == "sqlite":
            database = parsed.database
            if database and database != ":memory:":
                folder = Path(database).parent
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise DatabaseError(
                        f"cannot use the database {shown}: cannot make the folder {folder} "
                        f"({exc.strerror})"
                    ) from None
            engine = create_engine(
                url, connect_args={"timeout": 30}, json_serializer=json_text, **kwargs
            )
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        return create_engine(url, pool_pre_ping=True, json_serializer=json_text, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        raise DatabaseError(f"cannot use the database {shown}: {exc}") from None


def json_text(value: Any) -> str:
    """How JSON columns are written: orjson's compact UTF-8 text (several times faster than
    ``json.dumps``, which an import of a big portfolio calls for every JSON value), or
    ``json.dumps`` for what orjson cannot hold (an integer beyond 64 bits)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


def migrations_location() -> str:
    """The Alembic script directory.

    An installed package carries it as ``bot/migrations`` (pyproject maps the repo's top-level
    ``migrations/`` there); a source checkout uses ``migrations/`` beside ``bot/``.
    """
    package_root = Path(str(resources.files("bot")))
    for candidate in (package_root / "migrations", package_root.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return str(candidate)
    raise DatabaseError(f"the migrations are missing: looked in {package_root}/migrations")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", migrations_location())
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the migrations to ``revision``."""
    command.upgrade(alembic_config(engine), revision)


def ensure_schema(engine: Engine) -> None:
    """Migrate the database to head (a fresh embedded file is created and migrated on first use)."""
    try:
        upgrade(engine)
    except Exception as exc:  # connection refused, bad credentials, unwritable file …
        raise DatabaseError(describe_db_error(engine, exc)) from exc


def describe_db_error(engine: Engine, exc: BaseException) -> str:
    url = engine.url.render_as_string(hide_password=True)
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return f"cannot use the database {url}: {reason}"


def has_table(engine: Engine, name: str) -> bool:
    return inspect(engine).has_table(name)
