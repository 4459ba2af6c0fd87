"""FastAPI test app whose requests hand work to threads (``threads_app:app``).

``/hand-off/{n}`` runs the task ``job`` three ways, one after the other: submitted to a
``ThreadPoolExecutor`` of the application, through asyncio's default executor
(``loop.run_in_executor``), and in a ``threading.Thread`` the request starts. Each run logs
``job`` with ``n`` and ``via``. No ``msatrace.wrap`` anywhere: the trace must follow by itself
(``MSATRACE_PROPAGATE_THREADS``, on by default). ``/health`` is excluded from tracing.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import FastAPI

import msatrace

msatrace.init()
log = msatrace.get_logger("app")
app = FastAPI()
pool = ThreadPoolExecutor(max_workers=8)


@msatrace.task
def job(n: int, via: str) -> None:
    log.info("job", n=n, via=via)


@app.get("/health")
async def health() -> dict[str, bool]:
    return {"ok": True}


@app.get("/hand-off/{n}")
async def hand_off(n: int) -> dict[str, Any]:
    await asyncio.wrap_future(pool.submit(job, n, "pool"))
    await asyncio.get_running_loop().run_in_executor(None, job, n, "executor")
    thread = threading.Thread(target=job, args=(n, "thread"))
    thread.start()
    await asyncio.to_thread(thread.join)
    return {"trace_id": msatrace.current_trace_id(), "n": n}


msatrace.fastapi.instrument(app)
