"""The real migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, inspect, select

from bot.db.models import Activity, Base


def test_migrations_match_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
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
