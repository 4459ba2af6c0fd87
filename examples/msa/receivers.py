"""Local stand-ins for Slack, Jira Cloud and PagerDuty: the demo's notifications land here.

One HTTP server on 127.0.0.1 answers like the three services do for what the demo sends:

- ``/slack/<channel>``: Slack incoming webhooks (msatrace's error reports in ``errors``,
  Alertmanager's ``page`` and ``ticket`` channels); 200 ``ok``.
- ``/rest/api/3/...``: Jira Cloud REST v3: create an issue, search by label
  (``/search/jql``), read its status, comment; issue keys ``SHOP-1``, ``SHOP-2``...
- ``/pagerduty/v2/enqueue``: PagerDuty Events API v2; 202.
- ``/webhook``: Alertmanager's generic webhook; 200.
- ``GET /trace/<trace id>``: the link in error reports and alerts; answers with the spans
  of that trace as text (``trace_text``, set by the demo).

Every accepted message is kept (``messages``) and handed to ``on_message`` as it arrives, which
prints the demo's timeline. Standard library only.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Message:
    """One notification a stand-in accepted."""

    kind: str  # slack, jira-issue, jira-comment, pagerduty, webhook
    path: str
    body: Any
    key: str = ""  # the Jira issue it created or commented on
    text: str = field(default="", repr=False)  # the raw body, for the personal-data scan


class Receivers:
    """Slack, Jira and PagerDuty stand-ins on one free port."""

    def __init__(self, on_message: Callable[[Message], None] | None = None) -> None:
        self.messages: list[Message] = []
        self.issues: dict[str, dict[str, Any]] = {}  # key -> fields
        self.comments: dict[str, list[Any]] = {}
        self.on_message = on_message
        self.trace_text: Callable[[str], str] = lambda trace_id: f"trace {trace_id}\n"
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> Receivers:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def of(self, kind: str, path_start: str = "") -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m.kind == kind and m.path.startswith(path_start)]

    def _keep(self, message: Message) -> None:
        with self._lock:
            self.messages.append(message)
        if self.on_message is not None:
            self.on_message(message)

    def _jira(self, method: str, path: str, body: Any, raw: str) -> tuple[int, Any]:
        if method == "POST" and path == "/rest/api/3/issue":
            with self._lock:
                key = f"SHOP-{len(self.issues) + 1}"
                self.issues[key] = body["fields"]
            self._keep(Message("jira-issue", path, body, key, raw))
            return 201, {"id": str(10000 + len(self.issues)), "key": key}
        if method == "POST" and path == "/rest/api/3/search/jql":
            label = str(body.get("jql", "")).split('labels = "')[-1].split('"')[0]
            with self._lock:
                keys = [k for k, f in self.issues.items() if label in f.get("labels", [])]
            return 200, {"issues": [{"key": k} for k in keys[-1:]], "isLast": True}
        parts = path.split("?")[0].split("/")  # ['', 'rest', 'api', '3', 'issue', KEY, ...]
        if len(parts) >= 6 and parts[4] == "issue" and parts[5] in self.issues:
            key = parts[5]
            if method == "POST" and parts[-1] == "comment":
                with self._lock:
                    self.comments.setdefault(key, []).append(body["body"])
                self._keep(Message("jira-comment", path, body, key, raw))
                return 201, {"id": str(len(self.comments[key]))}
            if method == "GET":
                status = {"name": "To Do", "statusCategory": {"key": "new"}}
                return 200, {"key": key, "fields": {"status": status}}
        return 404, {"errorMessages": ["Issue does not exist"]}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receivers = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(
                self, code: int, answer: Any, content_type: str = "application/json"
            ) -> None:
                data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.startswith("/trace/"):
                    text = receivers.trace_text(self.path.split("/")[2].split("?")[0])
                    self._answer(200, text.encode(), "text/plain; charset=utf-8")
                elif self.path.startswith("/rest/api/3/"):
                    self._answer(*receivers._jira("GET", self.path, None, ""))
                else:
                    self._answer(404, {"message": "not found"})

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    body = None
                if not isinstance(body, dict):
                    self._answer(400, {"message": "expected a JSON object"})
                    return
                path = self.path
                if path.startswith("/slack/"):
                    receivers._keep(Message("slack", path, body, text=raw))
                    self._answer(200, b"ok", "text/plain")
                elif path.startswith("/rest/api/3/"):
                    try:
                        self._answer(*receivers._jira("POST", path, body, raw))
                    except (KeyError, TypeError, AttributeError):
                        self._answer(400, {"errorMessages": ["malformed request"], "errors": {}})
                elif path.startswith("/pagerduty/"):
                    receivers._keep(Message("pagerduty", path, body, text=raw))
                    self._answer(202, {"status": "success", "dedup_key": body.get("dedup_key")})
                else:
                    receivers._keep(Message("webhook", path, body, text=raw))
                    self._answer(200, {"ok": True})

            def log_message(self, *args: object) -> None:
                pass

        return Handler
