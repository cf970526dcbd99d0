"""``followup-bot policy`` and ``actions``: the action policy, and the actions for an account."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.common import (
    CliError,
    Format,
    _as_of,
    _dump_json,
    _engine,
    _errors,
    _HelpCommand,
    app,
    out,
    resolve_account,
)
from bot.engine.facts import load_org
from bot.engine.policy import AutomationLevel, Policy, org_level, parse_blocker, parse_level

LevelOption = Annotated[
    str | None,
    typer.Option(
        "--automation-level",
        help="recommend, assisted or autonomous. Default: the org's (assisted if none).",
        show_default=False,
    ),
]


def _level_option(value: str | None) -> AutomationLevel | None:
    if value is None:
        return None
    try:
        return parse_level(value)
    except ValueError as exc:
        raise CliError(f"--automation-level: {exc}") from None


@app.command(cls=_HelpCommand, epilog="Example: followup-bot policy --automation-level autonomous")
def policy(
    ctx: typer.Context,
    automation_level: LevelOption = None,
    blocker: Annotated[
        str, typer.Option("--blocker", help="For accounts with this blocker: none, minor, major.")
    ] = "none",
    fmt: Annotated[Format, typer.Option("--format", help="text or json.")] = Format.text,
) -> None:
    """Show the effective action policy: each action's status per segment."""
    with _errors():
        level = _level_option(automation_level)
        try:
            blocker_value = parse_blocker(blocker)
        except ValueError as exc:
            raise CliError(f"--blocker: {exc}") from None
        if level is None:
            engine = _engine(ctx)
            with engine.connect() as conn:
                level = org_level(load_org(conn).automation_level)
    effective = Policy(level, blocker_value)
    if fmt is Format.json:
        _dump_json(effective.to_json())
        return
    from bot.console_actions import print_policy

    print_policy(out, effective)


@app.command(cls=_HelpCommand, epilog='Example: followup-bot actions "Acme Corp" --format json')
def actions(
    ctx: typer.Context,
    account: Annotated[str, typer.Argument(help="Account id or name.")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="As of this time (ISO 8601). Default: now.")
    ] = None,
    automation_level: LevelOption = None,
    fmt: Annotated[Format, typer.Option("--format", help="text or json.")] = Format.text,
) -> None:
    """Assess one account and show the actions the bot recommends for it.

    Each action shows its status (auto, needs approval, recommended), owner, priority and the
    signals behind it. Nothing is changed.
    """
    from bot.engine.actions import plan_actions

    with _errors():
        level = _level_option(automation_level)
        engine = _engine(ctx)
        now = _as_of(engine, as_of)
        account_id, _name = resolve_account(engine, account)
        plan = plan_actions(engine, account_id, now, level)
    if fmt is Format.json:
        _dump_json(plan.to_json())
        return
    from bot.console_actions import print_action_plan

    print_action_plan(out, plan)
