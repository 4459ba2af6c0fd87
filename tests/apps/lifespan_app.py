"""FastAPI app whose lifespan calls ``msatrace.shutdown()``, as many users write it.

Served by uvicorn in the shutdown tests (``lifespan_app:app``): ``/health``, ``/items/{item_id}``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

import msatrace

msatrace.init()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    msatrace.shutdown()


app = FastAPI(lifespan=lifespan)


@app.get("/health")
async def health() -> dict[str, bool]:
    return {"ok": True}


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, Any]:
    return {"item_id": item_id}


msatrace.fastapi.instrument(app)
