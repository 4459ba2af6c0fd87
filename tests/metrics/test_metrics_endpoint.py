"""/metrics answered by msatrace's middleware through each framework's own test client."""

from __future__ import annotations

import warnings

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

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

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
