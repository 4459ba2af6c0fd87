"""Views of the example project: a sync view, an async view, and one that fails."""

from __future__ import annotations

import asyncio

from django.http import Http404, HttpRequest, JsonResponse

import msatrace

log = msatrace.get_logger("shop")
ORDERS = {42: {"id": 42, "item": "espresso beans", "qty": 2}}


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})  # not traced, not access-logged (exclude_paths)


def order(request: HttpRequest, order_id: int) -> JsonResponse:
    msatrace.bind(order_id=order_id)  # on every line of this request from here on
    found = ORDERS.get(order_id)
    if found is None:
        log.warning("order not found")
        raise Http404("no such order")
    log.info("order found", item=found["item"])
    return JsonResponse(found)


async def slow(request: HttpRequest) -> JsonResponse:
    log.info("waiting")
    await asyncio.sleep(0.05)
    log.info("done waiting")  # same trace_id after the await
    return JsonResponse({"waited_ms": 50})


def boom(request: HttpRequest) -> JsonResponse:
    raise RuntimeError("something broke")  # logged once with the trace ID; 500 with X-Trace-ID
