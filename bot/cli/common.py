"""What the ``followup-bot`` commands share: the Typer ``app`` and its global option, the
help's formatting, the consoles, and the helpers for errors, the database, times, accounts,
users and JSON output."""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Annotated, Any, NoReturn

import typer
from sqlalchemy import Engine

from bot.console import make_console
from bot.db.session import DatabaseError, ensure_schema, make_engine
from bot.engine.business_time import zone
from bot.engine.facts import load_org, load_users
from bot.engine.lookup import find_account
from bot.settings import DEFAULT_DATABASE_URL, Settings, SettingsError, load_settings


class _HelpCommand(typer.core.TyperCommand):
    """A command whose ``--help`` shows no type placeholder (``<bool>``) after a flag: a flag
    takes no value (Typer shows every parameter's type, flags included); and whose description
    is reflowed to the terminal's width (a docstring's line breaks are not kept)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.help:
            self.help = _reflow(self.help)

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)
        return _no_flag_placeholders(params)


class _HelpGroup(typer.core.TyperGroup):
    """The command groups' counterpart of :class:`_HelpCommand`."""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)
        return _no_flag_placeholders(params)


def _reflow(text: str) -> str:
    """Each paragraph of ``text`` on one line (the help's renderer wraps it)."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


def _no_flag_placeholders(params: list[Any]) -> list[Any]:
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""  # shown in place of the type: nothing
    return params


app = typer.Typer(
    name="followup-bot",
    cls=_HelpGroup,
    help="Daily follow-up lanes for customer-success managers: import your portfolio, sweep it, "
    "and deliver each CSM's cards in Slack.\n\n"
    "Start with `followup-bot demo`; the user guide is in the repository's docs/ folder.",
    epilog="Example: followup-bot --database-url sqlite:///followup.db import portfolio.json",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(
    help="Database maintenance.",
    epilog="Example: followup-bot db upgrade",
    no_args_is_help=True,
    cls=_HelpGroup,
)
app.add_typer(db_app, name="db")

out = make_console()
err = make_console(stderr=True)


class Format(StrEnum):
    text = "text"
    json = "json"


class DigestFormat(StrEnum):
    text = "text"
    json = "json"
    blocks = "blocks"


class CliError(Exception):
    """A user-facing failure: printed as one clear message, exit status 1."""


@dataclass
class State:
    database_url: str | None = None

    def settings(self) -> Settings:
        return load_settings(database_url=self.database_url)


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    raise typer.Exit(code)


@app.callback()
def _global(
    ctx: typer.Context,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            metavar="URL",
            help="SQLAlchemy URL of the database; wins over DATABASE_URL. "
            f"Default: {DEFAULT_DATABASE_URL}.",
            show_default=False,
        ),
    ] = None,
) -> None:
    ctx.obj = State(database_url=database_url)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except (CliError, SettingsError, DatabaseError) as exc:
        fail(str(exc))


def _engine(ctx: typer.Context, url: str | None = None) -> Engine:
    state: State = ctx.obj
    settings = state.settings()
    engine = make_engine(url or settings.database_url)
    ensure_schema(engine)
    return engine


def parse_instant(text: str, tz_name: str, what: str = "--as-of") -> datetime:
    """ISO 8601 with an offset (absolute), without one (org time zone) or a plain date."""
    try:
        if len(text) == 10:
            return datetime.combine(
                date.fromisoformat(text), time(0), tzinfo=zone(tz_name)
            ).astimezone(UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(
            f"{what}: '{text}' is not an ISO 8601 time (e.g. 2026-11-16T09:00:00Z or 2026-11-16)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(tz_name))
    return moment.astimezone(UTC)


def _as_of(engine: Engine, as_of: str | None) -> datetime:
    if as_of is None:
        return datetime.now(UTC).replace(microsecond=0)
    with engine.connect() as conn:
        tz = load_org(conn).timezone
    return parse_instant(as_of, tz)


def _dump_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _require_user(engine: Engine, user_id: str) -> None:
    with engine.connect() as conn:
        users = load_users(conn, "UTC")
    if user_id not in users:
        known = ", ".join(sorted(users)[:10]) or "none imported yet"
        raise CliError(f"--user: unknown user '{user_id}' (known: {known})")


def resolve_account(engine: Engine, query: str) -> tuple[str, str]:
    with engine.connect() as conn:
        found = find_account(conn, query)
    if found.match is not None:
        return found.match.id, found.match.name
    if found.candidates:
        listed = "; ".join(f"{c.name} ({c.id})" for c in found.candidates)
        raise CliError(f"account '{query}' matches several accounts: {listed} — give its id")
    hint = ""
    if found.suggestions:
        hint = " — did you mean: " + "; ".join(f"{s.name} ({s.id})" for s in found.suggestions)
    raise CliError(f"unknown account '{query}': no account has that id or name{hint}")
