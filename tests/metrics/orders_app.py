"""The FastAPI app the metrics tests measure: ``GET /orders/{order_id}``, instrumented by msatrace.

Order 0 raises ``ValueError`` (a 500 with ``error.type``); any other answers 200. Import it after
``need("fastapi")``.
"""

from __future__ import annotations

from fastapi import FastAPI

import msatrace.fastapi


def orders_app() -> FastAPI:
    app = FastAPI()

    @app.get("/orders/{order_id}")
    def order(order_id: int) -> dict[str, int]:
        if order_id == 0:
            raise ValueError("no order 0")
        return {"order_id": order_id}

    msatrace.fastapi.instrument(app)
    return app
