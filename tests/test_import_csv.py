"""Accounts CSV import (data-format.md "Accounts CSV"), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.db.models import Account, AccountRollup, Base, Contact
from bot.importer import ImportFailed, ImportReport, import_file

NOW = datetime(2026, 11, 16, 20, 0, tzinfo=UTC)

SEED = {
    "format": "followup-portfolio/1",
    "org": {"name": "Acme CS", "timezone": "America/New_York"},
    "users": [
        {"id": "u-ana", "name": "Ana", "email": "Ana@Acme.test"},
        {"id": "u-bo", "name": "Bo", "email": "bo@acme.test"},
    ],
    "accounts": [
        {
            "id": "acc-globex",
            "name": "Globex Corp",
            "mrr": 500,
            "segment": "smb",
            "csm": "u-bo",
            "blocker": "minor",
            "traits": {"plan": "gold"},
        }
    ],
    "contacts": [{"id": "c-1", "account": "acc-globex", "email": "zoe@globex.test"}],
}


@pytest.fixture
def seeded(engine: Engine, tmp_path: Path) -> Engine:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(SEED))
    import_file(engine, path, now=NOW)
    return engine


def write_csv(tmp_path: Path, rows: list[list[str]], name: str = "accounts.csv") -> Path:
    path = tmp_path / name
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def accounts(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {row.id: row for row in conn.execute(select(Account))}


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            t.name: sorted((tuple(r) for r in conn.execute(select(t))), key=repr)
            for t in Base.metadata.sorted_tables
        }


def run(engine: Engine, path: Path, **kwargs: Any) -> ImportReport:
    return import_file(engine, path, now=NOW, **kwargs)


HEADER = [
    "Company",
    "Monthly Revenue",
    "Segment",
    "Touch policy",
    "Owner",
    "Renewal Date",
    "Contact Email",
    "Region",
]


def test_aliases_human_enums_and_new_accounts(seeded: Engine, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        [
            HEADER,
            [
                "Initech",
                "$1,200.50",
                "Mid-market",
                "Low touch",
                "ana@acme.test",
                "2027-03-01",
                "Peter Gibbons <peter@initech.test>",
                "EMEA",
            ],
            ["Umbrella", "300", "SMB", "Strategic", "u-bo", "2027/01/15", "", "APAC"],
            ["Umbrella Labs", "0", "Enterprise", "", "", "", "", ""],
        ],
    )
    report = run(seeded, path)
    assert report.created == {"accounts": 3, "contacts": 1}
    assert report.mapping == {
        "Company": "name",
        "Monthly Revenue": "mrr",
        "Segment": "segment",
        "Touch policy": "touch_policy",
        "Owner": "csm",
        "Renewal Date": "renewal_date",
        "Contact Email": "primary_contact",
        "Region": "trait:region",
    }
    stored = accounts(seeded)
    initech = stored["acc-initech"]
    assert (initech.name, initech.mrr, initech.segment, initech.touch_policy) == (
        "Initech",
        1200.5,
        "mid_market",
        "low_touch",
    )
    assert initech.csm_id == "u-ana"  # by email, case-insensitively
    assert initech.renewal_date == date(2027, 3, 1)
    assert initech.traits == {"region": "EMEA"}
    umbrella = stored["acc-umbrella"]
    assert (umbrella.segment, umbrella.csm_id, umbrella.renewal_date) == (
        "smb",
        "u-bo",
        date(2027, 1, 15),
    )
    assert stored["acc-umbrella-labs"].segment == "enterprise"
    with seeded.connect() as conn:
        contact = conn.execute(select(Contact).where(Contact.account_id == "acc-initech")).one()
        assert (contact.name, contact.email) == ("Peter Gibbons", "peter@initech.test")
        assert (
            conn.execute(
                select(AccountRollup.account_id).where(AccountRollup.account_id == "acc-initech")
            ).scalar_one()
            == "acc-initech"
        )

    # the same file again: matched by name, nothing changes
    before = snapshot(seeded)
    again = run(seeded, path)
    assert again.created == {"accounts": 0, "contacts": 0}
    assert again.updated == {"accounts": 0} and again.unchanged["accounts"] == 3
    assert snapshot(seeded) == before


def test_rows_match_stored_accounts_by_name_or_id(seeded: Engine, tmp_path: Path) -> None:
    by_name = write_csv(tmp_path, [["account name", "MRR", "Region"], ["GLOBEX CORP", "750", "EU"]])
    report = run(seeded, by_name)
    assert report.created == {"accounts": 0} and report.updated == {"accounts": 1}
    globex = accounts(seeded)["acc-globex"]
    assert globex.mrr == 750
    assert (globex.name, globex.segment, globex.csm_id, globex.blocker) == (
        "Globex Corp",
        "smb",
        "u-bo",
        "minor",
    )  # empty or absent columns keep the stored values
    assert globex.traits == {"plan": "gold", "region": "EU"}

    by_id = write_csv(
        tmp_path, [["ID", "Name", "Status"], ["acc-globex", "Globex Renamed", "Churned"]]
    )
    run(seeded, by_id)
    globex = accounts(seeded)["acc-globex"]
    assert (globex.name, globex.status, globex.mrr) == ("Globex Renamed", "churned", 750)


def test_a_generated_id_never_collides(seeded: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path, [["name"], ["Globex"], ["Globex!"]])
    run(seeded, path)
    assert {"acc-globex-2", "acc-globex-3"} <= set(accounts(seeded))


def test_bad_rows_are_reported_by_line_and_column_and_nothing_is_written(
    seeded: Engine, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path,
        [
            ["Name", "MRR", "Segment", "CSM", "Renewal date"],
            ["Good Co", "100", "smb", "u-ana", "2027-01-01"],
            ["Bad Money", "-5", "smb", "", ""],
            ["Bad Segment", "10", "giant", "nobody@acme.test", "next year"],
        ],
    )
    before = snapshot(seeded)
    with pytest.raises(ImportFailed) as info:
        run(seeded, path)
    assert [str(e) for e in info.value.errors] == [
        "line 3, column 'MRR': must be ≥ 0, got -5",
        "line 4, column 'Segment': expected one of smb, mid_market, enterprise; got 'giant'",
        "line 4, column 'CSM': unknown user 'nobody@acme.test' (give a user id or email)",
        "line 4, column 'Renewal date': expected a date YYYY-MM-DD, got 'next year'",
    ]
    assert snapshot(seeded) == before


def test_skip_invalid_imports_the_good_rows_and_writes_the_rejects(
    seeded: Engine, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path,
        [
            ["Name", "MRR", "Segment"],
            ["Good Co", "100", "smb"],
            ["Bad Money", "lots", "smb"],
            ["Also Good", "5", "enterprise"],
        ],
    )
    report = run(seeded, path, skip_invalid=True)
    assert report.created == {"accounts": 2} and report.rejected == 1
    assert report.rejects_file == tmp_path / "accounts.rejected.csv"
    with report.rejects_file.open(newline="", encoding="utf-8") as handle:
        assert list(csv.reader(handle)) == [
            ["Name", "MRR", "Segment", "reason"],
            [
                "Bad Money",
                "lots",
                "smb",
                "line 3, column 'MRR': expected a number such as 1200 or 1,200.50; got 'lots'",
            ],
        ]
    assert {"acc-good-co", "acc-also-good"} <= set(accounts(seeded))
    assert "acc-bad-money" not in accounts(seeded)


def test_dry_run_shows_mapping_and_preview_and_writes_nothing(
    seeded: Engine, tmp_path: Path
) -> None:
    rows = [["Company", "Revenue", "Segment", "Tier"]]
    rows += [[f"Company {i}", str(100 * i), "Mid market", "gold"] for i in range(25)]
    rows.append(["Globex Corp", "900", "SMB", ""])
    path = write_csv(tmp_path, rows)
    before = snapshot(seeded)
    report = run(seeded, path, dry_run=True)
    assert snapshot(seeded) == before
    assert report.dry_run and report.records == 26
    assert report.mapping == {
        "Company": "name",
        "Revenue": "mrr",
        "Segment": "segment",
        "Tier": "trait:tier",
    }
    assert len(report.preview) == 20
    assert report.preview[1] == {
        "line": 3,
        "action": "create",
        "id": "acc-company-1",
        "name": "Company 1",
        "mrr": 100.0,
        "segment": "mid_market",
        "traits": {"tier": "gold"},
    }
    assert report.created == {"accounts": 25} and report.updated == {"accounts": 1}


def test_a_csv_without_a_name_or_id_column_is_refused(seeded: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path, [["MRR", "Segment"], ["10", "smb"]])
    with pytest.raises(ImportFailed) as info:
        run(seeded, path)
    assert [str(e) for e in info.value.errors] == [
        "line 1: no name column (name, account, company, account name) and no id column"
    ]
