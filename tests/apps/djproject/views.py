"""Views of the Django test project: sync views, as most Django code is, and one async view."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from opentelemetry import trace

import msatrace

log = msatrace.get_logger("app")
std_log = logging.getLogger("app.std")


def ids(**extra: Any) -> dict[str, Any]:
    """What the view saw: the current trace and request IDs, and this process."""
    return {
        "trace_id": msatrace.current_trace_id(),
        "span_id": msatrace.current_span_id(),
        "request_id": msatrace.current_request_id(),
        "pid": os.getpid(),
        **extra,
    }


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


def item(request: HttpRequest, item_id: int) -> JsonResponse:
    log.info("item", item_id=item_id)
    return JsonResponse(ids(item_id=item_id))


def debug_work(request: HttpRequest) -> JsonResponse:
    """DEBUG lines (structlog, stdlib, a thread) with ``m=marker``, then ``fail``: ``no`` (200),
    ``raise`` (an exception) or ``status`` (a 500 response): debug on error."""
    marker, fail = request.GET["marker"], request.GET.get("fail", "no")
    for step in range(int(request.GET.get("steps", 3))):
        log.debug("debug step", step=step, m=marker)
        std_log.debug("stdlib debug", extra={"m": marker})
        time.sleep(0.001)
    thread = threading.Thread(target=lambda: log.debug("debug from a thread", m=marker))
    thread.start()
    thread.join()
    log.info("debug work done", m=marker)
    if fail == "raise":
        raise RuntimeError("debug work failed")
    return JsonResponse(ids(marker=marker), status=500 if fail == "status" else 200)


def work(request: HttpRequest) -> JsonResponse:
    marker = request.GET["marker"]
    steps = int(request.GET.get("steps", 3))
    pause = float(request.GET.get("pause", 0.005))
    msatrace.bind(marker=marker)
    for step in range(steps):
        log.info("step", step=step)
        time.sleep(pause)
    log.info("done")
    return JsonResponse(ids(marker=marker))


async def work_async(request: HttpRequest) -> JsonResponse:
    marker = request.GET["marker"]
    steps = int(request.GET.get("steps", 3))
    pause = float(request.GET.get("pause", 0.005))
    msatrace.bind(marker=marker)
    for step in range(steps):
        log.info("step", step=step)
        await asyncio.sleep(pause)
    log.info("done")
    return JsonResponse(ids(marker=marker))


def me(request: HttpRequest) -> JsonResponse:
    msatrace.set_user("u-42")
    log.info("who")
    return JsonResponse(ids())


def stream(request: HttpRequest) -> StreamingHttpResponse:
    chunks = int(request.GET.get("chunks", 3))
    pause = float(request.GET.get("pause", 0.01))

    def body() -> Iterator[bytes]:  # a plain generator: it runs after the view returned
        for i in range(chunks):
            log.info("chunk", chunk=i)
            time.sleep(pause)
            yield f"chunk {i}\n".encode()
        log.info("stream end")

    return StreamingHttpResponse(body(), content_type="text/plain")


def boom(request: HttpRequest) -> JsonResponse:
    log.info("about to fail")
    raise RuntimeError("boom from the app")


def reserve_stock(sku: str) -> None:
    raise KeyError(sku)


def bug(request: HttpRequest) -> JsonResponse:
    reserve_stock("sku-42")
    return JsonResponse({})


def pid(request: HttpRequest) -> JsonResponse:
    time.sleep(float(request.GET.get("pause", 0)))
    trace.get_current_span().set_attribute("test.pid", os.getpid())
    return JsonResponse(ids())
