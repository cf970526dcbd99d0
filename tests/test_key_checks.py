"""PostgreSQL: a big load into a bigger table has its foreign keys checked once per referenced
row instead of once per row written (``BulkLoad.check_keys_at_once``), when the database role
may skip the per-row triggers; with the same guarantees as the triggers, and as before for a
role that may not."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, Table, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from bench.generate import cached_dataset
from bot.db.bulk import BulkLoad, bulk_insert
from bot.db.models import Account, Activity
from bot.db.session import make_engine
from bot.importer import import_file
from tests.test_import_json import schema

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 16, 20, 0, tzinfo=UTC)
ACTIVITIES = Activity.__table__
assert isinstance(ACTIVITIES, Table)


def _import_three_shards(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> tuple[str, str]:
    """Import a 3-shard portfolio (bulk-load threshold lowered): the first two shards are bulk
    loads (a first load, then one that doubles each table); the third is not, but is big
    enough. Returns what the importer logged about the first two, and about the third."""
    org, *shards = cached_dataset(
        tmp_path / "data", accounts=300, activities_per_account=10, shard_size=100
    )
    assert len(shards) == 3
    logged = []
    with caplog.at_level(logging.INFO, logger="bot.db.bulk"):
        for files in ((org, *shards[:2]), shards[2:]):
            caplog.clear()
            for shard in files:
                import_file(engine, shard, now=NOW)
            logged.append("\n".join(r.getMessage() for r in caplog.records))
    return logged[0], logged[1]


def test_a_big_load_into_a_bigger_table_stores_every_row_and_keeps_its_keys(
    pg_engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr("bot.db.bulk.BULK_LOAD_ROWS", 100)
    before = schema(pg_engine)
    _, logged = _import_three_shards(pg_engine, tmp_path, caplog)
    assert "the foreign keys of activities are checked at once" in logged
    assert "email_threads" in logged  # the new accounts' rollups too
    assert "bulk load" not in logged  # nothing dropped, nothing locked for readers
    assert schema(pg_engine) == before
    with pg_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Account)).scalar() == 300
        assert conn.execute(select(func.count()).select_from(Activity)).scalar() == 3000
        orphans = conn.execute(
            select(func.count())
            .select_from(Activity)
            .where(~Activity.account_id.in_(select(Account.id)))
        ).scalar()
        assert orphans == 0
        # the per-row triggers are back for whatever comes next
        assert conn.execute(text("SHOW session_replication_role")).scalar() == "origin"
    activity = {"kind": "note", "direction": "internal", "at": NOW}
    with pytest.raises(IntegrityError, match=r"(?i)foreign key"), pg_engine.begin() as conn:
        conn.execute(insert(Activity).values(id="act-dangling", account_id="nobody", **activity))


def _activity(id_: str, account: str) -> dict[str, object]:
    return {"id": id_, "account_id": account, "kind": "note", "direction": "internal", "at": NOW}


def _accounts(engine: Engine, *ids: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(Account),
            [
                {"id": i, "name": f"Account {i}", "segment": "smb", "touch_policy": "standard"}
                for i in ids
            ],
        )


def _write_checking_keys_at_once(conn: Connection, rows: list[dict[str, object]]) -> None:
    """Activities written as a big load does when its keys are checked at once."""
    load = BulkLoad(conn)
    load.collect_references(ACTIVITIES)
    assert load.check_keys_at_once([ACTIVITIES])
    load.note_references(ACTIVITIES, rows)
    bulk_insert(conn, ACTIVITIES, rows)
    load.restore(ACTIVITIES)


def test_keys_checked_at_once_refuse_a_row_that_references_nothing(pg_engine: Engine) -> None:
    _accounts(pg_engine, "a-1")
    rows = [_activity("act-1", "a-1"), _activity("act-2", "a-gone")]
    refused = pytest.raises(IntegrityError, match=r"key \(account_id\)=\(a-gone\) is not")
    with refused, pg_engine.begin() as conn:
        _write_checking_keys_at_once(conn, rows)
    with pg_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Activity)).scalar() == 0


def test_rows_referenced_by_a_load_cannot_be_deleted_until_it_commits(pg_engine: Engine) -> None:
    """As with the per-row triggers, each referenced account is locked (FOR KEY SHARE) until
    the load's transaction ends: another session cannot delete it meanwhile."""
    _accounts(pg_engine, "a-1", "a-2")
    rows = [_activity("act-1", "a-1")]
    with pg_engine.begin() as conn:
        _write_checking_keys_at_once(conn, rows)
        with pg_engine.connect() as other:
            other.execute(text("SET lock_timeout = '200ms'"))
            with pytest.raises(OperationalError, match="lock timeout"):
                other.execute(Account.__table__.delete().where(Account.id == "a-1"))
            other.rollback()
            other.execute(Account.__table__.delete().where(Account.id == "a-2"))  # not referenced
            other.commit()


@pytest.fixture
def plain_role_engine(pg_url: str) -> Iterator[Engine]:
    """The same database, reached as a role that is not a superuser (and so may not skip the
    per-row triggers), with the rights the bot needs on its tables."""
    role = f"bot_{uuid.uuid4().hex[:8]}"
    admin = make_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(text(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{role}"'))
        conn.execute(text(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "{role}"'))
    engine = make_engine(make_url(pg_url).set(username=role).render_as_string(False))
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP OWNED BY "{role}"'))
        conn.execute(text(f'DROP ROLE "{role}"'))
    admin.dispose()


def test_a_role_that_neither_owns_the_tables_nor_may_skip_triggers_imports_as_before(
    plain_role_engine: Engine,
    pg_engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr("bot.db.bulk.BULK_LOAD_ROWS", 100)
    first, third = _import_three_shards(plain_role_engine, tmp_path, caplog)
    logged = first + third
    assert "checked at once" not in logged
    assert "bulk load" not in logged  # (only a table's owner may drop its keys)
    with pg_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Activity)).scalar() == 3000
