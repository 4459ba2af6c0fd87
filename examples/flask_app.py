"""A Flask service instrumented with msatrace: two lines, `init()` and `instrument(app)`.

Run it (from the repository root, with `pip install 'msatrace[flask,requests]' gunicorn`):

    $ gunicorn --chdir examples -b 127.0.0.1:8000 flask_app:app

Then `curl -i localhost:8000/orders/42`: the response carries `X-Trace-ID`, and every JSON line
the request wrote (yours, the access line, gunicorn's) carries that `trace_id`. Try
`/orders/7` (404), `/boom` (an unhandled exception: 500, still with `X-Trace-ID`), `/report`
(work handed to a thread pool, in the same trace), and send your own
`-H 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'` to continue a trace.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flask import Flask, abort

import msatrace

msatrace.init(service_name="flask-example")
log = msatrace.get_logger("shop")

app = Flask("flask-example")
msatrace.flask.instrument(app)

ORDERS = {42: {"id": 42, "item": "espresso beans", "qty": 2}}
pool = msatrace.TracedExecutor(ThreadPoolExecutor(max_workers=2))


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}  # not traced, not access-logged (exclude_paths)


@app.get("/orders/<int:order_id>")
def get_order(order_id: int) -> dict[str, object]:
    msatrace.bind(order_id=order_id)  # on every line of this request from here on
    order = ORDERS.get(order_id)
    if order is None:
        log.warning("order not found")
        abort(404)
    log.info("order found", item=order["item"])
    return order


def build_report(rows: int) -> int:
    log.info("report built in a pool thread", rows=rows)  # same trace_id as the request
    return rows


@app.get("/report")
def report() -> dict[str, int]:
    rows = pool.submit(build_report, 3).result()
    return {"rows": rows}


@app.get("/boom")
def boom() -> None:
    raise RuntimeError("something broke")  # logged once with the trace ID; 500 with X-Trace-ID
