"""``followup-bot demo``: the bot on its bundled sample portfolio."""

from __future__ import annotations

import tempfile
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import CliError, State, _errors, _HelpCommand, app, out
from bot.db.session import DatabaseError, ensure_schema, make_engine


def sample_portfolio_path() -> Path:
    return Path(str(resources.files("bot.data") / "sample_portfolio.json"))


@app.command(cls=_HelpCommand, epilog="Example: followup-bot demo --out payloads/")
def demo(
    ctx: typer.Context,
    out_dir: Annotated[
        Path,
        typer.Option("--out", metavar="DIR", help="The folder to write the Slack payloads to."),
    ] = Path("demo-out"),
) -> None:
    """Show the bot on its bundled sample portfolio, in a database of its own.

    The demo loads the sample portfolio into a fresh database, sweeps it at the sample's
    reference time, prints each CSM's daily digest and writes every Slack payload the bot
    would send into DIR, one JSON file each. It never reads DATABASE_URL.
    """
    from bot.demo import run_demo

    state: State = ctx.obj
    with _errors():
        if state.database_url:
            try:
                engine = make_engine(state.database_url)
            except DatabaseError as exc:  # named as the other commands name it
                raise CliError(f"invalid setting --database-url: {exc}") from None
        else:
            url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='followup-demo-')) / 'demo.db'}"
            engine = make_engine(url)
        ensure_schema(engine)
        run_demo(engine, sample_portfolio_path(), out_dir, out)
