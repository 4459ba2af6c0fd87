"""A bare ASGI app that records its requests with msatrace's metrics recorder (see
``metrics_wsgi_app``, whose routes it shares), for ``uvicorn --workers``."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from msatrace._core.config.settings import resolve
from msatrace._core.metrics import build

metrics = build(resolve({}))
assert metrics is not None


async def app(
    scope: dict[str, Any],
    receive: Callable[[], Awaitable[dict[str, Any]]],
    send: Callable[[dict[str, Any]], Awaitable[None]],
) -> None:
    if scope["type"] != "http":
        return
    path = scope["path"]
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    t0 = time.perf_counter()
    record = True
    if path == "/health":
        code, body, hdrs, record = 200, b"ok", [("content-type", "text/plain")], False
    elif path == metrics.path:
        code, hdrs, body = metrics.respond(headers.get("accept"))
        record = False
    elif path.startswith("/items/"):
        code, body, hdrs = 200, b"done", [("content-type", "text/plain")]
    elif path == "/fail":
        code, body, hdrs = 500, b"done", [("content-type", "text/plain")]
    else:
        code, body, hdrs = 404, b"done", [("content-type", "text/plain")]
    await send(
        {
            "type": "http.response.start",
            "status": code,
            "headers": [(k.lower().encode(), v.encode()) for k, v in hdrs],
        }
    )
    await send({"type": "http.response.body", "body": body})
    if record:
        route = {200: "/items/{id}", 500: "/fail"}.get(code)
        metrics.recorder.record_server(
            method=scope["method"],
            route=route,
            status=code,
            scheme=scope.get("scheme", "http"),
            error_type=None,
            duration_s=time.perf_counter() - t0,
        )
