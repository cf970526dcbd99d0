"""Test doubles for Slack, over real HTTP.

* :class:`FakeSlack`: a fake Slack Web API (a ``ThreadingHTTPServer`` on 127.0.0.1, port 0, in a
  thread). It records every call (method, parameters from the query, form or JSON body) and
  answers like Slack: ``auth.test``, ``chat.postMessage`` (a ``D…`` channel and a ``ts``),
  ``chat.update`` / ``chat.delete`` (``message_not_found`` for a message it does not hold),
  ``conversations.open``, ``conversations.history`` (thread replies left out, as Slack does)
  and ``conversations.replies`` (a thread, paged; both with metadata on
  ``include_all_metadata``), ``users.info`` (with ``tz``), ``users.lookupByEmail``, ``views.*``,
  ``chat.postEphemeral`` and a ``response_url`` sink. It can be told to fail the next N calls
  of a method: ``ratelimited`` (HTTP 429 + ``Retry-After``), any Slack error (``invalid_blocks``,
  ``message_not_found`` …), an HTTP 5xx, or ``drop`` (do the work, then close the connection
  without an answer — a lost response).
* :class:`SlackRequests`: requests *from* Slack to the app, signed with
  ``slack_sdk.signature.SignatureVerifier``: event callbacks, slash commands, ``payload=``
  block_actions and view_submission bodies.
* :func:`serve_app`: the Bolt app served for real (the production WSGI stack: waitress) on
  127.0.0.1, port 0, in a thread.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from slack_bolt import App
from slack_sdk.signature import SignatureVerifier

from bot.app import make_http_server

TOKEN = "xoxb-test-0000-secret"
SIGNING_SECRET = "test-signing-secret"
TEAM_ID = "T0TEST"
BOT_USER_ID = "U0BOT"
_JSON_PARAMS = ("blocks", "view", "attachments", "metadata")


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    http_method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))


@dataclass
class _Failure:
    error: str
    status: int
    retry_after: int | None
    carried_out: bool = False  # done first, then answered with the failure


class FakeSlack:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        # Socket Mode: the app-level token apps.connections.open accepts, and the URL it gives
        self.app_token: str | None = None
        self.socket_url: str | None = None
        self.calls: list[Call] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, ts) → message
        self.views: dict[str, dict[str, Any]] = {}  # view id → view
        self.home: dict[str, dict[str, Any]] = {}  # user → published home view
        self._failures: dict[str, list[_Failure]] = defaultdict(list)
        self._delays: dict[str, float] = {}
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A short poll interval: stop() returns at once instead of after half a second.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSlack:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """What ``SLACK_API_URL`` / ``WebClient(base_url=…)`` points at."""
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"http://127.0.0.1:{self.port}/response/{name}"

    # ---------------------------------------------------------------- set-up

    def add_user(
        self,
        slack_id: str,
        *,
        email: str | None = None,
        tz: str | None = "America/New_York",
        name: str | None = None,
        deleted: bool = False,
    ) -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": slack_id,
            "team_id": TEAM_ID,
            "name": name or slack_id.lower(),
            "deleted": deleted,
            "is_bot": False,
            "profile": {"real_name": name or slack_id, "email": email},
        }
        if tz is not None:
            user["tz"] = tz
            user["tz_label"] = tz
        self.users[slack_id] = user
        return user

    def fail(
        self,
        method: str,
        error: str = "ratelimited",
        *,
        times: int = 1,
        status: int | None = None,
        retry_after: int = 1,
        carried_out: bool = False,
    ) -> None:
        """The next ``times`` calls of ``method`` fail: ``ratelimited`` → 429 + Retry-After;
        ``status`` ≥ 500 → that HTTP status (``carried_out``: after doing the call anyway);
        ``drop`` → the call is carried out but the connection closes without an answer;
        anything else → HTTP 200 ``ok: false``."""
        code = status or (429 if error == "ratelimited" else 200)
        with self._lock:
            for _ in range(times):
                self._failures[method].append(
                    _Failure(error, code, retry_after if code == 429 else None, carried_out)
                )

    def delay(self, method: str, seconds: float) -> None:
        """Answer ``method`` only after ``seconds`` (a slow Slack)."""
        self._delays[method] = seconds

    def forget_message(self, channel: str, ts: str) -> None:
        """The message is gone (deleted by the user): updates answer ``message_not_found``."""
        with self._lock:
            self.messages.pop((channel, ts), None)

    # ---------------------------------------------------------------- queries

    def calls_to(self, method: str, *, ok: bool | None = None) -> list[Call]:
        with self._lock:
            calls = [c for c in self.calls if c.method == method]
        return calls if ok is None else [c for c in calls if c.ok is ok]

    def wait_for(
        self, method: str, count: int = 1, *, timeout: float = 10.0, ok: bool | None = None
    ) -> list[Call]:
        deadline = time.monotonic() + timeout
        while True:
            calls = self.calls_to(method, ok=ok)
            if len(calls) >= count:
                return calls
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"expected {count} call(s) to {method}, got {len(calls)}: "
                    f"{[c.method for c in self.calls]}"
                )
            time.sleep(0.02)

    def dms(self, slack_user_id: str) -> list[dict[str, Any]]:
        """The messages currently in the bot's DM with a user, oldest first."""
        channel = self.dm_channel(slack_user_id)
        with self._lock:
            found = [m for (ch, _), m in self.messages.items() if ch == channel]
        return sorted(found, key=lambda m: float(m["ts"]))

    @staticmethod
    def dm_channel(slack_user_id: str) -> str:
        return "D" + slack_user_id[1:]

    # ---------------------------------------------------------------- serving

    def _handle(self, req: BaseHTTPRequestHandler, http_method: str) -> None:
        parsed = urllib.parse.urlsplit(req.path)
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length) if length else b""
        params: dict[str, Any] = {
            k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()
        }
        ctype = req.headers.get("Content-Type", "")
        if raw and "json" in ctype:
            params.update(json.loads(raw))
        elif raw:
            form = urllib.parse.parse_qs(raw.decode(), keep_blank_values=True)
            params.update({k: v[-1] for k, v in form.items()})
        for key in _JSON_PARAMS:
            if isinstance(params.get(key), str):
                with suppress(ValueError):
                    params[key] = json.loads(params[key])
        headers = {k.lower(): v for k, v in req.headers.items()}

        if parsed.path.startswith("/response/"):
            call = Call("response_url", params, http_method=http_method, headers=headers)
            call.response = {"ok": True}
            self._record(call)
            self._send(req, 200, {"ok": True})
            return
        if not parsed.path.startswith("/api/"):
            self._send(req, 404, {"ok": False, "error": "not_found"})
            return
        method = parsed.path[len("/api/") :]
        call = Call(method, params, http_method=http_method, headers=headers)
        delay = self._delays.get(method)
        if delay:
            time.sleep(delay)

        with self._lock:
            failure = self._failures[method].pop(0) if self._failures[method] else None
        if failure is not None and failure.error != "drop" and not failure.carried_out:
            body = {"ok": False, "error": failure.error}
            extra = {}
            if failure.status == 429:
                extra["Retry-After"] = str(failure.retry_after)
            elif failure.status >= 500:
                body["error"] = "internal_error"
            call.status, call.response = failure.status, body
            self._record(call)
            self._send(req, failure.status, body, extra)
            return

        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth else str(params.get("token", ""))
        if method == "apps.connections.open":  # Socket Mode: app-level tokens only
            if not token.startswith("xapp-"):
                body = {"ok": False, "error": "not_allowed_token_type"}
            elif token == self.app_token and self.socket_url:
                body = {"ok": True, "url": self.socket_url}
            else:
                body = {"ok": False, "error": "invalid_auth"}
        elif not token:
            body = {"ok": False, "error": "not_authed"}
        elif token != self.token:
            body = {"ok": False, "error": "invalid_auth"}
        else:
            with self._lock:
                body = self._answer(method, params)
        call.response = body
        self._record(call)
        if failure is not None and failure.carried_out:  # done, then a server error
            call.status, call.response = failure.status, {"ok": False, "error": "internal_error"}
            self._send(req, failure.status, call.response)
            return
        if failure is not None:  # "drop": done, but the answer is lost
            req.close_connection = True
            return
        self._send(req, 200, body)

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    @staticmethod
    def _send(
        req: BaseHTTPRequestHandler,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(body).encode()
        req.send_response(status)
        req.send_header("Content-Type", "application/json; charset=utf-8")
        req.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            req.send_header(k, v)
        req.end_headers()
        req.wfile.write(data)

    def _ts(self) -> str:
        n = next(self._seq)
        return f"{1763300000 + n}.{n:06d}"

    def _channel_for(self, channel: str) -> str | None:
        if channel[:1] in ("U", "W"):
            return self.dm_channel(channel)
        if channel[:1] in ("D", "C", "G"):
            return channel
        return None

    def _answer(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        ok: dict[str, Any] = {"ok": True}
        if method == "auth.test":
            return {
                **ok,
                "url": "https://fake.slack.test/",
                "team": "Test",
                "team_id": TEAM_ID,
                "user": "followup",
                "user_id": BOT_USER_ID,
                "bot_id": "B0BOT",
            }
        if method in ("chat.postMessage", "chat.update"):
            blocks = p.get("blocks")
            if not p.get("text") and not blocks:
                return {"ok": False, "error": "no_text"}
            if blocks is not None and (
                not isinstance(blocks, list)
                or len(blocks) > 50
                or not all(isinstance(b, dict) and b.get("type") for b in blocks)
            ):
                return {"ok": False, "error": "invalid_blocks"}
            channel = self._channel_for(str(p.get("channel", "")))
            if channel is None:
                return {"ok": False, "error": "channel_not_found"}
            if method == "chat.postMessage":
                ts = self._ts()
            else:
                ts = str(p.get("ts", ""))
                if (channel, ts) not in self.messages:
                    return {"ok": False, "error": "message_not_found"}
            message = {"ts": ts, "text": p.get("text"), "blocks": blocks, "channel": channel}
            metadata = p.get("metadata") or self.messages.get((channel, ts), {}).get("metadata")
            if metadata:
                message["metadata"] = metadata
            thread_ts = p.get("thread_ts") or self.messages.get((channel, ts), {}).get("thread_ts")
            if thread_ts:
                message["thread_ts"] = str(thread_ts)
            self.messages[(channel, ts)] = message
            return {**ok, "channel": channel, "ts": ts, "message": message}
        if method == "chat.delete":
            key = (str(p.get("channel", "")), str(p.get("ts", "")))
            if key not in self.messages:
                return {"ok": False, "error": "message_not_found"}
            del self.messages[key]
            return {**ok, "channel": key[0], "ts": key[1]}
        if method == "chat.postEphemeral":
            return {**ok, "message_ts": self._ts()}
        if method == "conversations.open":
            users = str(p.get("users", "")).split(",")
            if not users or not users[0]:
                return {"ok": False, "error": "users_list_not_supplied"}
            return {**ok, "channel": {"id": self.dm_channel(users[0])}}
        if method == "conversations.history":
            channel = str(p.get("channel", ""))
            if channel[:1] not in ("D", "C", "G"):
                return {"ok": False, "error": "channel_not_found"}
            with_meta = str(p.get("include_all_metadata", "")).lower() in ("1", "true")
            newest = sorted(
                (
                    m
                    for (ch, ts), m in self.messages.items()
                    if ch == channel and m.get("thread_ts", ts) == ts  # replies are not shown
                ),
                key=lambda m: float(m["ts"]),
                reverse=True,
            )[: int(p.get("limit") or 100)]
            return {
                **ok,
                "messages": [
                    {k: v for k, v in m.items() if k != "metadata" or with_meta} for m in newest
                ],
                "has_more": False,
            }
        if method == "conversations.replies":  # the parent, then its replies, oldest first
            channel, parent = str(p.get("channel", "")), str(p.get("ts", ""))
            if channel[:1] not in ("D", "C", "G"):
                return {"ok": False, "error": "channel_not_found"}
            if (channel, parent) not in self.messages:
                return {"ok": False, "error": "thread_not_found"}
            with_meta = str(p.get("include_all_metadata", "")).lower() in ("1", "true")
            thread = sorted(
                (
                    m
                    for (ch, ts), m in self.messages.items()
                    if ch == channel and (ts == parent or m.get("thread_ts") == parent)
                ),
                key=lambda m: float(m["ts"]),
            )
            start, limit = int(p.get("cursor") or 0), int(p.get("limit") or 1000)
            page = thread[start : start + limit]
            more = start + limit < len(thread)
            return {
                **ok,
                "messages": [
                    {k: v for k, v in m.items() if k != "metadata" or with_meta} for m in page
                ],
                "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""},
            }
        if method == "users.info":
            user = self.users.get(str(p.get("user", "")))
            return {**ok, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "users.lookupByEmail":
            email = str(p.get("email", "")).lower()
            for user in self.users.values():
                if (user["profile"].get("email") or "").lower() == email:
                    return {**ok, "user": user}
            return {"ok": False, "error": "users_not_found"}
        if method in ("views.publish", "views.open", "views.update", "views.push"):
            view = p.get("view")
            if not isinstance(view, dict) or len(view.get("blocks", [])) > 100:
                return {"ok": False, "error": "invalid_arguments"}
            view_id = str(p.get("view_id") or f"V{next(self._seq):06d}")
            if method == "views.update" and view_id not in self.views:
                return {"ok": False, "error": "not_found"}
            stored = {**view, "id": view_id, "hash": f"h{next(self._seq)}"}
            self.views[view_id] = stored
            if method == "views.publish":
                self.home[str(p.get("user_id"))] = stored
            return {**ok, "view": stored}
        return {"ok": False, "error": "unknown_method"}


# ------------------------------------------------------------------ from Slack


@dataclass
class Response:
    status: int
    body: str
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


class SlackRequests:
    """Signed requests from "Slack" to the app at ``url`` (…/slack/events)."""

    def __init__(self, url: str, signing_secret: str = SIGNING_SECRET) -> None:
        self.url = url
        self.signer = SignatureVerifier(signing_secret)

    def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        sig = signature or self.signer.generate_signature(timestamp=ts, body=body)
        request = urllib.request.Request(
            self.url,
            data=body.encode(),
            method="POST",
            headers={
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": str(sig),
                **(headers or {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return Response(answer.status, answer.read().decode(), dict(answer.headers))
        except urllib.error.HTTPError as exc:
            return Response(exc.code, exc.read().decode(), dict(exc.headers))

    def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str = "Ev0001",
        retry_num: int | None = None,
        **kwargs: Any,
    ) -> Response:
        body = {
            "token": "legacy",
            "team_id": TEAM_ID,
            "api_app_id": "A0TEST",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True, "enterprise_id": None}
            ],
            "event": event,
        }
        headers = dict(kwargs.pop("headers", None) or {})
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        return self.post(json.dumps(body), "application/json", headers=headers, **kwargs)

    def app_home_opened(self, slack_user_id: str, **kwargs: Any) -> Response:
        event = {
            "type": "app_home_opened",
            "user": slack_user_id,
            "channel": "D" + slack_user_id[1:],
            "tab": kwargs.pop("tab", "home"),
            "event_ts": f"{time.time():.6f}",
        }
        return self.event(event, **kwargs)

    def command(
        self,
        command: str,
        text: str = "",
        *,
        user_id: str = "U0ANA",
        channel_id: str = "D0ANA",
        response_url: str = "http://127.0.0.1:9/response",
        trigger_id: str = "trigger-1",
        **kwargs: Any,
    ) -> Response:
        form = {
            "token": "legacy",
            "team_id": TEAM_ID,
            "channel_id": channel_id,
            "user_id": user_id,
            "command": command,
            "text": text,
            "api_app_id": "A0TEST",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
        body = urllib.parse.urlencode(form)
        return self.post(body, "application/x-www-form-urlencoded", **kwargs)

    def interactive(self, payload: dict[str, Any], **kwargs: Any) -> Response:
        """A ``payload=`` form: block_actions, view_submission, shortcuts."""
        payload = {"team": {"id": TEAM_ID}, "api_app_id": "A0TEST", **payload}
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return self.post(body, "application/x-www-form-urlencoded", **kwargs)

    def block_action(
        self,
        action_id: str,
        *,
        value: str | None = None,
        block_id: str = "b",
        user_id: str = "U0ANA",
        response_url: str = "http://127.0.0.1:9/response",
        extra: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Response:
        action: dict[str, Any] = {"action_id": action_id, "block_id": block_id, "type": "button"}
        if value is not None:
            action["value"] = value
        payload = {
            "type": "block_actions",
            "user": {"id": user_id, "team_id": TEAM_ID},
            "trigger_id": "trigger-1",
            "response_url": response_url,
            "actions": [action],
            **(extra or {}),
        }
        return self.interactive(payload, **kwargs)

    def view_submission(
        self,
        callback_id: str,
        values: dict[str, Any],
        *,
        private_metadata: str = "",
        user_id: str = "U0ANA",
        **kwargs: Any,
    ) -> Response:
        payload = {
            "type": "view_submission",
            "user": {"id": user_id, "team_id": TEAM_ID},
            "trigger_id": "trigger-1",
            "view": {
                "id": "V0MODAL",
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": private_metadata,
                "state": {"values": values},
                "hash": "h1",
            },
        }
        return self.interactive(payload, **kwargs)


def http_get(url: str) -> Response:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return Response(answer.status, answer.read().decode(), dict(answer.headers))
    except urllib.error.HTTPError as exc:
        return Response(exc.code, exc.read().decode(), dict(exc.headers))


@contextmanager
def serve_app(app: App) -> Iterator[str]:
    """Serve ``app`` with the production WSGI server (waitress) on 127.0.0.1, port 0; yields the
    base URL (``http://127.0.0.1:PORT``)."""
    server = make_http_server(app, host="127.0.0.1", port=0)
    stop = threading.Event()

    def run() -> None:
        # server.run() loops until its sockets close; closing them from another thread races
        # with select(). Loop in short steps instead and close from this thread.
        while not stop.is_set():
            server.asyncore.loop(timeout=0.05, map=server._map, count=1)
        server.close()
        server.task_dispatcher.shutdown()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        stop.set()
        thread.join(timeout=5)
