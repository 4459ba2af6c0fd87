"""Public test kit: capture log events and spans in process, and receive OTLP/HTTP from servers.

    with msatrace.testing.capture_logs() as events:
        log.info("hello")
    assert events[0]["event"] == "hello"

``capture_spans()`` records finished spans of the provider msatrace installed. ``OTLPReceiver`` is a
small OTLP/HTTP (protobuf) traces receiver on 127.0.0.1 for tests and demos whose spans come from
other processes; it needs ``opentelemetry-proto`` (the ``otlp`` extra).
"""

from __future__ import annotations

import gzip
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from msatrace._core import runtime, safety
from msatrace._core.logs import builder, render
from msatrace._core.semconv import SERVICE_NAME

_T = TypeVar("_T")

__all__ = [
    "OTLPReceiver",
    "ReceivedPoint",
    "ReceivedSpan",
    "capture_logs",
    "capture_spans",
    "strict_guards",
]


@contextmanager
def capture_logs() -> Iterator[list[dict[str, Any]]]:
    """Collect every log event (structlog and stdlib) as dicts instead of writing lines."""
    events: list[dict[str, Any]] = []
    previous = builder.set_output(render.Output(captured=events))
    try:
        yield events
    finally:
        builder.set_output(previous)


class _Forwarder(SpanProcessor):
    """Hands each ended span to the exporters of the ``capture_spans()`` blocks running now.

    The SDK has no way to remove a span processor from a provider, so each provider gets one of
    these, once, and a block adds and removes its exporter here: nothing is left behind on the
    provider when a block ends (a shut-down processor would warn on every later span).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._exporters: tuple[SpanExporter, ...] = ()

    def add(self, exporter: SpanExporter) -> None:
        with self._lock:
            self._exporters = (*self._exporters, exporter)

    def remove(self, exporter: SpanExporter) -> None:
        with self._lock:
            self._exporters = tuple(e for e in self._exporters if e is not exporter)

    def on_end(self, span: ReadableSpan) -> None:
        if span.context is None or not span.context.trace_flags.sampled:
            return  # as SimpleSpanProcessor: recorded but not sampled is not exported
        spans: Sequence[ReadableSpan] = (span,)
        for exporter in self._exporters:
            exporter.export(spans)


_forwarders: weakref.WeakKeyDictionary[TracerProvider, _Forwarder] = weakref.WeakKeyDictionary()
_forwarders_lock = threading.Lock()


def _forwarder(provider: TracerProvider) -> _Forwarder:
    with _forwarders_lock:
        forwarder = _forwarders.get(provider)
        if forwarder is None:
            forwarder = _forwarders[provider] = _Forwarder()
            provider.add_span_processor(forwarder)
        return forwarder


@contextmanager
def capture_spans() -> Iterator[InMemorySpanExporter]:
    """Record every span ended while the block runs; ``.get_finished_spans()`` returns them.

    Needs ``msatrace.init()`` with tracing on (the default). Blocks may nest; each records the
    spans ended while it runs, and leaves the provider as it found it.
    """
    rt = runtime.current()
    provider = rt.tracing.provider if rt is not None else None
    if not isinstance(provider, TracerProvider):
        raise RuntimeError("capture_spans() needs msatrace.init() with tracing on")
    exporter = InMemorySpanExporter()
    forwarder = _forwarder(provider)
    forwarder.add(exporter)
    try:
        yield exporter
    finally:
        forwarder.remove(exporter)


@contextmanager
def strict_guards() -> Iterator[None]:
    """Make msatrace's internal guards re-raise instead of warning (for test suites)."""
    previous = safety.set_strict(True)
    try:
        yield
    finally:
        safety.set_strict(previous)


@dataclass
class ReceivedSpan:
    """A span as an OTLP receiver saw it, IDs in lowercase hex."""

    service: str
    name: str
    kind: str
    trace_id: str
    span_id: str
    parent_span_id: str | None
    start_ns: int
    end_ns: int
    status: str
    attributes: dict[str, Any] = field(default_factory=dict)
    links: list[tuple[str, str]] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class ReceivedPoint:
    """One data point of a metric as an OTLP receiver saw it (the latest export wins).

    ``count``, ``sum`` and ``bucket_counts`` for a histogram, ``value`` for a sum or gauge;
    ``exemplar_trace_ids`` in lowercase hex.
    """

    service: str
    instance: str
    name: str
    unit: str
    attributes: dict[str, Any]
    count: int = 0
    sum: float = 0.0
    bucket_counts: list[int] = field(default_factory=list)
    explicit_bounds: list[float] = field(default_factory=list)
    value: float = 0.0
    exemplar_trace_ids: list[str] = field(default_factory=list)


def decode_metrics(body: bytes) -> list[ReceivedPoint]:
    """Decode an OTLP ``ExportMetricsServiceRequest`` (protobuf) into data points."""
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )

    points: list[ReceivedPoint] = []
    for resource, rm in _resources(ExportMetricsServiceRequest(), body, "resource_metrics"):
        service = str(resource.get(SERVICE_NAME, ""))
        instance = str(resource.get("service.instance.id", ""))
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                for p in getattr(m, kind).data_points if kind else ():
                    point = ReceivedPoint(
                        service,
                        instance,
                        m.name,
                        m.unit,
                        _attributes(p.attributes),
                    )
                    if kind == "histogram":
                        point.count, point.sum = p.count, p.sum
                        point.bucket_counts = list(p.bucket_counts)
                        point.explicit_bounds = list(p.explicit_bounds)
                    else:
                        point.value = p.as_double if p.HasField("as_double") else p.as_int
                    point.exemplar_trace_ids = [e.trace_id.hex() for e in p.exemplars]
                    points.append(point)
    return points


_KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
_STATUS = {0: "UNSET", 1: "OK", 2: "ERROR"}


def _resources(request: Any, body: bytes, field: str) -> Iterator[tuple[dict[str, Any], Any]]:
    """Each resource of an OTLP export ``request`` parsed from ``body``: its attributes, and the
    ``field`` entry (``resource_spans``, ``resource_metrics``) that holds its scopes."""
    request.ParseFromString(body)
    for entry in getattr(request, field):
        yield _attributes(entry.resource.attributes), entry


def _attributes(attributes: Any) -> dict[str, Any]:
    return {a.key: _value(a.value) for a in attributes}


def _value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    if kind is None:
        return None
    return getattr(v, kind)


def decode_traces(body: bytes) -> list[ReceivedSpan]:
    """Decode an OTLP ``ExportTraceServiceRequest`` (protobuf) into spans."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    spans: list[ReceivedSpan] = []
    for resource, rs in _resources(ExportTraceServiceRequest(), body, "resource_spans"):
        service = str(resource.get(SERVICE_NAME, ""))
        for ss in rs.scope_spans:
            for s in ss.spans:
                spans.append(
                    ReceivedSpan(
                        service=service,
                        name=s.name,
                        kind=_KINDS.get(s.kind, str(s.kind)),
                        trace_id=s.trace_id.hex(),
                        span_id=s.span_id.hex(),
                        parent_span_id=s.parent_span_id.hex() or None,
                        start_ns=s.start_time_unix_nano,
                        end_ns=s.end_time_unix_nano,
                        status=_STATUS.get(s.status.code, str(s.status.code)),
                        attributes=_attributes(s.attributes),
                        links=[(lk.trace_id.hex(), lk.span_id.hex()) for lk in s.links],
                        events=[(e.name, _attributes(e.attributes)) for e in s.events],
                    )
                )
    return spans


class OTLPReceiver:
    """An OTLP/HTTP traces and metrics receiver on 127.0.0.1, run in a background thread.

    ``endpoint`` is the URL to give ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``; ``spans`` lists what
    arrived so far; ``wait_for(predicate)`` polls until the predicate holds or the timeout passes.
    Metrics (``/v1/metrics``) arrive in ``metrics``: the data points of every export, in order.
    """

    def __init__(self, port: int = 0) -> None:
        self.spans: list[ReceivedSpan] = []
        self.metrics: list[ReceivedPoint] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                try:
                    spans = decode_traces(body) if self.path.endswith("/v1/traces") else []
                    points = decode_metrics(body) if self.path.endswith("/v1/metrics") else []
                except Exception:
                    self.send_response(400)
                    self.end_headers()
                    return
                with receiver._changed:
                    receiver.spans.extend(spans)
                    receiver.metrics.extend(points)
                    receiver._changed.notify_all()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the receiver is part of the test harness."""

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        """The traces URL, e.g. ``http://127.0.0.1:4318/v1/traces``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1/traces"

    @property
    def base_endpoint(self) -> str:
        """The base URL, for ``OTEL_EXPORTER_OTLP_ENDPOINT``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> OTLPReceiver:
        """Start serving in a daemon thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> OTLPReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_for(self, predicate: Any, timeout: float = 15.0) -> list[ReceivedSpan]:
        """Wait until ``predicate(spans)`` is true; return the spans (raises on timeout)."""
        return self._wait(
            self.spans, predicate, timeout, "spans never satisfied the predicate; got"
        )

    def wait_for_metrics(self, predicate: Any, timeout: float = 15.0) -> list[ReceivedPoint]:
        """Wait until ``predicate(points)`` is true; return the points (raises on timeout)."""
        return self._wait(
            self.metrics, predicate, timeout, "metrics never satisfied the predicate;"
        )

    def _wait(self, items: list[_T], predicate: Any, timeout: float, what: str) -> list[_T]:
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(list(items)), timeout):
                raise TimeoutError(f"{what} {len(items)}")
            return list(items)

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        """Spans of one trace, in start order."""
        with self._lock:
            return sorted(
                (s for s in self.spans if s.trace_id == trace_id), key=lambda s: s.start_ns
            )

    def clear(self) -> None:
        """Forget every span received so far."""
        with self._lock:
            self.spans.clear()


def finished(spans: list[ReadableSpan]) -> list[ReadableSpan]:
    """Spans sorted by start time (helper for in-process assertions)."""
    return sorted(spans, key=lambda s: s.start_time or 0)
