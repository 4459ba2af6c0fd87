"""FastAPI test app, served by uvicorn in the integration tests (``fastapi_app:app``).

Routes: ``/health`` (excluded from tracing), ``/items/{item_id}``, ``/work`` (logs, yields with
``await asyncio.sleep``, logs again: the isolation test), ``/work_sync`` (the same in FastAPI's
thread pool), ``/me`` (``msatrace.set_user``), ``/stream`` (logs between chunks),
``/ws/{room}`` (a WebSocket), ``/boom`` (unhandled exception), ``/bug`` (another one, from
another function: a second bug for error tracking) and ``/pid?pause=`` (which process served it).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, WebSocket
from fastapi.responses import JSONResponse, StreamingResponse
from opentelemetry import trace

import msatrace

msatrace.init()
log = msatrace.get_logger("app")
std_log = logging.getLogger("app.std")
app = FastAPI()


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
async def health() -> dict[str, bool]:
    return {"ok": True}


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, Any]:
    log.info("item", item_id=item_id)
    return ids(item_id=item_id)


@app.get("/work")
async def work(marker: str, steps: int = 3, pause: float = 0.005) -> dict[str, Any]:
    msatrace.bind(marker=marker)
    for step in range(steps):
        log.info("step", step=step)
        await asyncio.sleep(pause)
    log.info("done")
    return ids(marker=marker)


@app.get("/work_sync")
def work_sync(marker: str, steps: int = 3, pause: float = 0.005) -> dict[str, Any]:
    msatrace.bind(marker=marker)
    for step in range(steps):
        log.info("step", step=step)
        time.sleep(pause)
    log.info("done")
    return ids(marker=marker)


@app.get("/me")
async def me() -> dict[str, Any]:
    msatrace.set_user("u-42")
    log.info("who")
    return ids()


@app.get("/stream")
async def stream(chunks: int = 3, pause: float = 0.01) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        for i in range(chunks):
            log.info("chunk", chunk=i)
            await asyncio.sleep(pause)
            yield f"chunk {i}\n".encode()
        log.info("stream end")

    return StreamingResponse(body(), media_type="text/plain")


@app.websocket("/ws/{room}")
async def ws(websocket: WebSocket, room: str) -> None:
    await websocket.accept()
    text = await websocket.receive_text()
    log.info("ws message", room=room, text=text)
    await websocket.send_json(ids(room=room))
    await websocket.close()


@app.get("/boom")
async def boom() -> dict[str, Any]:
    log.info("about to fail")
    raise RuntimeError("boom from the app")


@app.get("/debug_work")
async def debug_work(marker: str, fail: str = "no", steps: int = 3) -> Any:
    """DEBUG lines (structlog, stdlib, a child task) with ``m=marker``, then ``fail``: ``no``
    (200), ``raise`` (an exception) or ``status`` (a 500 response): debug on error."""

    async def child() -> None:
        log.debug("debug from a task", m=marker)

    for step in range(steps):
        log.debug("debug step", step=step, m=marker)
        std_log.debug("stdlib debug", extra={"m": marker})
        await asyncio.sleep(0.001)
    await asyncio.create_task(child())
    log.info("debug work done", m=marker)
    if fail == "raise":
        raise RuntimeError("debug work failed")
    if fail == "status":
        return JSONResponse(ids(marker=marker), status_code=500)
    return ids(marker=marker)


def reserve_stock(sku: str) -> None:
    raise KeyError(sku)


@app.get("/bug")
async def bug() -> dict[str, Any]:
    reserve_stock("sku-42")
    return {}


@app.get("/pid")
async def pid(pause: float = 0) -> dict[str, Any]:
    await asyncio.sleep(pause)
    trace.get_current_span().set_attribute("test.pid", os.getpid())
    return ids()


msatrace.fastapi.instrument(app)
