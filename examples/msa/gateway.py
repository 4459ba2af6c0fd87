"""gateway: the public edge of the demo shop (FastAPI on uvicorn).

    POST /checkout/{sku}?qty=N  ->  orders service (POST /orders), through httpx

Instrumented with ``msatrace.init()`` and ``msatrace.fastapi.instrument(app)``; the httpx call
carries the trace because ``init()`` patched httpx. Run it alone with:

    ORDERS_URL=http://127.0.0.1:8001 uvicorn gateway:app --port 8000
"""

from __future__ import annotations

import os

import httpx
from fastapi import FastAPI, HTTPException

import msatrace

msatrace.init(service_name="gateway")
log = msatrace.get_logger("gateway")

ORDERS_URL = os.environ.get("ORDERS_URL", "http://127.0.0.1:8001")

app = FastAPI(title="gateway")
msatrace.fastapi.instrument(app)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}  # excluded from tracing and access logs by default


@app.post("/checkout/{sku}", status_code=201)
async def checkout(sku: str, qty: int = 1) -> dict[str, object]:
    log.info("checkout requested", sku=sku, qty=qty)
    async with httpx.AsyncClient(base_url=ORDERS_URL, timeout=10) as client:
        response = await client.post("/orders", json={"sku": sku, "qty": qty})
    if response.status_code == 404:
        log.warning("checkout refused: unknown product", sku=sku)
        raise HTTPException(404, detail=f"unknown product {sku!r}")
    if response.status_code >= 500:
        log.error("orders service failed", status=response.status_code)
        raise HTTPException(502, detail="orders service failed")
    order: dict[str, object] = response.json()
    log.info("checkout complete", order_id=order["order_id"])
    return order
