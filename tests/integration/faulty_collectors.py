"""OTLP/HTTP endpoints on 127.0.0.1 that misbehave the ways a collector does in production.

    with faulty_collector("hangs") as url:          # refuses | unavailable | hangs | slow
        ... OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=url ...

- ``refuses``: nothing listens on the port (connection refused).
- ``unavailable``: answers every export with 503 (retryable: the exporter backs off and retries).
- ``hangs``: accepts the connection and never answers (a black hole).
- ``slow``: answers 200, but only after ``SLOW_SECONDS``.

Imports: the standard library only.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.integration.servers import free_port

KINDS = ("refuses", "unavailable", "hangs", "slow")
SLOW_SECONDS = 10.0


def _handler(status: int, delay: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            time.sleep(delay)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: part of the test harness."""

    return Handler


@contextlib.contextmanager
def _http(status: int, delay: float) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(status, delay))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def _black_hole() -> Iterator[str]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(listener.accept()[0])  # accepted, never read, never answered

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1/traces"
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        listener.close()


@contextlib.contextmanager
def faulty_collector(kind: str) -> Iterator[str]:
    """The traces URL of a collector that behaves as ``kind`` says (see the module docstring)."""
    if kind == "refuses":
        yield f"http://127.0.0.1:{free_port()}/v1/traces"
    elif kind == "unavailable":
        with _http(503, 0.0) as url:
            yield url
    elif kind == "hangs":
        with _black_hole() as url:
            yield url
    elif kind == "slow":
        with _http(200, SLOW_SECONDS) as url:
            yield url
    else:
        raise ValueError(kind)
