"""FastAPI app instrumented with msatrace whose route fails on request: the alerting E2E test.

``GET /orders/{id}`` answers 200, or raises (a 500) when called with ``?fail=1``; ``/metrics`` is
msatrace's own Prometheus endpoint; ``/health`` is the servers fixture's readiness wait.
"""

from __future__ import annotations

from fastapi import FastAPI

import msatrace

msatrace.init()
app = FastAPI()
msatrace.fastapi.instrument(app)


class StockLookupError(RuntimeError):
    """The bug the test turns on."""


@app.get("/health")
async def ready_to_test() -> dict[str, bool]:
    return {"ok": True}


@app.get("/orders/{id}")
async def order(id: int, fail: int = 0) -> dict[str, int]:
    if fail:
        raise StockLookupError(f"no stock record for order {id}")
    return {"id": id}
