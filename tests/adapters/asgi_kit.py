"""Drive ASGI applications in process: through httpx's ASGI transport, or with raw ASGI messages.

Used by the ASGI, Starlette and FastAPI adapter tests. Spans and log events are captured with
``msatrace.testing``; the ``httpx`` client's own log line is left out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from opentelemetry.sdk.trace import ReadableSpan

import msatrace
from msatrace import testing

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
App = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Any]
HEX32 = frozenset("0123456789abcdef")


def init(**settings: Any) -> None:
    """``msatrace.init`` as every adapter test wants it: JSON logs, no client patching."""
    base: dict[str, Any] = {
        "service_name": "svc",
        "environment": "production",
        "log_format": "json",
        "patch": "none",
    }
    base.update(settings)
    msatrace.init(**base)


@dataclass
class Result:
    """One request's response, the log events written meanwhile and the spans that ended."""

    response: httpx.Response
    logs: list[dict[str, Any]]
    spans: list[ReadableSpan]

    def by_logger(self, name: str) -> list[dict[str, Any]]:
        """The log events of one logger."""
        return [e for e in self.logs if e["logger"] == name]

    def server_span(self) -> ReadableSpan:
        """The one SERVER span (fails if there are more or none)."""
        servers = [s for s in self.spans if s.kind.name == "SERVER"]
        assert len(servers) == 1, [s.name for s in self.spans]
        return servers[0]


def call(
    app: Any,
    path: str = "/",
    method: str = "GET",
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
    spans: bool = True,
) -> Result:
    """One request through httpx's ASGI transport (the application's exceptions not re-raised)."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.request(method, path, headers=headers)

    with testing.capture_logs() as events:
        if spans:
            with testing.capture_spans() as exporter:
                response = asyncio.run(go())
            finished = list(exporter.get_finished_spans())
        else:
            response = asyncio.run(go())
            finished = []
    return Result(response, [e for e in events if e["logger"] != "httpx"], finished)


@dataclass
class Raw:
    """What a raw ASGI call sent back: every message, and the response-start headers."""

    messages: list[Message] = field(default_factory=list)

    @property
    def start(self) -> Message:
        """The ``http.response.start`` message."""
        return next(m for m in self.messages if m["type"] == "http.response.start")

    def header(self, name: bytes) -> list[bytes]:
        """Every value of one response header."""
        return [v for k, v in self.start["headers"] if k.lower() == name]


def http_scope(path: str = "/", headers: list[tuple[bytes, bytes]] | None = None) -> Scope:
    """A minimal HTTP scope as uvicorn builds it."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers or [],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


def raw_call(app: Any, scope: Scope) -> Raw:
    """Run one ASGI call with a request that has no body; collect what the app sends."""
    out = Raw()

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        out.messages.append(message)

    asyncio.run(app(scope, receive, send))
    return out


def is_trace_id(value: str | bytes) -> bool:
    """32 lowercase hex digits, not all zero."""
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    return len(text) == 32 and set(text) <= HEX32 and text != "0" * 32
