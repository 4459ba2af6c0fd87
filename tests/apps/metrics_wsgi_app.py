"""A bare WSGI app that records its requests with msatrace's metrics recorder.

It stands in for the adapters' wiring (the request-outcome step): ``build(resolve({}))`` once at
import (in gunicorn's master with ``--preload``), one ``record_server`` per request and the
scrape answered on ``metrics_path``. ``/items/<id>`` has the route ``/items/{id}``, ``/fail``
answers 500, anything else 404 without a route.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from msatrace._core.config.settings import resolve
from msatrace._core.metrics import build

metrics = build(resolve({}))
assert metrics is not None


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "")
    if path == "/health":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    if path == metrics.path:
        status, headers, body = metrics.respond(environ.get("HTTP_ACCEPT"))
        start_response(f"{status} OK", headers)
        return [body]
    t0 = time.perf_counter()
    if path.startswith("/items/"):
        code, route = 200, "/items/{id}"
    elif path == "/fail":
        code, route = 500, "/fail"
    else:
        code, route = 404, None
    metrics.recorder.record_server(
        method=environ["REQUEST_METHOD"],
        route=route,
        status=code,
        scheme="http",
        error_type=None,
        duration_s=time.perf_counter() - t0,
        trace_id=int(environ.get("HTTP_X_TEST_TRACE", "0"), 16) or None,
        span_id=1,
        sampled=True,
    )
    start_response(f"{code} X", [("Content-Type", "text/plain")])
    return [b"done"]
