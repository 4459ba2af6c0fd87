"""Flask test app, served by gunicorn in the integration tests (``flask_app:app``).

Routes: ``/health`` (excluded from tracing), ``/items/<int:item_id>``, ``/work`` (logs, yields
with ``time.sleep``, logs again: the isolation test), ``/work_async`` (the same as an async
view, run by Flask through asgiref), ``/me`` (``msatrace.set_user``), ``/stream`` (logs
between chunks), ``/boom`` (unhandled exception), ``/bug`` (another one, from another function:
a second bug for error tracking) and ``/pid?pause=`` (which process served it: the ``--preload``
test).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, request
from opentelemetry import trace

import msatrace

msatrace.init()
log = msatrace.get_logger("app")
std_log = logging.getLogger("app.std")
app = Flask(__name__)


def ids(**extra: Any) -> dict[str, Any]:
    """What the handler saw: the current trace and request IDs, and this process."""
    return {
        "trace_id": msatrace.current_trace_id(),
        "span_id": msatrace.current_span_id(),
        "request_id": msatrace.current_request_id(),
        "pid": os.getpid(),
        **extra,
    }


@app.get("/health")
def health() -> dict[str, bool]:
    return {"ok": True}


@app.get("/items/<int:item_id>")
def item(item_id: int) -> dict[str, Any]:
    log.info("item", item_id=item_id)
    return ids(item_id=item_id)


@app.get("/debug_work")
def debug_work() -> Any:
    """DEBUG lines (structlog, stdlib, a thread) with ``m=marker``, then ``fail``: ``no`` (200),
    ``raise`` (an exception) or ``status`` (a 500 response): debug on error."""
    marker, fail = request.args["marker"], request.args.get("fail", "no")
    for step in range(int(request.args.get("steps", 3))):
        log.debug("debug step", step=step, m=marker)
        std_log.debug("stdlib debug", extra={"m": marker})
        time.sleep(0.001)
    thread = threading.Thread(target=lambda: log.debug("debug from a thread", m=marker))
    thread.start()
    thread.join()
    log.info("debug work done", m=marker)
    if fail == "raise":
        raise RuntimeError("debug work failed")
    return ids(marker=marker), 500 if fail == "status" else 200


@app.get("/work")
def work() -> dict[str, Any]:
    marker = request.args["marker"]
    steps = int(request.args.get("steps", 3))
    pause = float(request.args.get("pause", 0.005))
    msatrace.bind(marker=marker)
    for step in range(steps):
        log.info("step", step=step)
        time.sleep(pause)
    log.info("done")
    return ids(marker=marker)


@app.get("/work_async")
async def work_async() -> dict[str, Any]:
    marker = request.args["marker"]
    steps = int(request.args.get("steps", 3))
    pause = float(request.args.get("pause", 0.005))
    msatrace.bind(marker=marker)
    for step in range(steps):
        log.info("step", step=step)
        await asyncio.sleep(pause)
    log.info("done")
    return ids(marker=marker)


@app.get("/me")
def me() -> dict[str, Any]:
    msatrace.set_user("u-42")
    log.info("who")
    return ids()


@app.get("/stream")
def stream() -> Response:
    chunks = int(request.args.get("chunks", 3))
    pause = float(request.args.get("pause", 0.01))

    def body() -> Iterator[bytes]:  # a plain generator: it runs after the view returned
        for i in range(chunks):
            log.info("chunk", chunk=i)
            time.sleep(pause)
            yield f"chunk {i}\n".encode()
        log.info("stream end")

    return Response(body(), mimetype="text/plain")


@app.get("/boom")
def boom() -> dict[str, Any]:
    log.info("about to fail")
    raise RuntimeError("boom from the app")


def reserve_stock(sku: str) -> None:
    raise KeyError(sku)


@app.get("/bug")
def bug() -> dict[str, Any]:
    reserve_stock("sku-42")
    return {}


@app.get("/pid")
def pid() -> dict[str, Any]:
    time.sleep(float(request.args.get("pause", 0)))
    trace.get_current_span().set_attribute("test.pid", os.getpid())
    return ids()


msatrace.flask.instrument(app)
