"""/metrics answered by msatrace's middleware through each framework's own test client."""

from __future__ import annotations

from typing import Any

import pytest

import msatrace
from tests.conftest import need

need("prometheus_client")
need("fastapi")
need("flask")

from fastapi import FastAPI  # noqa: E402
from flask import Flask  # noqa: E402

import msatrace.fastapi  # noqa: E402
import msatrace.flask  # noqa: E402
from tests.metrics.orders_app import orders_app  # noqa: E402
from tests.starlette_client import TestClient  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:The anyio.abc.BlockingPortal alias is deprecated")


def test_fastapi_serves_metrics_text_and_openmetrics() -> None:
    """GET /metrics: Prometheus text by default, OpenMetrics when asked; never traced."""
    msatrace.init(
        service_name="shop", patch="none", log_format="json", metrics_exporter="prometheus"
    )
    app = FastAPI()
    msatrace.fastapi.instrument(app)
    with TestClient(app) as client:
        text = client.get("/metrics")
        om = client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert text.status_code == 200
    assert text.headers["content-type"].startswith("text/plain")
    assert "target_info" in text.text
    assert om.headers["content-type"].startswith("application/openmetrics-text")
    assert om.text.rstrip().endswith("# EOF")


def test_flask_serves_metrics_and_the_path_moves() -> None:
    """metrics_path moves the endpoint; the old path goes back to the application."""
    msatrace.init(
        service_name="shop", patch="none", log_format="json", metrics_exporter="prometheus",
        metrics_path="/internal/metrics",
    )  # fmt: skip
    app = Flask(__name__)
    msatrace.flask.instrument(app)
    client = app.test_client()
    with client.get("/internal/metrics") as r:
        assert r.status_code == 200
        assert b"target_info" in r.data
    with client.get("/metrics") as r:
        assert r.status_code == 404


def test_metrics_off_leaves_the_path_to_the_application() -> None:
    """metrics_exporter=none: /metrics is the application's."""
    msatrace.init(service_name="shop", patch="none", log_format="json", metrics_exporter="none")
    app = Flask(__name__)
    msatrace.flask.instrument(app)
    with app.test_client().get("/metrics") as r:
        assert r.status_code == 404


def test_requests_are_counted_per_route_with_their_status() -> None:
    """The outcome step records each request: count per route template and status."""
    msatrace.init(
        service_name="shop", patch="none", log_format="json", metrics_exporter="prometheus"
    )
    with TestClient(orders_app(), raise_server_exceptions=False) as client:
        for order_id in (1, 2, 3, 0):
            client.get(f"/orders/{order_id}")
        text = client.get("/metrics").text
    counts = {
        line[line.index("{") + 1 : line.rindex("}")]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("http_server_request_duration_seconds_count{")
    }
    ok = [v for k, v in counts.items() if 'http_route="/orders/{order_id}"' in k and '"200"' in k]
    failed = [v for k, v in counts.items() if '"500"' in k and 'error_type="ValueError"' in k]
    assert ok == [3.0]
    assert failed == [1.0]
    assert not any("/metrics" in k for k in counts)  # the scrape itself is not measured


def test_active_requests_is_one_inside_the_handler_and_zero_after_a_failure() -> None:
    """``http.server.active_requests`` counts the request while its handler runs; a request
    that raised is taken back off too."""
    msatrace.init(
        service_name="shop", patch="none", log_format="json", metrics_exporter="prometheus"
    )
    app = FastAPI()
    seen: list[str] = []

    @app.get("/inside")
    def inside() -> dict[str, bool]:
        seen.append(_active_line(client.get("/metrics").text))
        return {"ok": True}

    @app.get("/fails")
    def fails() -> None:
        raise ValueError("boom")

    msatrace.fastapi.instrument(app)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.get("/inside")
        client.get("/fails")
        after = _active_line(client.get("/metrics").text)

    assert seen == ['http_server_active_requests{http_request_method="GET",url_scheme="http"} 1.0']
    assert after == 'http_server_active_requests{http_request_method="GET",url_scheme="http"} 0.0'


def _active_line(text: str) -> str:
    return next(ln for ln in text.splitlines() if ln.startswith("http_server_active_requests{"))


def test_flask_active_requests_return_to_zero_after_a_stream_and_a_failure() -> None:
    """WSGI (Flask): a streamed response counts until its body is closed; a request that
    raised is taken back off too."""
    msatrace.init(
        service_name="shop", patch="none", log_format="json", metrics_exporter="prometheus"
    )
    app = Flask(__name__)

    @app.get("/stream")
    def stream() -> Any:
        return app.response_class(iter([b"a", b"b"]))

    @app.get("/fails")
    def fails() -> None:
        raise ValueError("boom")

    app.config["PROPAGATE_EXCEPTIONS"] = False  # a 500, as under a server
    msatrace.flask.instrument(app)
    client = app.test_client()
    # Werkzeug's client leaves a response's body open until the response is closed, as a
    # server would close it once sent.
    with client.get("/stream") as streamed:
        during = _active_line(client.get("/metrics").get_data(as_text=True))
    with client.get("/fails") as failed:
        status = failed.status_code
    after = _active_line(client.get("/metrics").get_data(as_text=True))

    assert streamed.status_code == 200
    assert during.endswith(" 1.0")
    assert status == 500
    assert after.endswith(" 0.0")
