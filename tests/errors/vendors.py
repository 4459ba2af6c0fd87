"""Local HTTP servers standing in for Slack and a webhook receiver, including their trouble.

The Slack stand-in accepts what Slack's incoming webhooks accept: a JSON object with ``text``
and at most 50 ``blocks``, each valid for slack_sdk's Block Kit models (which encode Slack's
field limits); anything else gets Slack's ``400 invalid_blocks``. Modes make it answer like Slack
under trouble: ``429`` with ``Retry-After``, ``500``, or hang until released.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.conftest import need

from msatrace.notifiers import verify_signature


class StandIn:
    def __init__(self) -> None:
        self.received: list[Any] = []
        self.attempts = 0
        self.script: list[str] = []  # answers to give first: "429", "500", "400", "hang"
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.url = ""

    def next_mode(self) -> str:
        with self.lock:
            self.attempts += 1
            return self.script.pop(0) if self.script else "ok"


def _slack_problem(payload: Any) -> str | None:
    blocks_mod = need("slack_sdk.models.blocks")
    if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
        return "no_text"
    blocks = payload.get("blocks", [])
    if not isinstance(blocks, list) or len(blocks) > 50:
        return "invalid_blocks"
    for raw in blocks:
        block = blocks_mod.Block.parse(raw)
        if block is None:
            return "invalid_blocks"
        try:
            block.validate_json()
        except Exception:
            return "invalid_blocks"
    return None


@contextmanager
def stand_in(kind: str, secret: str = "") -> Iterator[StandIn]:
    """``kind``: ``slack`` or ``webhook`` (verifies the signature with ``secret``)."""
    state = StandIn()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            mode = state.next_mode()
            if mode == "hang":
                state.release.wait(30)
            if mode == "429":
                return self._answer(429, b"rate_limited", {"Retry-After": "1"})
            if mode in ("500", "400"):
                return self._answer(int(mode), b"server_error" if mode == "500" else b"bad")
            payload = json.loads(body)
            if kind == "slack":
                problem = _slack_problem(payload)
                if problem:
                    return self._answer(400, problem.encode())
            else:
                ok = verify_signature(
                    secret,
                    self.headers.get("X-Msatrace-Timestamp", ""),
                    body,
                    self.headers.get("X-Msatrace-Signature", ""),
                )
                if not ok:
                    return self._answer(401, b"bad signature")
            state.received.append(payload)
            self._answer(200, b"ok")

        def _answer(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(code)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
