"""Outbound: per-call cost of client patches, ``GET`` on loopback to a server in another process.

The server (``_http_server.py``) answers ``200 ok`` on a keep-alive connection; its URL comes in
``BENCH_URL``. Each variant calls it with ``requests.Session().get`` and ``httpx.Client().get``
(one session/client per variant, reused: connection pooling as in production), inside an active
server span with a request ID bound, as a request handler would.

Groups (one process each, because every patch is global): ``unpatched``, plus its
``unpatched+headers`` variants (the unpatched client given ``traceparent``, ``X-Trace-ID`` and
``X-Request-ID`` by the caller on every call: what three headers cost on the wire with that
client); ``msatrace-span`` (``msatrace.init()`` patches both clients: client span + trace
headers); ``msatrace-off`` (``tracing=False``: trace headers, no span), which also times
``bridge:msatrace-off``, one stdlib INFO record shaped like httpx's through msatrace's bridge;
``otel`` (OpenTelemetry's ``RequestsInstrumentor`` and ``HTTPXClientInstrumentor``). Spans go to a
``BatchSpanProcessor`` whose exporter drops them.

Every variant runs with the ``httpx`` logger at WARNING. ``msatrace.init()`` sets the root logger
to INFO, which would let httpx write its own ``HTTP Request: ...`` INFO line on every call through
msatrace's JSON bridge while the other variants log nothing: a logging cost, not an
instrumentation cost (``bridge:msatrace-off`` shows its size).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from _harness import Batch
from _setup import noop_exporter as _noop_exporter

UNAVAILABLE: dict[str, str] = {}
GROUPS = ["unpatched", "msatrace-span", "msatrace-off", "otel"]
# What unpatched+headers sends on every call: the names and sizes msatrace writes.
MANUAL_HEADERS = {
    "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "X-Trace-ID": "4bf92f3577b34da6a3ce929d0e0e4736",
    "X-Request-ID": "3f1c2a9e-bench",
}


def build(group: str) -> dict[str, Batch]:
    url = os.environ["BENCH_URL"]
    if group.startswith("msatrace"):
        in_request = _msatrace(group)
    elif group == "otel":
        in_request = _otel()
    else:
        in_request = nullcontext
    if not group.startswith("msatrace"):
        logging.getLogger("httpx").setLevel(logging.WARNING)  # as msatrace's log_levels below
    import httpx
    import requests

    session = requests.Session()
    client = httpx.Client()
    calls: dict[str, Callable[[], Any]] = {
        f"requests:{group}": lambda: session.get(url),
        f"httpx:{group}": lambda: client.get(url),
    }
    if group == "unpatched":
        calls["requests:unpatched+headers"] = lambda: session.get(url, headers=MANUAL_HEADERS)
        calls["httpx:unpatched+headers"] = lambda: client.get(url, headers=MANUAL_HEADERS)
    variants: dict[str, Batch] = {}
    for name, call in calls.items():
        with in_request():
            response = call()
        saw = response.headers["x-saw-traceparent"]
        expect = "0" if name.endswith(":unpatched") else "1"
        if response.status_code != 200 or saw != expect:
            raise RuntimeError(f"{name}: status {response.status_code}, traceparent seen {saw}")
        variants[name] = _batch(call, in_request)
    if group == "msatrace-off":
        variants["bridge:msatrace-off"] = _batch(_httpx_like_record, in_request)
    return variants


def _httpx_like_record() -> None:
    # httpx's own line (httpx._client: logger.info('HTTP Request: %s %s "%s %d %s"', ...)), on a
    # logger left at INFO, so it goes through msatrace's stdlib bridge to stdout.
    logging.getLogger("bench.bridge").info(
        'HTTP Request: %s %s "%s %d %s"', "GET", "http://127.0.0.1/orders/42", "HTTP/1.1", 200, "OK"
    )


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


def _msatrace(group: str) -> Callable[[], AbstractContextManager[Any]]:
    from contextlib import contextmanager

    from opentelemetry import trace

    import msatrace
    from msatrace._core import runtime
    from msatrace._core.trace import context

    msatrace.init(
        service_name="bench",
        environment="production",
        log_level="INFO",
        log_levels={"httpx": "WARNING"},  # no httpx "HTTP Request" line: see the docstring
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
        from msatrace._core.spans import tracing

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
