"""An HTTP server on 127.0.0.1, in a thread of the test process, that records what it receives.

It is a real server (``http.server``) reached over real sockets, so the clients under test run
unchanged. Paths:

- ``/echo``: 200, the request's headers as JSON; ``/status/N``: status N.
- ``/redirect?to=URL``: 302 to URL (relative or absolute).
- ``/sleep?s=SECONDS``: answers after sleeping (timeouts).
- ``/stream?n=N``: N chunks of a chunked body, flushed one by one.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import msatrace

# Every outbound test runs on each span path: lean tracer, SDK tracer, adopted provider.
from tests.span_paths import pytest_generate_tests, span_path

__all__ = ["EchoServer", "Received", "pytest_generate_tests", "span_path"]


@dataclass
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    headers: list[tuple[str, str]]

    def get(self, name: str) -> str | None:
        """The value of a header (case-insensitive), or None; fails if it arrived twice."""
        values = self.all(name)
        assert len(values) <= 1, f"{name} arrived {len(values)} times: {values}"
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        """Every value of a header, in arrival order."""
        return [v for k, v in self.headers if k.lower() == name.lower()]


@dataclass
class EchoServer:
    """The running server: its base URL and every request it received, in order."""

    url: str
    port: int
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def only(self) -> Received:
        """The one request received (fails if there were more or none)."""
        with self.lock:
            assert len(self.received) == 1, [r.path for r in self.received]
            return self.received[0]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # 200 concurrent clients must not overflow the listen backlog

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client that timed out and left is expected in these tests."""


def _handler(state: EchoServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            rec = Received(self.command, self.path, list(self.headers.items()))
            with state.lock:
                state.received.append(rec)

        def _send(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _dispatch(self) -> None:
            self._record()
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if parts.path == "/redirect":
                self._send(302, b"", {"Location": query["to"]})
            elif parts.path == "/sleep":
                time.sleep(float(query.get("s", "1")))
                self._send(200, b"{}")
            elif parts.path.startswith("/status/"):
                self._send(int(parts.path.rsplit("/", 1)[1]), b"{}")
            elif parts.path == "/stream":
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i in range(int(query.get("n", "3"))):
                    chunk = f"chunk{i}\n".encode()
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            else:
                self._send(200, json.dumps({"headers": self.headers.items()}).encode())

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PURGE = _dispatch

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: part of the test harness."""

    return Handler


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    """A fresh recording server on 127.0.0.1 for one test."""
    state = EchoServer(url="", port=0)
    server = _Server(("127.0.0.1", 0), _handler(state))
    state.port = server.server_address[1]
    state.url = f"http://127.0.0.1:{state.port}"
    # shutdown() waits for serve_forever's next poll: a short interval keeps each test short.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def traced(env: pytest.MonkeyPatch) -> None:
    """msatrace initialised with tracing on, no exporter, logs in JSON."""
    msatrace.init(service_name="caller", log_format="json", access_log=False)
