"""Outbound: per-call cost of client patches, ``GET`` on loopback to a server in another process.

The server (``_http_server.py``) answers ``200 ok`` on a keep-alive connection; its URL comes in
``BENCH_URL``. Each variant calls it with ``requests.Session().get`` and ``httpx.Client().get``
(one session/client per variant, reused: connection pooling as in production), inside an active
server span with a request ID bound, as a request handler would.

Groups (one process each, because every patch is global): ``unpatched``; ``msatrace-span``
(``msatrace.init()`` patches both clients: client span + trace headers); ``msatrace-off``
(``tracing=False``: trace headers, no span); ``otel`` (OpenTelemetry's ``RequestsInstrumentor``
and ``HTTPXClientInstrumentor``). Spans go to a ``BatchSpanProcessor`` whose exporter drops them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from _harness import Batch

UNAVAILABLE: dict[str, str] = {}
GROUPS = ["unpatched", "msatrace-span", "msatrace-off", "otel"]


def build(group: str) -> dict[str, Batch]:
    url = os.environ["BENCH_URL"]
    if group.startswith("msatrace"):
        in_request = _msatrace(group)
    elif group == "otel":
        in_request = _otel()
    else:
        in_request = nullcontext
    import httpx
    import requests

    session = requests.Session()
    client = httpx.Client()
    calls: dict[str, Callable[[], Any]] = {
        f"requests:{group}": lambda: session.get(url),
        f"httpx:{group}": lambda: client.get(url),
    }
    expect = "1" if group != "unpatched" else "0"
    variants: dict[str, Batch] = {}
    for name, call in calls.items():
        with in_request():
            response = call()
        saw = response.headers["x-saw-traceparent"]
        if response.status_code != 200 or saw != expect:
            raise RuntimeError(f"{name}: status {response.status_code}, traceparent seen {saw}")
        variants[name] = _batch(call, in_request)
    return variants


def _batch(call: Callable[[], Any], in_request: Callable[[], AbstractContextManager[Any]]) -> Batch:
    import time

    def batch(n: int) -> int:
        with in_request():
            perf = time.perf_counter_ns
            start = perf()
            for _ in range(n):
                call()
            return perf() - start

    return batch


def _noop_exporter() -> Any:
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class Noop(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    return Noop()


def _msatrace(group: str) -> Callable[[], AbstractContextManager[Any]]:
    from contextlib import contextmanager

    from opentelemetry import trace

    import msatrace
    from msatrace._core import context, runtime

    msatrace.init(
        service_name="bench",
        environment="production",
        log_level="INFO",
        traces_exporter="none",
        patch=["httpx", "requests"],
        tracing=group != "msatrace-off",
    )
    rt = runtime.current()
    assert rt is not None
    if rt.tracing.tracer is not None:
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        rt.tracing.provider.add_span_processor(BatchSpanProcessor(_noop_exporter()))  # type: ignore[union-attr]
        span = rt.tracing.tracer.start_span("GET /orders/{order_id}", kind=trace.SpanKind.SERVER)
    else:
        from msatrace._core import tracing

        span = tracing.start_span(rt.tracing, "GET", trace.SpanKind.SERVER, None)

    @contextmanager
    def in_request() -> Any:
        token = context.start_scope({"request_id": "3f1c2a9e-bench"})
        try:
            with trace.use_span(span):
                yield
        finally:
            context.end_scope(token)

    return in_request


def _otel() -> Callable[[], AbstractContextManager[Any]]:
    from opentelemetry import trace
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
    provider.add_span_processor(BatchSpanProcessor(_noop_exporter()))
    trace.set_tracer_provider(provider)
    RequestsInstrumentor().instrument(tracer_provider=provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    span = provider.get_tracer("bench").start_span("GET /orders/{order_id}")
    return lambda: trace.use_span(span)
