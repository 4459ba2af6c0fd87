"""metrics_exporter="otlp": the RED metrics reach a real OTLP/HTTP receiver under semconv names."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import msatrace
from msatrace._core import runtime
from msatrace._core.config.settings import resolve
from msatrace.exceptions import ConfigError
from tests.conftest import need

need("opentelemetry.exporter.otlp.proto.http")
need("fastapi")

import msatrace.fastapi  # noqa: E402
from msatrace.testing import OTLPReceiver, ReceivedPoint  # noqa: E402
from tests.metrics.orders_app import orders_app  # noqa: E402
from tests.starlette_client import TestClient  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:The anyio.abc.BlockingPortal alias is deprecated")

SERVER = "http.server.request.duration"


def _latest(points: list[ReceivedPoint]) -> dict[tuple[str, frozenset[Any]], ReceivedPoint]:
    """Each series' point in the last export that had it (exports are cumulative)."""
    return {(p.name, frozenset(p.attributes.items())): p for p in points}


def test_shutdown_sends_the_request_metrics_with_an_exemplar(env: pytest.MonkeyPatch) -> None:
    """Counts per route and status, error.type, the active-requests sum back at 0 and a trace ID
    the client received as exemplar reach the receiver at shutdown(); nothing is scraped."""
    with OTLPReceiver() as receiver:
        env.setenv("OTEL_METRICS_EXPORTER", "otlp")
        env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.base_endpoint)
        msatrace.init(service_name="shop", log_format="json", access_log=False)
        with TestClient(orders_app(), raise_server_exceptions=False) as client:
            ok = [client.get(f"/orders/{i}") for i in (1, 2)]
            client.get("/orders/0")
            scrape = client.get("/metrics")
        msatrace.shutdown()
        latest = _latest(receiver.metrics)

    route = {"http.request.method": "GET", "http.route": "/orders/{order_id}", "url.scheme": "http"}
    good = latest[(SERVER, frozenset({**route, "http.response.status_code": 200}.items()))]
    bad_attrs = {**route, "http.response.status_code": 500, "error.type": "ValueError"}
    bad = latest[(SERVER, frozenset(bad_attrs.items()))]
    active = latest[
        (
            "http.server.active_requests",
            frozenset({"http.request.method": "GET", "url.scheme": "http"}.items()),
        )
    ]
    assert (good.count, bad.count) == (2, 1)
    assert good.unit == "s"
    assert sum(good.bucket_counts) == 2
    assert good.explicit_bounds[0] == 0.005
    assert good.service == "shop"
    if _sdk_has_exemplars():  # the data points of OpenTelemetry's SDK before 1.28 have none
        assert {r.headers["x-trace-id"] for r in ok} & set(good.exemplar_trace_ids)
    assert active.value == 0
    assert scrape.status_code == 404  # OTLP instead of a scrape: /metrics is the app's


def test_metrics_are_sent_every_interval(env: pytest.MonkeyPatch) -> None:
    """With a short OTEL_METRIC_EXPORT_INTERVAL (milliseconds) the totals arrive before
    shutdown, from the export thread."""
    with OTLPReceiver() as receiver:
        env.setenv("OTEL_METRIC_EXPORT_INTERVAL", "100")
        msatrace.init(
            service_name="shop",
            log_format="json",
            access_log=False,
            metrics_exporter="otlp",
            otlp_metrics_endpoint=receiver.base_endpoint + "/v1/metrics",
        )
        with TestClient(orders_app()) as client:
            client.get("/orders/7")
        points = receiver.wait_for_metrics(lambda ps: any(p.name == SERVER for p in ps))
        msatrace.shutdown()  # its last export still finds the receiver

    assert [p.count for p in points if p.name == SERVER][-1] == 1


@pytest.mark.parametrize(
    ("env_vars", "endpoint"),
    [
        ({}, "http://localhost:4318/v1/metrics"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, "http://c:4318/v1/metrics"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/v1/traces"}, "http://c:4318/v1/metrics"),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://m:9/x",
            },
            "http://m:9/x",
        ),
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "http://localhost:4317"),
    ],
)
def test_the_metrics_endpoint_follows_the_otlp_exporter_spec(
    env: pytest.MonkeyPatch, env_vars: dict[str, str], endpoint: str
) -> None:
    """The metrics URL: the signal-specific one as it is, else the base URL + /v1/metrics."""
    for k, v in env_vars.items():
        env.setenv(k, v)

    assert resolve({}).otlp_metrics_endpoint == endpoint


def test_the_export_interval_is_milliseconds_in_the_otel_variable(env: pytest.MonkeyPatch) -> None:
    """OTEL_METRIC_EXPORT_INTERVAL=1500 is 1.5 s; the argument is in seconds; 0 is refused."""
    env.setenv("OTEL_METRIC_EXPORT_INTERVAL", "1500")
    from_env = resolve({}).metrics_export_interval
    from_argument = resolve({"metrics_export_interval": 2}).metrics_export_interval
    env.setenv("OTEL_METRIC_EXPORT_INTERVAL", "0")

    with pytest.raises(ConfigError, match="OTEL_METRIC_EXPORT_INTERVAL='0'"):
        resolve({})
    assert (from_env, from_argument) == (1.5, 2.0)


def test_shutdown_waits_for_a_collector_that_is_down_at_most_the_bound(
    env: pytest.MonkeyPatch,
) -> None:
    """A collector that is down cannot hold shutdown() past shutdown_timeout: the last export
    is given up (and reported), the process goes on."""
    with OTLPReceiver() as receiver:
        endpoint = receiver.base_endpoint + "/v1/metrics"
    msatrace.init(
        service_name="shop",
        log_format="json",
        access_log=False,
        metrics_exporter="otlp",
        otlp_metrics_endpoint=endpoint,
        shutdown_timeout=0.5,
    )
    rt = runtime.current()
    assert rt is not None
    assert rt.metrics is not None
    otlp = rt.metrics.otlp
    assert otlp is not None
    rt.metrics.recorder.active_requests(1, method="GET", scheme="http")

    msatrace.shutdown()

    # shutdown() returned while the exporter still retries its last export in the background
    # (it would give up only after its own 10 s timeout).
    last = [t for t in threading.enumerate() if t.name == "msatrace-metrics-last"]
    if _sdk_has_exemplars():  # older exporters give up a refused connection at once
        assert [t.is_alive() for t in last] == [True]
    assert not otlp._thread.is_alive()


def _sdk_has_exemplars() -> bool:
    import opentelemetry.sdk.metrics as sdk_metrics

    return hasattr(sdk_metrics, "Exemplar")
