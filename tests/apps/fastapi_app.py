"""FastAPI test app, served by uvicorn in the integration tests (``fastapi_app:app``).

Routes: ``/health`` (excluded from tracing), ``/items/{item_id}``, ``/work`` (logs, yields with
``await asyncio.sleep``, logs again: the isolation test), ``/work_sync`` (the same in FastAPI's
thread pool), ``/me`` (``msatrace.set_user``), ``/stream`` (logs between chunks),
``/ws/{room}`` (a WebSocket), ``/boom`` (unhandled exception), ``/bug`` (another one, from
another function: a second bug for error tracking) and ``/pid?pause=`` (which process served it).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import shared_views as shared
from fastapi import FastAPI, WebSocket
from fastapi.responses import JSONResponse, StreamingResponse
from opentelemetry import trace

import msatrace

msatrace.init()
log, std_log = shared.log, shared.std_log
app = FastAPI()


@app.get("/health")
async def health() -> dict[str, bool]:
    return {"ok": True}


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, Any]:
    return shared.item(item_id)


@app.get("/work")
async def work(marker: str, steps: int = 3, pause: float = 0.005) -> dict[str, Any]:
    return await shared.work_async(marker, steps, pause)


@app.get("/work_sync")
def work_sync(marker: str, steps: int = 3, pause: float = 0.005) -> dict[str, Any]:
    return shared.work(marker, steps, pause)


@app.get("/me")
async def me() -> dict[str, Any]:
    return shared.me()


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
    await websocket.send_json(shared.ids(room=room))
    await websocket.close()


@app.get("/boom")
async def boom() -> dict[str, Any]:
    # raised here, not in shared_views: a test reads this module's name in the report's frame
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
        return JSONResponse(shared.ids(marker=marker), status_code=500)
    return shared.ids(marker=marker)


@app.get("/bug")
async def bug() -> dict[str, Any]:
    return shared.bug()


@app.get("/pid")
async def pid(pause: float = 0) -> dict[str, Any]:
    await asyncio.sleep(pause)
    trace.get_current_span().set_attribute("test.pid", os.getpid())
    return shared.ids()


msatrace.fastapi.instrument(app)
