"""A FastAPI service instrumented with msatrace: two lines, `init()` and `instrument(app)`.

Run it (from the repository root, with `pip install 'msatrace[fastapi,httpx]' uvicorn`):

    $ uvicorn --app-dir examples fastapi_app:app --port 8000

Then `curl -i localhost:8000/orders/42`: the response carries `X-Trace-ID`, and every JSON line
the request wrote (yours, the access line, the background task's) carries that `trace_id`.
Try `/orders/7` (404), `/boom` (an unhandled exception: 500, still with `X-Trace-ID`),
`POST /orders/42/receipt` (work that runs after the response, in the same trace), and send your
own `-H 'X-Trace-ID: 4bf92f3577b34da6a3ce929d0e0e4736'` to see the trace continue.
`MSATRACE_ENVIRONMENT=development` switches to coloured console logs.
"""

from __future__ import annotations

import asyncio

from fastapi import BackgroundTasks, FastAPI, HTTPException

import msatrace

msatrace.init(service_name="fastapi-example")
log = msatrace.get_logger("shop")

app = FastAPI(title="fastapi-example")
msatrace.fastapi.instrument(app)

ORDERS = {42: {"id": 42, "item": "espresso beans", "qty": 2}}


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}  # not traced, not access-logged (exclude_paths)


@app.get("/orders/{order_id}")
async def get_order(order_id: int) -> dict[str, object]:
    msatrace.bind(order_id=order_id)  # on every line of this request from here on
    order = ORDERS.get(order_id)
    if order is None:
        log.warning("order not found")
        raise HTTPException(404, detail="no such order")
    log.info("order found", item=order["item"])
    return order


@msatrace.task
async def send_receipt(order_id: int) -> None:
    await asyncio.sleep(0.05)  # pretend to talk to a mail server
    log.info("receipt sent", order_id=order_id)


@app.post("/orders/{order_id}/receipt", status_code=202)
async def queue_receipt(order_id: int, background: BackgroundTasks) -> dict[str, str]:
    background.add_task(send_receipt, order_id)  # runs after the response, in this trace
    return {"status": "queued"}


@app.get("/boom")
async def boom() -> None:
    raise RuntimeError("something broke")  # logged once with the trace ID; 500 with X-Trace-ID
