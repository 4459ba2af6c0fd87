"""With OpenTelemetry's own requests/httpx instrumentation enabled too: one span, one header set."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import requests
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.sdk.trace import ReadableSpan

import msatrace
from msatrace import testing
from tests.outbound.conftest import EchoServer
from tests.outbound.helpers import client_spans, hex_ids, traceparent_ids


def _scope(span: ReadableSpan) -> str:
    scope = span.instrumentation_scope
    return scope.name if scope is not None else ""


@pytest.fixture
def otel_requests() -> Iterator[RequestsInstrumentor]:
    """OpenTelemetry's requests instrumentor, removed after the test (after msatrace's patch)."""
    instrumentor = RequestsInstrumentor()
    try:
        yield instrumentor
    finally:
        msatrace.shutdown()  # ours first: OpenTelemetry restores what it saw when it patched
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()


@pytest.fixture
def otel_httpx() -> Iterator[HTTPXClientInstrumentor]:
    """OpenTelemetry's httpx instrumentor, removed after the test."""
    instrumentor = HTTPXClientInstrumentor()
    try:
        yield instrumentor
    finally:
        msatrace.shutdown()
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()


def test_requests_instrumented_before_init(
    env: pytest.MonkeyPatch, echo: EchoServer, otel_requests: RequestsInstrumentor
) -> None:
    """OpenTelemetry's requests instrumentation enabled before init(): one span, one traceparent."""
    otel_requests.instrument()
    msatrace.init(log_format="json")

    with testing.capture_spans() as exporter:
        requests.get(echo.url + "/echo", timeout=10)

    (span,) = client_spans(exporter.get_finished_spans())
    assert getattr(requests.Session.send, "opentelemetry_instrumentation_requests_applied", False)
    assert _scope(span) == "msatrace"  # ours is the outer wrapper; OpenTelemetry's stood aside
    assert len(echo.only().all("traceparent")) == 1
    assert traceparent_ids(echo.only().get("traceparent")) == hex_ids(span)


def test_requests_instrumented_after_init(
    env: pytest.MonkeyPatch, echo: EchoServer, otel_requests: RequestsInstrumentor
) -> None:
    """OpenTelemetry's requests instrumentation enabled after init(): one span, one traceparent."""
    msatrace.init(log_format="json")
    otel_requests.instrument()

    with testing.capture_spans() as exporter:
        requests.get(echo.url + "/echo", timeout=10)

    (span,) = client_spans(exporter.get_finished_spans())
    assert (
        _scope(span) == "opentelemetry.instrumentation.requests"
    )  # theirs is outer: we stand aside
    assert len(echo.only().all("traceparent")) == 1
    assert traceparent_ids(echo.only().get("traceparent")) == hex_ids(span)


def test_httpx_instrumented_too(
    env: pytest.MonkeyPatch, echo: EchoServer, otel_httpx: HTTPXClientInstrumentor
) -> None:
    """OpenTelemetry's httpx instrumentation enabled as well: one span, one traceparent."""
    otel_httpx.instrument()
    msatrace.init(log_format="json")

    with testing.capture_spans() as exporter, httpx.Client() as client:
        client.get(echo.url + "/echo")

    (span,) = client_spans(exporter.get_finished_spans())
    assert len(echo.only().all("traceparent")) == 1
    assert traceparent_ids(echo.only().get("traceparent")) == hex_ids(span)


def test_httpx_client_instrumented_too(
    env: pytest.MonkeyPatch, echo: EchoServer, otel_httpx: HTTPXClientInstrumentor
) -> None:
    """A client instrumented with instrument_client(): one span, one traceparent."""
    msatrace.init(log_format="json")

    with testing.capture_spans() as exporter, httpx.Client() as client:
        otel_httpx.instrument_client(client)
        client.get(echo.url + "/echo")
        otel_httpx.uninstrument_client(client)

    (span,) = client_spans(exporter.get_finished_spans())
    assert len(echo.only().all("traceparent")) == 1
    assert traceparent_ids(echo.only().get("traceparent")) == hex_ids(span)
