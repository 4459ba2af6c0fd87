"""The Celery app and the tasks the orders service queues (shared by orders and the worker).

The module does not call ``msatrace.init()``: each process that imports it (orders, worker) does
so with its own service name, and ``init()`` instruments Celery whether it is imported before or
after.
"""

from __future__ import annotations

import os

from celery import Celery

import msatrace

app = Celery("shop", broker=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
app.conf.task_ignore_result = True

log = msatrace.get_logger("tasks")


@app.task
def send_confirmation(order_id: int, sku: str) -> None:
    """Pretend to e-mail the customer: the log line carries the trace of the order request."""
    log.info("confirmation e-mail sent", order_id=order_id, sku=sku)


@app.task
def apologise(sku: str) -> None:
    """Pretend to tell the customer the order could not be placed (same trace as the failure)."""
    log.warning("customer told the order failed", sku=sku)
