"""A fake Anthropic Messages API on 127.0.0.1 (a small http.server): ``POST /v1/messages``
answers from a script of replies — a tool_use answer, an HTTP error (429, 529, 500, 401), or a
delay longer than the client's timeout — and records every request it got."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = dict[str, Any]


def tool_answer(sections: dict[str, list[dict[str, Any]]], *, delay: float = 0.0) -> Reply:
    """A tool_use answer carrying ``{"sections": sections}``."""
    return {"status": 200, "tool_input": {"sections": sections}, "delay": delay}


def tool_input(data: dict[str, Any], *, delay: float = 0.0) -> Reply:
    """A tool_use answer carrying ``data`` as the tool's input (any tool)."""
    return {"status": 200, "tool_input": data, "delay": delay}


def error(status: int, *, retry_after: float | None = None) -> Reply:
    return {"status": status, "retry_after": retry_after}


def slow(seconds: float) -> Reply:
    return {"status": 200, "tool_input": {"sections": {}}, "delay": seconds}


@dataclass
class FakeAnthropic:
    replies: list[Reply] = field(default_factory=list)
    default: Callable[[dict[str, Any]], Reply] | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    def answer(self, body: dict[str, Any]) -> Reply:
        if self.replies:
            return self.replies.pop(0)
        if self.default is not None:
            return self.default(body)
        return tool_answer({})

    @property
    def calls(self) -> int:
        return len(self.requests)


def _message(reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
    tool = (body.get("tool_choice") or {}).get("name") or "tool"
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "fake"),
        "content": [
            {"type": "tool_use", "id": "toolu_fake", "name": tool, "input": reply["tool_input"]}
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 10},
    }


@contextmanager
def fake_anthropic(*replies: Reply) -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic(replies=list(replies))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            fake.requests.append(body)
            fake.headers.append({k.lower(): v for k, v in self.headers.items()})
            reply = fake.answer(body)
            if reply.get("delay"):
                time.sleep(reply["delay"])
            status = int(reply["status"])
            if status == 200:
                payload = _message(reply, body)
            else:
                kind = {
                    429: "rate_limit_error",
                    529: "overloaded_error",
                    401: "authentication_error",
                }
                payload = {
                    "type": "error",
                    "error": {"type": kind.get(status, "api_error"), "message": f"fake {status}"},
                }
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                if reply.get("retry_after") is not None:
                    self.send_header("retry-after", str(reply["retry_after"]))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
