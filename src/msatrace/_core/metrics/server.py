"""The metrics endpoint on a port of its own, for a service that keeps it off its public port.

A standard-library ``ThreadingHTTPServer`` on a daemon thread, bound at ``init()`` and closed at
``shutdown()``; it answers ``GET`` on the metrics path and nothing else, so it never touches the
application's threads or event loop. In multi-process mode every worker binds the same port
with ``SO_REUSEPORT`` (the kernel spreads scrapes over them; each answers with the totals of
all workers); in a single process the port is exclusive, so a second service cannot share it.

Imports: the standard library.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Respond = Callable[[str | None], tuple[int, list[tuple[str, str]], bytes]]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True  # a restarted service rebinds at once (TIME_WAIT)
    reuse_port = False

    def server_bind(self) -> None:
        if self.reuse_port and hasattr(socket, "SO_REUSEPORT"):
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()


class MetricsServer:
    """Serves ``respond`` at ``path`` on ``address:port`` until :meth:`close`."""

    def __init__(
        self, address: str, port: int, path: str, respond: Respond, *, reuse_port: bool
    ) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] != path:
                    self.send_error(404)
                    return
                status, headers, body = respond(self.headers.get("Accept"))
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # scrapes are not the application's requests: no access line

        server_class = type("_BoundServer", (_Server,), {"reuse_port": reuse_port})
        self._server = server_class((address, port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="msatrace-metrics-http", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop answering and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5.0)
