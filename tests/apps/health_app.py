"""FastAPI app whose readiness depends on a Redis (``HEALTH_REDIS_URL``): the health tests.

Routes: ``/health`` (the servers fixture's readiness wait) and ``/hello``; ``/livez``,
``/readyz`` and ``/healthz`` are answered by msatrace.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

import msatrace
from msatrace import health

msatrace.init()
health.add_check(health.redis_check(os.environ["HEALTH_REDIS_URL"], timeout=1.0))
app = FastAPI()
msatrace.fastapi.instrument(app)


@app.get("/health")
async def ready_to_test() -> dict[str, bool]:
    return {"ok": True}


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}
