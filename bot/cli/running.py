"""``followup-bot serve``, ``deliver``, ``tick`` and ``scheduler``: the bot at work in Slack."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy import Engine

from bot.cli.common import (
    CliError,
    State,
    _as_of,
    _engine,
    _errors,
    _HelpCommand,
    _require_user,
    app,
    fail,
    out,
)
from bot.settings import Settings

if TYPE_CHECKING:
    from slack_bolt import App


# ----------------------------------------------------------------- Slack: serve, deliver


@app.command(cls=_HelpCommand, epilog="Example: followup-bot serve --http --port 3000")
def serve(
    ctx: typer.Context,
    http: Annotated[
        bool,
        typer.Option(
            "--http", help="Serve HTTP on /slack/events, even when SLACK_APP_TOKEN is set."
        ),
    ] = False,
    port: Annotated[
        int, typer.Option("--port", metavar="N", help="The HTTP port; 0 picks a free one.")
    ] = 3000,
    host: Annotated[
        str, typer.Option("--host", metavar="ADDRESS", help="The HTTP address to listen on.")
    ] = "0.0.0.0",
    no_scheduler: Annotated[
        bool, typer.Option("--no-scheduler", help="Do not run the scheduler in this process.")
    ] = False,
    work_processes: Annotated[
        int | None,
        typer.Option(
            "--work-processes",
            min=1,
            metavar="N",
            help="How many work processes do what follows each answer. "
            "Default: one per CPU, at most 4.",
        ),
    ] = None,
) -> None:
    """Run the Slack app until Ctrl-C or SIGTERM.

    It uses Socket Mode when SLACK_APP_TOKEN is set and --http is not given. Otherwise it serves
    HTTP on /slack/events behind a production WSGI server (waitress), with GET /healthz for a
    load balancer. This process answers Slack; the work processes started with it do the work
    that follows each answer.
    """
    from slack_sdk.errors import SlackClientError

    from bot.app import build_app
    from bot.logs import setup_logging_from
    from bot.slack.client import bot_token, signing_secret
    from bot.work_process import WorkPool, WorkSpec, default_work_processes

    state: State = ctx.obj
    with _errors():
        settings = state.settings()
        bot_token(settings)
        socket_mode = settings.slack_app_token is not None and not http
        if not socket_mode:
            signing_secret(settings)
        setup_logging_from(settings)
        engine = _engine(ctx)
        url = engine.url.render_as_string(hide_password=False)
        work = WorkPool(WorkSpec(settings, url), work_processes or default_work_processes())
        try:
            bolt = build_app(settings, engine, socket_mode=socket_mode, forward=work.forward)
        except (SlackClientError, OSError) as exc:
            raise CliError(f"cannot reach Slack at {settings.slack_api_url}: {exc}") from None
    work.start()
    try:
        _serve(
            bolt,
            settings,
            socket_mode=socket_mode,
            host=host,
            port=port,
            scheduler=engine if not no_scheduler else None,
        )
    finally:
        work.stop()


def _serve(
    bolt: App,
    settings: Settings,
    *,
    socket_mode: bool,
    host: str,
    port: int,
    scheduler: Engine | None,
) -> None:
    """Answer Slack until Ctrl-C or SIGTERM; with ``scheduler`` (its database), run
    ``followup-bot scheduler`` beside it meanwhile."""
    from bot.app import settle_heap

    signal.signal(signal.SIGTERM, _interrupt)  # stop as on Ctrl-C: the work process too
    settle_heap()
    child = None
    if scheduler is not None:
        # Its own process (`followup-bot scheduler`), stopped with this one: a round's sweep
        # never holds up the answers to Slack. The database URL goes by the environment.
        url = scheduler.url.render_as_string(hide_password=False)
        env = {**os.environ, "DATABASE_URL": url}
        child = subprocess.Popen([sys.executable, "-m", "bot", "scheduler"], env=env)
    try:
        _answer(bolt, settings, socket_mode=socket_mode, host=host, port=port)
    finally:
        if child is not None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


def _answer(bolt: App, settings: Settings, *, socket_mode: bool, host: str, port: int) -> None:
    from slack_sdk.errors import SlackClientError

    from bot.app import make_http_server, run_socket_mode

    if socket_mode:
        assert settings.slack_app_token is not None
        out.print("Connecting to Slack over Socket Mode (Ctrl-C to stop)…")
        try:
            run_socket_mode(bolt, settings.slack_app_token.get_secret_value())
        except SlackClientError as exc:
            from bot.slack.client import error_code

            fail(
                "SLACK_APP_TOKEN: Slack did not open a Socket Mode connection "
                f"({error_code(exc)}); check the app-level token and that Socket Mode is on"
            )
        except KeyboardInterrupt:
            out.print("Stopped.")
        return
    try:
        server = make_http_server(bolt, host=host, port=port)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc}")
    sys.stdout.write(
        f"Listening on http://{server.effective_host}:{server.effective_port}/slack/events "
        "(Ctrl-C to stop)\n"
    )
    sys.stdout.flush()
    try:
        server.run()
    except KeyboardInterrupt:
        out.print("Stopped.")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@app.command(cls=_HelpCommand, epilog="Example: followup-bot deliver --user u-ana")
def deliver(
    ctx: typer.Context,
    user: Annotated[
        str | None,
        typer.Option("--user", metavar="USER_ID", help="Send only this user's DM."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", metavar="TIME", help="Sweep as of this time (ISO 8601). Default: now."
        ),
    ] = None,
) -> None:
    """Sweep, then send today's daily DMs in Slack now.

    Every CSM with cards (or the one --user) gets their DM, whatever their send_at. A DM is sent
    once per user and local day: a second run the same day updates the message in place.
    """
    from slack_sdk.errors import SlackClientError

    from bot.ai.client import AiConfig
    from bot.logs import setup_logging_from
    from bot.service.daily_dm import deliver_digests
    from bot.slack.client import make_client
    from bot.slack.delivery import Status

    state: State = ctx.obj
    with _errors():
        settings = state.settings()
        client = make_client(settings)
        setup_logging_from(settings, default_level="WARNING")
        engine = _engine(ctx)
        now = _as_of(engine, as_of)
        if user is not None:
            _require_user(engine, user)
        try:
            report = deliver_digests(
                engine, client, as_of=now, user_id=user, ai=AiConfig.from_settings(settings)
            )
        except (SlackClientError, OSError) as exc:
            raise CliError(f"cannot reach Slack at {settings.slack_api_url}: {exc}") from None
    out.print(
        f"Daily DMs as of {now.isoformat()}: {report.summary()} "
        f"({report.cards} cards, {report.alerts_new} new alerts)",
        soft_wrap=True,
    )
    for outcome in report.outcomes:
        out.print(f"  {outcome.status.value:<8} {outcome.describe()}", markup=False, soft_wrap=True)
    if not report.outcomes:
        out.print("  nobody to send to: no active CSM owns an account in scope")
    if report.by_status(Status.FAILED):
        raise typer.Exit(1)


# ------------------------------------------------------------------------ scheduler


@app.command(cls=_HelpCommand, epilog="Example (crontab): * * * * * followup-bot tick")
def tick(
    ctx: typer.Context,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", metavar="TIME", help="Run the round as of this time (ISO 8601)."),
    ] = None,
) -> None:
    """Run one scheduler round now and exit: sweep, send what is due, run the due actions.

    The round sweeps (recording), sends the daily DMs due in each reader's time zone, runs the
    due actions (gated ones wait for approval) and sends every due message of the outbox. For
    cron-style deployments, run it every minute instead of `followup-bot scheduler`: each
    message is sent once however often it runs, or however many run at once.
    """
    from slack_sdk.errors import SlackClientError

    from bot.ai.client import AiConfig
    from bot.logs import setup_logging_from
    from bot.service.rounds import run_round
    from bot.service.webhook import webhook_from
    from bot.slack.client import make_client

    state: State = ctx.obj
    with _errors():
        settings = state.settings()
        client = make_client(settings)
        setup_logging_from(settings, default_level="WARNING")
        engine = _engine(ctx)
        now = _as_of(engine, as_of)
        try:
            report = run_round(
                engine,
                client,
                now,
                webhook=webhook_from(settings),
                ai=AiConfig.from_settings(settings),
            )
        except (SlackClientError, OSError) as exc:
            raise CliError(f"cannot reach Slack at {settings.slack_api_url}: {exc}") from None
    out.print(f"Round as of {now.isoformat()}:", soft_wrap=True)
    for line in report.lines():
        out.print(f"  {line}", markup=False, soft_wrap=True)
    if report.failed:
        raise typer.Exit(1)


@app.command(cls=_HelpCommand, epilog="Example: followup-bot scheduler")
def scheduler(ctx: typer.Context) -> None:
    """Run the scheduler alone (no Slack listener): a round every minute until stopped.

    For deployments that run `followup-bot serve --no-scheduler` replicas. On PostgreSQL any
    number may run; each message is still sent once. On SQLite run one.
    """
    from bot.ai.client import AiConfig
    from bot.engine.sweep_pool import SweepPool
    from bot.gc_pause import freeze_startup_heap
    from bot.logs import setup_logging_from
    from bot.scheduler import build_scheduler
    from bot.service.webhook import webhook_from
    from bot.slack.client import bot_token, make_client

    state: State = ctx.obj
    with _errors():
        settings = state.settings()
        bot_token(settings)
        client = make_client(settings)
        setup_logging_from(settings)
        engine = _engine(ctx)
        webhook = webhook_from(settings)
    signal.signal(signal.SIGTERM, _interrupt)
    out.print("Scheduler running: a round every minute (Ctrl-C to stop)…")
    # Its sweep worker is forked now, before the scheduler's threads start.
    with SweepPool(engine.url.render_as_string(hide_password=False)) as pool:
        try:
            ai = AiConfig.from_settings(settings)
            rounds = build_scheduler(
                engine, client, background=False, webhook=webhook, ai=ai, sweep_pool=pool
            )
            freeze_startup_heap()  # (its rounds' sweeps then pay no walk over the modules)
            rounds.start()
        except KeyboardInterrupt:
            out.print("Stopped.")
