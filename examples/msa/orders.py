"""orders: creates orders (Flask on gunicorn).

    POST /orders {"sku": ..., "qty": ...}  ->  inventory (GET /stock/<sku>/), through requests
                                           ->  Celery task send_confirmation (Redis broker),
                                               or apologise when inventory fails

Instrumented with ``msatrace.init()`` and ``msatrace.flask.instrument(app)``; the requests call
and the Celery message carry the trace because ``init()`` patched them. Run it alone with:

    INVENTORY_URL=http://127.0.0.1:8002 REDIS_URL=redis://127.0.0.1:6379/0 \\
        gunicorn -b 127.0.0.1:8001 orders:app
"""

from __future__ import annotations

import itertools
import os

import requests
from flask import Flask, request

import msatrace
from tasks import apologise, send_confirmation  # the Celery tasks the worker runs

msatrace.init(service_name="orders")
log = msatrace.get_logger("orders")

INVENTORY_URL = os.environ.get("INVENTORY_URL", "http://127.0.0.1:8002")
_order_ids = itertools.count(1001)

app = Flask("orders")
msatrace.flask.instrument(app)


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/orders")
def create_order() -> tuple[dict[str, object], int]:
    body = request.get_json(force=True)
    sku, qty = str(body["sku"]), int(body.get("qty", 1))
    msatrace.bind(sku=sku)  # on every log line of this request from here on
    customer = body.get("customer") or {}
    if customer.get("email"):
        msatrace.bind(customer_email=customer["email"])  # redacted on every line
    stock = requests.get(f"{INVENTORY_URL}/stock/{sku}/", timeout=10)
    if stock.status_code == 404:
        log.warning("unknown product")
        return {"error": "unknown product"}, 404
    if stock.status_code >= 500:
        log.error("inventory failed", status=stock.status_code)
        apologise.delay(sku)  # the worker tells the customer, in this same trace
        return {"error": "inventory failed"}, 502
    if stock.json()["available"] < qty:
        log.warning("out of stock", qty=qty)
        return {"error": "out of stock"}, 409
    order_id = next(_order_ids)
    log.info("order placed", order_id=order_id, qty=qty)
    send_confirmation.delay(order_id, sku)  # runs later in the worker, in this same trace
    return {"order_id": order_id, "sku": sku, "qty": qty}, 201
