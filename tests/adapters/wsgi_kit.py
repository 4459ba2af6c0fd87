"""Drive WSGI applications in process, the way a server does: call, iterate, close.

Used by the WSGI and Flask adapter tests. Spans and log events are captured with
``msatrace.testing``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from werkzeug.test import EnvironBuilder

import msatrace
from msatrace import testing

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
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


def is_trace_id(value: str | None) -> bool:
    """32 lowercase hex digits, not all zero."""
    return value is not None and len(value) == 32 and set(value) <= HEX32 and value != "0" * 32


@dataclass
class Result:
    """One request's status, headers and body, the log events written and the spans ended."""

    status: str
    headers: list[tuple[str, str]]
    body: bytes
    logs: list[dict[str, Any]]
    spans: list[ReadableSpan]

    def header(self, name: str) -> str | None:
        """The response header ``name`` (case-insensitive), or ``None``."""
        found = [v for k, v in self.headers if k.lower() == name.lower()]
        assert len(found) <= 1, found
        return found[0] if found else None

    def by_logger(self, name: str) -> list[dict[str, Any]]:
        """The log events of one logger."""
        return [e for e in self.logs if e["logger"] == name]

    def server_span(self) -> ReadableSpan:
        """The one SERVER span (fails if there are more or none)."""
        servers = [s for s in self.spans if s.kind.name == "SERVER"]
        assert len(servers) == 1, [s.name for s in self.spans]
        return servers[0]


def environ(path: str = "/", headers: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    """A WSGI environ as a server would build it."""
    env: dict[str, Any] = EnvironBuilder(path=path, headers=headers or {}).get_environ()
    env["REMOTE_ADDR"] = "127.0.0.1"
    env.update(extra)
    return env


def call(
    app: WSGIApp,
    path: str = "/",
    headers: dict[str, str] | None = None,
    env: dict[str, Any] | None = None,
) -> Result:
    """Call ``app`` like a WSGI server: start_response, iterate the body, close it."""
    seen: dict[str, Any] = {}

    def start_response(
        status: str, response_headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        seen["status"], seen["headers"] = status, response_headers
        return lambda data: None

    with testing.capture_spans() as exporter, testing.capture_logs() as events:
        body = app(env if env is not None else environ(path, headers), start_response)
        try:
            data = b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
    return Result(
        seen["status"], seen["headers"], data, events, list(exporter.get_finished_spans())
    )
