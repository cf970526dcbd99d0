"""The user docs in docs/ say what the program does: their examples import, and every table
that restates the code (record fields and their values, CSV header aliases, signals, rules and
their defaults, noise levels, settings, commands) is compared with the code here, so the two
cannot drift apart."""

from __future__ import annotations

import json
import re
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
import typer

from bot.blocks import style
from bot.cli import app
from bot.engine.digest import SENSITIVITY_FLOOR
from bot.engine.rules import DEFAULT_RULES, LANE_TITLES, SIGNALS
from bot.importer.accounts_csv import HEADER_ALIASES
from bot.importer.fields import Invalid
from bot.importer.kinds import DIGEST_SENSITIVITY, KIND_ORDER, org_fields, portfolio_kinds
from bot.settings import _ENV_NAMES, Settings
from tests.cli import run_cli

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
FORMAT = DOCS / "portfolio-format.md"
RULES = DOCS / "rules.md"
NOT_A_VALUE = "\x00not-a-value"


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def sections(text: str) -> dict[str, str]:
    """``### `name` `` headings → the text up to the next heading."""
    parts = re.split(r"^#{2,3} (.+)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def table(text: str) -> list[list[str]]:
    """The rows of the first Markdown table in ``text`` (header and rule left out)."""
    rows: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            rows.append(cells)
        elif rows:
            break
    return rows[2:]


def ticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def json_examples(path: Path) -> list[dict[str, Any]]:
    blocks = re.findall(r"```json\n(.*?)```", read(path), flags=re.S)
    return [json.loads(b) for b in blocks if '"format"' in b]


def enum_values(convert: Any) -> set[str] | None:
    """The values an importer field accepts, if it takes one of a list (from its own error)."""
    try:
        convert(NOT_A_VALUE)
    except Invalid as exc:
        found = re.match(r"expected one of (.*); got", exc.issues[0][1])
        return set(found[1].split(", ")) if found else None
    return None


# ------------------------------------------------------------------ the portfolio format


@pytest.mark.parametrize("doc", [FORMAT, RULES], ids=lambda p: p.name)
def test_every_portfolio_example_in_the_docs_imports(doc: Path, tmp_path: Path) -> None:
    examples = json_examples(doc)
    assert examples
    for n, example in enumerate(examples):
        path = tmp_path / f"example-{n}.json"
        path.write_text(json.dumps(example))
        done = run_cli("--database-url", f"sqlite:///{tmp_path}/ex-{n}.db", "import", str(path))
        assert done.returncode == 0, done.stderr


def test_the_minimal_example_flags_what_the_doc_says(tmp_path: Path) -> None:
    [minimal] = json_examples(FORMAT)[:1]
    path = tmp_path / "portfolio.json"
    path.write_text(json.dumps(minimal))
    url = f"sqlite:///{tmp_path}/min.db"
    assert run_cli("--database-url", url, "import", str(path)).returncode == 0
    done = run_cli(
        "--database-url", url, "sweep", "--as-of", "2026-11-16T09:00", "--format", "json"
    )
    cards = json.loads(done.stdout)["cards"]
    assert [(c["account"], c["lane"]) for c in cards] == [("acc-globex", "owe_them_something")]
    assert cards[0]["reasons"][0]["signal"] == "unreplied_customer_email"


def documented_kinds() -> dict[str, list[list[str]]]:
    found = sections(read(FORMAT))
    return {
        name.strip("`"): table(body)
        for name, body in found.items()
        if name.startswith("`") and table(body) and table(body)[0][0].startswith("`")
    }


def test_every_kind_and_top_level_key_is_documented() -> None:
    kinds = documented_kinds()
    assert set(kinds) == {*KIND_ORDER, "org"}
    top = {key for row in table(sections(read(FORMAT))["Top level"]) for key in ticked(row[0])}
    assert top == {"format", "reference_time", "org", *KIND_ORDER}


@pytest.mark.parametrize("kind", [*KIND_ORDER, "org"])
def test_the_field_table_of_a_kind_is_the_importers(kind: str) -> None:
    rows = documented_kinds()[kind]
    if kind == "org":
        fields = org_fields()
        required = {"name"}
    else:
        spec = portfolio_kinds(UTC)[kind]
        fields, required = spec.fields, set(spec.required)
    documented = {ticked(row[0])[0]: row for row in rows}
    assert set(documented) == set(fields), "fields documented ≠ fields imported"
    assert {name for name, row in documented.items() if row[2] == "yes"} == required
    for name, row in documented.items():
        accepted = enum_values(fields[name].convert)
        listed = set(ticked(row[1])) if row[1].startswith("one of") else None
        assert listed == accepted, f"{kind}.{name}: documented {listed}, imported {accepted}"


def test_documented_enum_values_import(tmp_path: Path) -> None:
    """Each value a field's row lists, in a real import (a dry run of one record per value)."""
    kinds = documented_kinds()
    base = json_examples(FORMAT)[0]
    records = {"accounts": base["accounts"][0], "contacts": base["contacts"][0]}
    records["activities"] = base["activities"][0]
    values = {
        (kind, ticked(row[0])[0]): ticked(row[1])
        for kind in records
        for row in kinds[kind]
        if row[1].startswith("one of")
    }
    assert len(values) >= 8
    data = json.loads(json.dumps(base))
    for (kind, name), listed in values.items():
        for n, value in enumerate(listed):
            record = {**records[kind], name: value, "id": f"{records[kind]['id']}-{name}-{n}"}
            if kind == "activities" and name == "kind" and value in ("note", "post_meeting_note"):
                record["direction"] = "internal"
            data[kind].append(record)
    path = tmp_path / "values.json"
    path.write_text(json.dumps(data))
    done = run_cli("--database-url", f"sqlite:///{tmp_path}/v.db", "import", str(path), "--dry-run")
    assert done.returncode == 0, done.stderr


def test_the_csv_header_aliases_are_the_importers() -> None:
    rows = table(sections(read(FORMAT))["The accounts CSV"])
    documented = {
        alias: ticked(row[0])[0] for row in rows for alias in ticked(row[1].split("—")[0])
    }
    assert documented == HEADER_ALIASES


# ------------------------------------------------------------------------------- rules


def test_the_signal_table_is_the_engines() -> None:
    rows = table(sections(read(RULES))["Signals"])
    documented = {ticked(row[0])[0]: row for row in rows}
    assert list(documented) == list(SIGNALS)
    defaults = DEFAULT_RULES.model_dump()
    for signal, (_, lane, group, _, thresholds, _) in documented.items():
        spec = SIGNALS[signal]
        assert lane == LANE_TITLES[spec.lane], signal
        assert group == spec.group.label, signal
        for name in ticked(thresholds):
            assert name in defaults, f"{signal}: unknown rule {name}"
        for name, value in re.findall(r"`(\w+)` = (\d+)", thresholds):
            assert defaults[name] == float(value), f"{signal}: {name} = {value}"


def rendered(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {rendered(v)}" for k, v in value.items())
    if value is None:
        return "off"
    if isinstance(value, tuple | list):
        return ", ".join(value) or "none"
    return f"{value:g}"


def test_every_rule_and_its_default_is_documented() -> None:
    rows = table(sections(read(RULES))["Overriding the rules"])
    documented = {ticked(row[0])[0]: row[1] for row in rows}
    defaults = DEFAULT_RULES.model_dump()
    assert set(documented) == set(defaults)
    for name, value in defaults.items():
        assert documented[name] == rendered(value), name
    # and inside the signal table, a cadence reads as in the rules table
    signals = read(RULES)
    for name in ("touch_days", "meeting_cadence_days"):
        assert f"`{name}` = {rendered(defaults[name])} |" in signals


def test_the_noise_levels_are_the_digests() -> None:
    rows = table(sections(read(RULES))["Noise levels"])
    documented = {ticked(row[1])[0]: (row[0], row[2]) for row in rows}
    assert set(documented) == set(DIGEST_SENSITIVITY) == set(SENSITIVITY_FLOOR)
    for level, (label, shows) in documented.items():
        assert label == style.SENSITIVITY_LABEL[level]
        assert shows.startswith(style.SENSITIVITY_HINT[level])


# ----------------------------------------------------------------- settings and commands


def test_the_settings_table_is_the_settings() -> None:
    rows = table(read(DOCS / "configuration.md"))
    documented = {ticked(row[0])[0]: row[2] for row in rows}
    assert set(documented) == set(_ENV_NAMES.values())
    for field, env in _ENV_NAMES.items():
        default = Settings.model_fields[field].default
        cell = documented[env]
        if default is None:
            assert cell.startswith("none"), env
        else:
            assert ticked(cell)[0] == default, env


def test_every_command_is_documented() -> None:
    def commands(group: Any, prefix: str = "") -> set[str]:
        out = set()
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                if command.invoke_without_command:  # a command of its own too (outbox)
                    out.add(prefix + name)
                out |= commands(command, f"{prefix}{name} ")
            else:
                out.add(prefix + name)
        return out

    cli = read(DOCS / "cli.md")
    documented = set(re.findall(r"^## `followup-bot ([a-z ]+?)(?: [A-Z\[-]|`)", cli, re.M))
    assert documented == commands(typer.main.get_command(app))


def test_links_between_the_docs_resolve() -> None:
    for page in [ROOT / "README.md", *DOCS.glob("*.md")]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", read(page)):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (page.parent / target).exists(), f"{page.name}: broken link {target}"
        assert "../shared" not in read(page), page.name
