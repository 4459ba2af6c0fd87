"""What the Flask and Django test apps' views do, without their framework.

Each view of ``flask_app`` and ``djproject.views`` reads its query parameters, calls the function
of the same name here and wraps what it returns in its framework's response: the behaviour the
integration tests check is written once. The lines are logged on the loggers ``app`` (structlog)
and ``app.std`` (stdlib), as before.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any, NoReturn

from opentelemetry import trace

import msatrace

log = msatrace.get_logger("app")
std_log = logging.getLogger("app.std")


def ids(**extra: Any) -> dict[str, Any]:
    """What the handler saw: the current trace and request IDs, and this process."""
    return {
        "trace_id": msatrace.current_trace_id(),
        "span_id": msatrace.current_span_id(),
        "request_id": msatrace.current_request_id(),
        "pid": os.getpid(),
        **extra,
    }


def item(item_id: int) -> dict[str, Any]:
    log.info("item", item_id=item_id)
    return ids(item_id=item_id)


def debug_work(marker: str, fail: str, steps: int) -> tuple[dict[str, Any], int]:
    """DEBUG lines (structlog, stdlib, a thread) with ``m=marker``, then ``fail``: ``no`` (200),
    ``raise`` (an exception) or ``status`` (a 500 response): debug on error."""
    for step in range(steps):
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


def work(marker: str, steps: int, pause: float) -> dict[str, Any]:
    """Logs, yields with ``time.sleep``, logs again: the isolation test."""
    msatrace.bind(marker=marker)
    for step in range(steps):
        log.info("step", step=step)
        time.sleep(pause)
    log.info("done")
    return ids(marker=marker)


async def work_async(marker: str, steps: int, pause: float) -> dict[str, Any]:
    """``work`` as a coroutine, yielding with ``asyncio.sleep``."""
    msatrace.bind(marker=marker)
    for step in range(steps):
        log.info("step", step=step)
        await asyncio.sleep(pause)
    log.info("done")
    return ids(marker=marker)


def me() -> dict[str, Any]:
    msatrace.set_user("u-42")
    log.info("who")
    return ids()


def stream_body(chunks: int, pause: float) -> Iterator[bytes]:
    """A plain generator: it runs after the view returned, logging between chunks."""
    for i in range(chunks):
        log.info("chunk", chunk=i)
        time.sleep(pause)
        yield f"chunk {i}\n".encode()
    log.info("stream end")


def boom() -> NoReturn:
    log.info("about to fail")
    raise RuntimeError("boom from the app")


def reserve_stock(sku: str) -> None:
    raise KeyError(sku)


def bug() -> dict[str, Any]:
    """Another unhandled exception, from another function: a second bug for error tracking."""
    reserve_stock("sku-42")
    return {}


def pid(pause: float) -> dict[str, Any]:
    """Which process served the request (the ``--preload`` test)."""
    time.sleep(pause)
    trace.get_current_span().set_attribute("test.pid", os.getpid())
    return ids()
