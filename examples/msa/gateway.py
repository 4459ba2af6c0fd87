"""gateway: the public edge of the demo shop (FastAPI on uvicorn).

    POST /checkout/{sku}?qty=N  ->  orders service (POST /orders), through httpx
         optional JSON body: the customer's contact details (e-mail, card, phone)

Instrumented with ``msatrace.init()`` and ``msatrace.fastapi.instrument(app)``; the httpx call
carries the trace because ``init()`` patched httpx. Run it alone with:

    ORDERS_URL=http://127.0.0.1:8001 uvicorn gateway:app --port 8000
"""

from __future__ import annotations

import os
from typing import Annotated

import httpx
from fastapi import Body, FastAPI, HTTPException

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
async def checkout(
    sku: str, qty: int = 1, customer: Annotated[dict[str, str] | None, Body()] = None
) -> dict[str, object]:
    # Logging the customer as it came is careless, and common: msatrace redacts the e-mail,
    # the card number and the phone number before the line is written.
    log.info("checkout requested", sku=sku, qty=qty, customer=customer)
    async with httpx.AsyncClient(base_url=ORDERS_URL, timeout=10) as client:
        order = {"sku": sku, "qty": qty, "customer": customer}
        response = await client.post("/orders", json=order)
    if response.status_code == 404:
        log.warning("checkout refused: unknown product", sku=sku)
        raise HTTPException(404, detail=f"unknown product {sku!r}")
    if response.status_code >= 500:
        log.error("orders service failed", status=response.status_code)
        raise HTTPException(502, detail="orders service failed")
    order: dict[str, object] = response.json()
    log.info("checkout complete", order_id=order["order_id"])
    return order
