"""The real migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, insert, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from bench.generate import cached_dataset
from bot.db.models import Account, AccountSweepState, Activity, Base
from bot.db.session import alembic_config, make_engine, upgrade
from bot.db.types import UTCDateTime, compare_type
from bot.engine.sweep_state import due_accounts
from bot.importer import import_file

NOW = datetime(2026, 11, 16, 20, 0, tzinfo=UTC)


def test_migrations_match_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": compare_type})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_sweep_indexes_exist(engine: Engine) -> None:
    indexes = {ix["name"] for ix in inspect(engine).get_indexes("activities")}
    assert {"ix_activities_account_at", "ix_activities_meeting"} <= indexes


def test_activity_lookups_by_meeting_or_request_can_use_their_partial_indexes(
    engine: Engine,
) -> None:
    """The two indexes hold only the activities that name a meeting or a request; the sweep's
    lookups by a list of meetings or requests still find them through those indexes."""
    by_meeting = (
        select(Activity.meeting_id)
        .where(Activity.meeting_id.in_(["m-1", "m-2"]), Activity.kind == "post_meeting_note")
        .distinct()
    )
    by_request = (
        select(Activity.request_id, func.max(Activity.at))
        .where(Activity.request_id.in_(["r-1", "r-2"]))
        .group_by(Activity.request_id)
    )
    sqlite = engine.dialect.name == "sqlite"
    partial = {
        ix["name"]: str(ix["dialect_options"].get(f"{engine.dialect.name}_where"))
        for ix in inspect(engine).get_indexes("activities")
    }
    assert "meeting_id IS NOT NULL" in partial["ix_activities_meeting"]
    assert "request_id IS NOT NULL" in partial["ix_activities_request"]
    with engine.begin() as conn:
        if not sqlite:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # the table is empty
        for statement, index in (
            (by_meeting, "ix_activities_meeting"),
            (by_request, "ix_activities_request"),
        ):
            sql = statement.compile(conn, compile_kwargs={"literal_binds": True})
            explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
            plan = " ".join(str(row) for row in conn.exec_driver_sql(explain + str(sql)))
            assert index in plan, plan


@pytest.mark.postgres
def test_a_postgresql_database_with_data_keeps_its_rows_and_keys_when_ids_become_bytewise(
    pg_server_url: str, tmp_path: Path
) -> None:
    """Migration 0006 (ids compare byte by byte) on a database that holds a portfolio: every
    row is still there, ids sort byte by byte (uppercase before lowercase), and the foreign
    keys still refuse a dangling reference."""
    name = f"followup_m_{uuid.uuid4().hex[:8]}"
    admin = make_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(pg_server_url).set(database=name).render_as_string(False))
    try:
        # The portfolio is imported by today's importer (at head), then the schema goes back to
        # 0005 with its rows: today's importer cannot write a 0005 schema (later migrations add
        # columns it writes).
        upgrade(engine)
        shards = cached_dataset(tmp_path / "data", accounts=30, activities_per_account=5)
        for shard in shards:
            import_file(engine, shard, now=NOW)
        command.downgrade(alembic_config(engine), "0005")
        with engine.begin() as conn:
            conn.execute(
                insert(Account), [{"id": i, "name": i} for i in ("b-lower", "B-upper", "a-lower")]
            )
        before = _counts(engine)
        upgrade(engine)
        after = _counts(engine)
        assert {name: after[name] for name in before} == before
        with engine.connect() as conn:
            ids = conn.execute(
                select(Account.id).where(Account.id.like("%-%")).order_by(Account.id)
            ).scalars()
            assert list(ids) == ["B-upper", "a-lower", "b-lower"]
            collations = conn.execute(
                text(
                    "SELECT DISTINCT collation_name FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND character_maximum_length = 64 "
                    "AND column_name IN ('id', 'account_id', 'csm_id', 'user_id')"
                )
            ).scalars()
            assert set(collations) == {"C"}
        activity = {"kind": "note", "direction": "internal", "at": NOW}
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert(Activity).values(id="act-x", account_id="nobody", **activity))
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def _counts(engine: Engine) -> dict[str, int]:
    """Rows per table, for the tables the database has (a later migration adds more)."""
    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables
            if table.name in present
        }


# The sweep state as revision 0016 stored it (0017 drops swept_at; on SQLite it stores
# next_check_at as integer microseconds).
STATE_0016 = sa.table(
    "account_sweep_state",
    sa.column("account_id", sa.String),
    sa.column("swept_at", UTCDateTime()),
    sa.column("next_check_at", UTCDateTime()),
    sa.column("changes", sa.Integer),
    sa.column("swept_changes", sa.Integer),
)


def test_the_next_checks_keep_their_instants_through_migration_0017(engine: Engine) -> None:
    """An account's next check reads the same instant, to the microsecond, after the upgrade
    (which changes how SQLite stores it) and after going back."""
    due = datetime(2026, 11, 17, 14, 30, 5, 123456, tzinfo=UTC)
    command.downgrade(alembic_config(engine), "0016")
    with engine.begin() as conn:
        conn.execute(insert(Account).values(id="acc-1", name="Acme"))
        conn.execute(insert(Account).values(id="acc-2", name="Globex"))
        swept = {"swept_at": NOW, "changes": 2, "swept_changes": 2}
        conn.execute(
            insert(STATE_0016),
            [
                {"account_id": "acc-1", "next_check_at": due, **swept},
                {"account_id": "acc-2", "next_check_at": None, **swept},
            ],
        )
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(
            select(AccountSweepState.account_id, AccountSweepState.next_check_at).order_by(
                AccountSweepState.account_id
            )
        ).all()
        assert rows == [("acc-1", due), ("acc-2", None)]
        # due by time from that instant on, not a microsecond before
        assert set(due_accounts(conn, due)) == {"acc-1"}
        assert set(due_accounts(conn, due - timedelta(microseconds=1))) == set()
    command.downgrade(alembic_config(engine), "0016")
    with engine.connect() as conn:
        back = conn.execute(
            select(STATE_0016.c.account_id, STATE_0016.c.next_check_at).order_by(
                STATE_0016.c.account_id
            )
        ).all()
        assert back == [("acc-1", due), ("acc-2", None)]
    upgrade(engine)
