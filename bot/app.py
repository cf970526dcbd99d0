"""The Slack app: :func:`build_app` wires a Bolt ``App`` from settings, an engine and a clock.

No module-level App, client or session: every call builds its own, so tests (and several apps
in one process) never share state. HTTP mode: Bolt verifies every request's signature and
timestamp with the signing secret (a bad one is answered 401), listeners ``ack()`` first and
work after the answer (``process_before_response=False``) — or, with ``forward``, hand that work
to the work process of ``followup-bot serve`` (:mod:`bot.work_process`). :func:`wsgi_app` is
the WSGI application (``/slack/events`` and a ``/healthz`` probe), :func:`make_http_server`
serves it with waitress; :func:`run_socket_mode` runs the app over Socket Mode instead.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.gc_pause import freeze_startup_heap
from bot.handlers import Deps, register_all
from bot.handlers.errors import WORK_SLOTS
from bot.handlers.work import FORWARD
from bot.logs import log_interactions, quiet_bolt_client_notice
from bot.settings import Settings, SettingsError
from bot.slack.client import make_client, signing_secret

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

# Hands a request (its parsed body and headers) to the work process.
Forward = Callable[[dict[str, Any], dict[str, Sequence[str]]], None]

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
# Bolt runs each listener, its ack() and the work after it, on one thread pool, and the HTTP
# answer waits (3 s at most) for that ack(): a listener must start at once, however many others
# are still working. So the pool is large (its threads mostly wait), and the work after ack()
# is what is limited, to a few listeners at once (bot.handlers.errors.reporting).
LISTENER_THREADS = 64
SWITCH_INTERVAL = 0.001  # seconds; see settle_heap
LISTENER_WORK_SLOTS = 2  # measured: 4 slots doubled the p99 of the HTTP answers (GIL)


def utc_now() -> datetime:
    return datetime.now(UTC)


def build_app(
    settings: Settings,
    engine: Engine,
    *,
    client: WebClient | None = None,
    clock: Callable[[], datetime] | None = None,
    socket_mode: bool = False,
    token_verification: bool = True,
    listener_threads: int = LISTENER_THREADS,
    work_slots: int = LISTENER_WORK_SLOTS,
    forward: Forward | None = None,
    process_before_response: bool | None = None,
) -> App:
    """A Bolt app with every listener of :mod:`bot.handlers` registered.

    ``client`` defaults to one on ``SLACK_API_URL`` with the bot token; ``clock`` (default
    ``datetime.now(UTC)``) is "now" for every listener. HTTP mode needs ``SLACK_SIGNING_SECRET``
    (Socket Mode requests are not signed). ``token_verification`` calls ``auth.test`` once, so
    a wrong token fails here rather than at the first request. ``listener_threads``: the
    listener pool; ``work_slots``: listeners doing their work after ``ack()`` at once (keep it
    within the engine's connection pool).

    ``forward``: the app only answers Slack; each listener's work after ``ack()`` is forwarded
    as ``forward(body, headers)`` to a work process (:mod:`bot.work_process`) instead of run
    here (see :mod:`bot.handlers.work`). Listeners then run to their end before the answer
    (``process_before_response``): what is left after ``ack()`` is a queue put.
    ``process_before_response`` (default: whether there is a ``forward``) can be set anyway: the
    work process runs each request to its end, to know which ones are done.
    """
    secret = "" if socket_mode else signing_secret(settings)
    web = client or make_client(settings, background=False)
    bolt_logger = logging.getLogger("bot.bolt")
    quiet_bolt_client_notice(bolt_logger)  # the client is made from SLACK_BOT_TOKEN itself
    try:
        app = App(
            name="followup-bot",
            client=web,
            signing_secret=secret,
            request_verification_enabled=not socket_mode,
            token_verification_enabled=token_verification,
            process_before_response=(
                forward is not None if process_before_response is None else process_before_response
            ),
            logger=bolt_logger,
            listener_executor=ThreadPoolExecutor(
                max_workers=listener_threads, thread_name_prefix="listener"
            ),
        )
    except BoltError as exc:
        raise SettingsError(f"SLACK_BOT_TOKEN: Slack refused the token ({exc})") from None
    log_interactions(app)
    slots = threading.BoundedSemaphore(work_slots)

    @app.middleware
    def share_work_slots(context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:
        context[WORK_SLOTS] = slots
        return next()

    if forward is not None:
        send = forward

        @app.middleware
        def forward_work(
            request: BoltRequest, context: BoltContext, next: Callable[[], BoltResponse]
        ) -> BoltResponse:
            context[FORWARD] = lambda: send(request.body, dict(request.headers))
            return next()

    register_all(app, Deps(settings=settings, engine=engine, clock=clock or utc_now))
    return app


class _WsgiApp:
    def __init__(self, app: App) -> None:
        self._slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH and environ.get("REQUEST_METHOD") == "GET":
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"ok\n"]
        result: Iterable[bytes] = self._slack(environ, start_response)
        return result


def wsgi_app(app: App) -> Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]:
    """The WSGI application: Slack's requests on ``/slack/events``, ``GET /healthz``."""
    return _WsgiApp(app)


def make_http_server(
    app: App, *, host: str = "0.0.0.0", port: int = 3000, **adjustments: Any
) -> Any:
    """A waitress server (not started: call ``.run()``) for :func:`wsgi_app`; port 0 picks a
    free port (read it from ``.effective_port``). ``adjustments`` go to waitress."""
    from waitress.server import create_server

    options: dict[str, Any] = {"threads": 8, "ident": "followup-bot", **adjustments}
    return create_server(wsgi_app(app), host=host, port=port, **options)


def settle_heap() -> None:
    """For a serving process, once the app is built and before it serves: everything
    allocated at start-up (the modules, SQLAlchemy's metadata, the app) is moved out of the
    garbage collector's reach (``gc.freeze``), so that its full collections stop walking it.
    Without this, those walks stalled every request for ~100 ms every few seconds under load
    (bench/bench_interactions.py).

    And a shorter GIL switch interval (1 ms, not 5): a request thread waiting to answer Slack gets
    the interpreter back sooner from the listeners still working after their ``ack()`` — the
    p99 of the HTTP answers fell by half in the same benchmark."""
    freeze_startup_heap()
    sys.setswitchinterval(SWITCH_INTERVAL)


def run_socket_mode(app: App, app_token: str) -> None:
    """Run the app over Socket Mode (a websocket Slack opens; no public URL needed)."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler: Any = SocketModeHandler(app, app_token)
    handler.start()
