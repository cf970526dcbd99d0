"""Slack's side of Socket Mode on 127.0.0.1: the app asks ``apps.connections.open`` (the fake Web
API) for a URL, connects here over a websocket, gets ``hello``, then receives envelopes — slash
commands, events, interactions — and must acknowledge each by its ``envelope_id``."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

from websockets.sync.server import Server, ServerConnection, serve


class FakeSocketMode:
    def __init__(self) -> None:
        self.acks: dict[str, dict[str, Any]] = {}
        self.connected = threading.Event()
        self._conn: ServerConnection | None = None
        self._lock = threading.Lock()
        self._server: Server | None = None

    def __enter__(self) -> FakeSocketMode:
        self._server = serve(self._session, "127.0.0.1", 0)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.socket.getsockname()[1]
        return f"ws://127.0.0.1:{port}/link/?ticket=t-1&app_id=A0TEST"

    def _session(self, conn: ServerConnection) -> None:
        hello = {
            "type": "hello",
            "num_connections": 1,
            "connection_info": {"app_id": "A0TEST"},
            "debug_info": {"host": "fake", "approximate_connection_time": 3600},
        }
        conn.send(json.dumps(hello))
        self._conn = conn
        self.connected.set()
        for raw in conn:
            message = json.loads(raw)
            with self._lock:
                self.acks[str(message.get("envelope_id"))] = message

    def send(self, kind: str, payload: dict[str, Any], *, response_payload: bool = False) -> str:
        """An envelope of ``kind`` (``slash_commands``, ``events_api``, ``interactive``)."""
        assert self.connected.wait(30), "the app never connected"
        assert self._conn is not None
        envelope_id = uuid.uuid4().hex
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": response_payload,
            "retry_attempt": 0,
            "retry_reason": "",
        }
        self._conn.send(json.dumps(envelope))
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if envelope_id in self.acks:
                    return self.acks[envelope_id]
            time.sleep(0.01)
        raise AssertionError(f"envelope {envelope_id} was never acknowledged")
