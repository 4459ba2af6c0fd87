"""What the recorder writes: semconv attributes, safe cardinality, exposition formats, names."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile

import pytest

from msatrace._core.config.settings import resolve
from msatrace._core.metrics import Metrics, build
from tests.conftest import need, require

TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
SPAN_ID = 0xB7AD6B7169203331


def _server(m: Metrics, **kw: object) -> None:
    args: dict[str, object] = {
        "method": "GET",
        "route": "/items/{id}",
        "status": 200,
        "scheme": "http",
        "error_type": None,
        "duration_s": 0.012,
    }
    args.update(kw)
    m.recorder.record_server(**args)  # type: ignore[arg-type]


def _families(m: Metrics) -> dict[str, object]:
    parser = need("prometheus_client.openmetrics.parser")
    text = m.respond("application/openmetrics-text; version=1.0.0")[2].decode()
    return {f.name: f for f in parser.text_string_to_metric_families(text)}


def _series(m: Metrics, family: str) -> list[dict[str, str]]:
    fam = _families(m)[family]
    # an absent attribute is written empty, as OpenTelemetry's exporter writes it (Prometheus
    # stores no empty label)
    samples = [s for s in fam.samples if s.name.endswith("_count")]  # type: ignore[attr-defined]
    return [{k: v for k, v in s.labels.items() if v} for s in samples]


def test_server_request_has_the_semconv_attributes() -> None:
    """A request becomes one series with method, route, status and scheme, no error.type."""
    m = Metrics(limit=2000)

    _server(m)

    assert _series(m, "http_server_request_duration_seconds") == [
        {
            "http_request_method": "GET",
            "http_route": "/items/{id}",
            "http_response_status_code": "200",
            "url_scheme": "http",
        }
    ]


def test_unknown_method_is_other_and_no_route_is_no_label() -> None:
    """A made-up method is ``_OTHER``; a request without a route template has no ``http_route``."""
    m = Metrics(limit=2000)

    _server(m, method="PROPFIND", route=None, status=404)

    (labels,) = _series(m, "http_server_request_duration_seconds")
    assert labels["http_request_method"] == "_OTHER"
    assert "http_route" not in labels


def test_a_5xx_without_exception_has_its_status_as_error_type() -> None:
    """semconv: error.type is the status code of a 5xx when no exception names the error."""
    m = Metrics(limit=2000)

    _server(m, status=503)
    _server(m, status=500, error_type="ValueError")

    errors = sorted(s["error_type"] for s in _series(m, "http_server_request_duration_seconds"))
    assert errors == ["503", "ValueError"]


def test_client_4xx_is_an_error_and_has_address_and_port() -> None:
    """A client hop answered 404 has error.type 404, server.address and server.port."""
    m = Metrics(limit=2000)

    m.recorder.record_client(
        method="GET",
        server_address="api.internal",
        server_port=8080,
        status=404,
        error_type=None,
        duration_s=0.02,
    )

    assert _series(m, "http_client_request_duration_seconds") == [
        {
            "error_type": "404",
            "http_request_method": "GET",
            "http_response_status_code": "404",
            "server_address": "api.internal",
            "server_port": "8080",
        }
    ]


def test_scanners_add_at_most_one_series_per_metric() -> None:
    """5,000 random 404 paths and 5,000 distinct IDs add one series each (the route decides)."""
    m = Metrics(limit=2000)
    _server(m)
    rng = random.Random(7)

    for _ in range(5000):  # an unmatched path: the adapter has no route template to give
        _server(m, route=None, status=404, duration_s=rng.random())
    for _ in range(5000):  # /items/<random id>: the route is the template
        _server(m, duration_s=rng.random())

    series = _series(m, "http_server_request_duration_seconds")
    assert len(series) == 2


def test_past_the_cap_one_overflow_series_and_a_counter() -> None:
    """With a cap of 10, 50 distinct routes make 10 series, one overflow series, a count of 40."""
    m = Metrics(limit=10)

    for i in range(50):
        _server(m, route=f"/r{i}")

    series = _series(m, "http_server_request_duration_seconds")
    assert len(series) == 11
    assert {"otel_metric_overflow": "true"} in series
    overflow = _families(m)["msatrace_metrics_overflow"]
    assert [(s.labels, s.value) for s in overflow.samples if s.name.endswith("_total")] == [  # type: ignore[attr-defined]
        ({"msatrace_metric_name": "http.server.request.duration"}, 40.0)
    ]


def test_openmetrics_has_the_exemplar_of_a_sampled_request() -> None:
    """The bucket of a sampled request carries its trace and span IDs (strict parser)."""
    m = Metrics(limit=2000)

    _server(m, trace_id=TRACE_ID, span_id=SPAN_ID, sampled=True)
    _server(m, route="/other", trace_id=TRACE_ID + 1, span_id=SPAN_ID, sampled=False)

    fam = _families(m)["http_server_request_duration_seconds"]
    exemplars = [s.exemplar for s in fam.samples if s.exemplar]  # type: ignore[attr-defined]
    assert [(e.labels, e.value) for e in exemplars] == [
        ({"trace_id": f"{TRACE_ID:032x}", "span_id": f"{SPAN_ID:016x}"}, 0.012)
    ]


def test_content_negotiation() -> None:
    """Text by default and for text/plain; OpenMetrics (with # EOF) when the scraper asks."""
    m = Metrics(limit=2000)
    _server(m)

    plain = m.respond(None)
    om = m.respond("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")

    assert dict(plain[1])["Content-Type"].startswith("text/plain; version=0.0.4")
    assert b"# EOF" not in plain[2]
    assert dict(om[1])["Content-Type"].startswith("application/openmetrics-text")
    assert om[2].endswith(b"# EOF\n")


def test_text_exposition_passes_promtool_without_a_lint_line() -> None:
    """Every family, overflow included, passes ``promtool check metrics`` with no output."""
    promtool = shutil.which("promtool")
    require("promtool", promtool is not None)
    assert promtool is not None
    m = Metrics(limit=3, resource={"service.name": "orders", "service.version": "1.0"})
    for i in range(5):
        _server(
            m,
            route=f"/r{i}",
            status=500 if i == 2 else 200,
            trace_id=TRACE_ID,
            span_id=1,
            sampled=True,
        )
    m.recorder.active_requests(1, method="GET", scheme="https")
    m.recorder.record_client(
        method="POST",
        server_address="b",
        server_port=443,
        status=None,
        error_type="ConnectError",
        duration_s=1.5,
    )
    m.recorder.record_publish(
        operation="send", system="celery", destination="celery", error_type=None, duration_s=0.001
    )
    m.recorder.record_process(
        operation="process",
        system="celery",
        destination="celery",
        error_type="KeyError",
        duration_s=0.2,
    )
    m.recorder.record_task(name="send_mail", outcome="ok", error_type=None, duration_s=0.05)

    done = subprocess.run(
        [promtool, "check", "metrics"], input=m.respond(None)[2], capture_output=True, timeout=30
    )

    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")


def test_names_are_those_of_opentelemetrys_prometheus_exporter() -> None:
    """Golden: family names, label names and ``le`` values equal the OTel exporter's output."""
    need("opentelemetry.exporter.prometheus")
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
    from opentelemetry.sdk.resources import Resource
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from msatrace._core import semconv as sc

    reader = PrometheusMetricReader()
    resource = {sc.SERVICE_NAME: "orders", sc.SERVICE_VERSION: "1.0"}
    b = list(sc.DURATION_BUCKETS)
    # a View, not the advisory boundaries: those need SDK 1.28 (tests_min runs 1.27)
    buckets = View(instrument_name="*duration", aggregation=ExplicitBucketHistogramAggregation(b))
    provider = MeterProvider(metric_readers=[reader], resource=Resource(resource), views=[buckets])
    meter = provider.get_meter("golden")
    meter.create_histogram(
        sc.METRIC_HTTP_SERVER_DURATION,
        unit="s",
        description="d",
    ).record(
        0.01,
        {
            sc.HTTP_REQUEST_METHOD: "GET",
            sc.HTTP_ROUTE: "/a",
            sc.HTTP_RESPONSE_STATUS_CODE: 500,
            sc.URL_SCHEME: "http",
            sc.ERROR_TYPE: "500",
        },
    )
    meter.create_histogram(
        sc.METRIC_HTTP_CLIENT_DURATION,
        unit="s",
        description="d",
    ).record(
        0.01,
        {
            sc.HTTP_REQUEST_METHOD: "GET",
            sc.SERVER_ADDRESS: "h",
            sc.SERVER_PORT: 80,
            sc.HTTP_RESPONSE_STATUS_CODE: 503,
            sc.ERROR_TYPE: "503",
        },
    )
    meter.create_up_down_counter(
        sc.METRIC_HTTP_SERVER_ACTIVE, unit="{request}", description="d"
    ).add(1, {sc.HTTP_REQUEST_METHOD: "GET", sc.URL_SCHEME: "http"})
    registry = CollectorRegistry()
    registry.register(reader._collector)  # the reader's collector, not the global registry
    otel = text_string_to_metric_families(generate_latest(registry).decode())
    m = Metrics(limit=2000, resource=resource)
    _server(m, route="/a", status=500)
    m.recorder.record_client(
        method="GET",
        server_address="h",
        server_port=80,
        status=503,
        error_type=None,
        duration_s=0.01,
    )
    m.recorder.active_requests(1, method="GET", scheme="http")
    ours = text_string_to_metric_families(m.respond(None)[2].decode())
    scope = {"otel_scope_name", "otel_scope_version", "otel_scope_schema_url"}

    def shape(families: object) -> dict[str, set[tuple[str, tuple[str, ...]]]]:
        return {
            f.name: {(s.name, tuple(sorted(set(s.labels) - scope))) for s in f.samples}
            | {("le", (s.labels["le"],)) for s in f.samples if "le" in s.labels}
            for f in families  # type: ignore[attr-defined]
        }

    provider.shutdown()
    assert shape(ours) == shape(otel)


def test_metrics_off_builds_nothing(env: pytest.MonkeyPatch) -> None:
    """metrics_exporter none: build() returns None (otlp: tests/metrics/test_otlp.py)."""
    assert build(resolve({"metrics_exporter": "none"})) is None
    assert build(resolve({}, {"OTEL_METRICS_EXPORTER": "none"})) is None
    assert build(resolve({}, {})) is not None


def test_separate_port_serves_the_path_only() -> None:
    """The port server answers the metrics path (OpenMetrics on request), 404 elsewhere."""
    import urllib.error
    import urllib.request

    m = Metrics(limit=2000, address="127.0.0.1", port=0, path="/scrape")
    try:
        _server(m, trace_id=TRACE_ID, span_id=SPAN_ID, sampled=True)
        assert m.server is not None
        base = f"http://127.0.0.1:{m.server.port}"

        req = urllib.request.Request(
            base + "/scrape", headers={"Accept": "application/openmetrics-text"}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
        with pytest.raises(urllib.error.HTTPError) as other:
            urllib.request.urlopen(base + "/metrics", timeout=10)
        other.value.close()
    finally:
        m.close()

    assert b"http_server_request_duration_seconds_bucket" in body
    assert f"{TRACE_ID:032x}".encode() in body
    assert other.value.code == 404


def test_a_port_in_use_is_a_config_error() -> None:
    """metrics_port on a port another socket holds fails with ConfigError naming it."""
    import socket

    from msatrace.exceptions import ConfigError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]

        with pytest.raises(ConfigError, match=f"metrics_port={port}"):
            Metrics(limit=10, address="127.0.0.1", port=port)


def test_metrics_dir_falls_back_to_prometheus_multiproc_dir() -> None:
    """PROMETHEUS_MULTIPROC_DIR is read when MSATRACE_METRICS_DIR is unset."""
    d = tempfile.mkdtemp()

    settings = resolve({}, {"PROMETHEUS_MULTIPROC_DIR": d})

    assert settings.metrics_dir == d
    os.rmdir(d)


def test_an_id_of_another_shape_gives_no_exemplar_and_the_scrape_still_works() -> None:
    """A trace ID that is not 32 hex digits is left out; the exposition stays valid."""
    parser = need("prometheus_client.openmetrics.parser")
    m = Metrics(limit=2000)

    _server(m, trace_id="x" * 200, span_id="y", sampled=True)

    text = m.respond("application/openmetrics-text")[2].decode()
    fam = {f.name: f for f in parser.text_string_to_metric_families(text)}[
        "http_server_request_duration_seconds"
    ]
    assert not [s for s in fam.samples if s.exemplar]


def test_the_alert_rules_read_the_names_the_exposition_writes() -> None:
    """Every metric and label the generated task and HTTP rules read is one the exposition writes
    (a task failure-ratio alert reading `task_name` never fired on `msatrace_task_name`)."""
    from msatrace._alerting import names

    m = Metrics(limit=2000)
    _server(m, status=500, error_type="500")
    m.recorder.record_task(name="send", outcome="failure", error_type="ValueError", duration_s=0.1)

    server = _series(m, names.HTTP_SERVER_DURATION)
    task = _series(m, names.TASK_DURATION)
    assert {names.METHOD, names.ROUTE, names.STATUS, names.ERROR_TYPE} <= server[0].keys()
    assert task == [
        {names.TASK_NAME: "send", names.OUTCOME: names.OUTCOME_FAILURE, "error_type": "ValueError"}
    ]


def test_a_request_that_was_active_takes_itself_back_from_the_gauge() -> None:
    """``record_server(was_active=True)`` (the outcome step's one call per request) returns
    ``http.server.active_requests`` to where the begin hook found it, under the same normalised
    method, and records the duration; without it the gauge is left alone."""
    m = Metrics(limit=2000)
    rec = m.recorder
    rec.active_requests(1, method="BREW", scheme="http")
    rec.active_requests(1, method="GET", scheme="http")

    _server(m, method="BREW", was_active=True)
    _server(m, method="GET")

    assert rec.snapshot().gauges["http.server.active_requests"] == {
        ("_OTHER", "http"): 0.0,
        ("GET", "http"): 1.0,
    }
    counts = {
        k[0]: sum(s.counts)
        for k, s in rec.snapshot().histograms["http.server.request.duration"].items()
    }
    assert counts == {"_OTHER": 1, "GET": 1}
