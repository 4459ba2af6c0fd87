"""An unhandled exception's report names the request it was raised in: method, route template
and status 500, through each framework's own test client (they were null)."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

import msatrace
from tests.conftest import need


class Kept:
    """A notifier of the application's own: keeps what it is sent."""

    name = "kept"

    def __init__(self) -> None:
        self.reports: list[Any] = []

    def send(self, report: Any) -> None:
        self.reports.append(report)


def _request_fields(kept: Kept) -> list[tuple[Any, Any, Any]]:
    msatrace.shutdown()  # sends what is pending
    return [(r.event.method, r.event.route, r.event.status) for r in kept.reports]


@pytest.mark.filterwarnings("ignore:The anyio.abc.BlockingPortal alias is deprecated")
@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_fastapi_report_has_method_route_and_status(env: pytest.MonkeyPatch) -> None:
    need("fastapi")
    from fastapi import FastAPI

    import msatrace.fastapi

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        warnings.filterwarnings("ignore", message="The anyio.abc.BlockingPortal alias")
        from fastapi.testclient import TestClient

    kept = Kept()
    msatrace.init(service_name="shop", patch="none", notifiers=[kept])
    app = FastAPI()

    @app.post("/orders/{order_id}")
    def order(order_id: int) -> None:
        raise ValueError("no stock")

    msatrace.fastapi.instrument(app)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.post("/orders/7").status_code == 500

    assert _request_fields(kept) == [("POST", "/orders/{order_id}", 500)]


def test_flask_report_has_method_route_and_status(env: pytest.MonkeyPatch) -> None:
    need("flask")
    from flask import Flask

    import msatrace.flask

    kept = Kept()
    msatrace.init(service_name="shop", patch="none", notifiers=[kept])
    app = Flask(__name__)

    @app.route("/orders/<int:order_id>", methods=["POST"])
    def order(order_id: int) -> None:
        raise ValueError("no stock")

    msatrace.flask.instrument(app)
    with app.test_client() as client, client.post("/orders/7") as response:
        assert response.status_code == 500

    assert _request_fields(kept) == [("POST", "/orders/<int:order_id>", 500)]
