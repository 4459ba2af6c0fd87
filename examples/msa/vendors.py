"""Stand-ins for Slack and Jira in the demo: what the services' error reports would tell the team.

One local HTTP server takes Slack incoming-webhook messages (``/slack``) and the Jira Cloud calls
msatrace makes (search, create issue, comment), and keeps what it received, so that the demo can
show the Slack message and the Jira ticket its failing request produced. Nothing leaves the
machine.
"""

from __future__ import annotations

import http.server
import json
import threading
from typing import Any


class Vendors:
    """Start with :meth:`start`; ``notify`` is the ``MSATRACE_NOTIFY`` value pointing at it."""

    def __init__(self) -> None:
        self.slack: list[dict[str, Any]] = []
        self.issues: list[dict[str, Any]] = []
        self.comments: list[tuple[str, Any]] = []
        self.lock = threading.Lock()
        self.server: http.server.ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def notify(self) -> str:
        host = self.url.removeprefix("http://")
        return f"slack:{self.url}/slack,jira:http://demo%40example.com:token@{host}?project=SHOP"

    def start(self) -> Vendors:
        vendors = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                answer: Any = {}
                with vendors.lock:
                    if self.path == "/slack":
                        vendors.slack.append(body)
                    elif self.path == "/rest/api/3/search/jql":
                        answer = {"issues": [], "isLast": True}
                    elif self.path == "/rest/api/3/issue":
                        key = f"SHOP-{len(vendors.issues) + 1}"
                        vendors.issues.append({"key": key, **body["fields"]})
                        answer = {"key": key, "id": str(10000 + len(vendors.issues))}
                    elif self.path.endswith("/comment"):
                        vendors.comments.append((self.path.split("/")[5], body["body"]))
                data = json.dumps(answer).encode()
                self.send_response(201 if self.path == "/rest/api/3/issue" else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def carrying(self, trace_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The Slack messages and Jira issues that name ``trace_id``."""
        with self.lock:
            slack = [m for m in self.slack if trace_id in json.dumps(m)]
            issues = [i for i in self.issues if trace_id in json.dumps(i)]
        return slack, issues
