"""First service of the chain: FastAPI under uvicorn, calling the next with httpx.AsyncClient."""

from __future__ import annotations

import os
from typing import Any

import httpx
from fastapi import FastAPI

import msatrace

msatrace.init()
log = msatrace.get_logger("chain.api")
app = FastAPI()
NEXT_URL = os.environ["CHAIN_NEXT_URL"]


@app.get("/health")
async def health() -> dict[str, bool]:
    return {"ok": True}


@app.get("/chain")
async def chain() -> dict[str, Any]:
    log.info("calling middle")
    async with httpx.AsyncClient(timeout=30) as client:
        downstream = (await client.get(NEXT_URL + "/chain")).json()
    log.info("middle answered")
    return {"service": "api", "trace_id": msatrace.current_trace_id(), "next": downstream}


@app.get("/debug_chain")
async def debug_chain(label: str) -> dict[str, Any]:
    """The debug-on-demand test: a DEBUG line, then the next service (the INFO line last)."""
    log.debug("api debug", label=label)
    async with httpx.AsyncClient(timeout=30) as client:
        downstream = (await client.get(NEXT_URL + "/debug_chain", params={"label": label})).json()
    log.info("debug chain", label=label)
    return {"service": "api", "trace_id": msatrace.current_trace_id(), "next": downstream}


msatrace.fastapi.instrument(app)
