"""Shared fixtures: real databases (SQLite files and a throwaway PostgreSQL cluster), each test
on a fresh copy of a database migrated once per session by the real Alembic migrations."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from bot.db.session import make_engine, upgrade
from tests.pgcluster import PostgresUnavailable, throwaway_cluster


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A PostgreSQL server: ``TEST_DATABASE_URL`` or a throwaway cluster on a free port."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield given
        return
    try:
        with throwaway_cluster() as url:
            yield url
    except PostgresUnavailable as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template(pg_server_url: str) -> str:
    """Name of a database migrated to head, used as TEMPLATE for each test's database."""
    name = f"followup_tpl_{uuid.uuid4().hex[:8]}"
    admin = make_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = make_engine(make_url(pg_server_url).set(database=name).render_as_string(False))
    upgrade(engine)
    engine.dispose()
    return name


def _new_database_url(request: pytest.FixtureRequest, kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "followup.db"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    server: str = request.getfixturevalue("pg_server_url")
    template_name: str = request.getfixturevalue("pg_template")
    name = f"followup_t_{uuid.uuid4().hex[:10]}"
    admin = make_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
    admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a fresh, migrated database: once on SQLite, once on PostgreSQL."""
    return _new_database_url(request, request.param, tmp_path)


@pytest.fixture
def sqlite_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a fresh, migrated SQLite database (for tests where the backend does not matter)."""
    return _new_database_url(request, "sqlite", tmp_path)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a fresh, migrated PostgreSQL database (for tests of PostgreSQL's own ways)."""
    return _new_database_url(request, "postgres", tmp_path)


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    eng = make_engine(pg_url)
    yield eng
    eng.dispose()
