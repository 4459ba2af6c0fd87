"""The lean tracer and the SDK tracer give byte-identical OTLP spans (issue 14).

Both tracers run the same script over one provider, with the same fixed IDs (one deterministic
source feeds the SDK's ID generator and the lean tracer's random bits) and fixed times; what each
exported is encoded by OpenTelemetry's own OTLP encoder and the protobuf bytes compared.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import (
    ReadableSpan,
    SpanLimits,
    SynchronousMultiSpanProcessor,
    TracerProvider,
    sampling,
)
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
)
from tests.conftest import need

from msatrace._core.spans import lean
from msatrace._core.spans.lean import LeanTracer, decider

encoder = need("opentelemetry.exporter.otlp.proto.common.trace_encoder")

T0 = 1_700_000_000_000_000_000  # fixed clock: every start, event and end is T0 + n µs


class Ids:
    """A deterministic stand-in for ``random.getrandbits``: 1, 2, 3, ... within ``bits``."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, bits: int) -> int:
        self.n += 1
        return (self.n * 0x9E3779B97F4A7C15) & ((1 << bits) - 1) or 1


class FixedIds(IdGenerator):
    """The SDK's ID generator over the same deterministic source."""

    def __init__(self, source: Ids) -> None:
        self.source = source

    def generate_span_id(self) -> int:
        return self.source(64)

    def generate_trace_id(self) -> int:
        return self.source(128)

    def is_trace_id_random(self) -> bool:
        return True


class Tracers:
    """An SDK tracer and a lean tracer over one provider, each reached with fresh fixed IDs."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.ids = Ids()
        self.monkeypatch = monkeypatch
        processors = SynchronousMultiSpanProcessor()  # type: ignore[no-untyped-call]
        limits = SpanLimits(max_span_attributes=16, max_events=4, max_links=3)
        provider = TracerProvider(
            resource=Resource.create({"service.name": "otlp", "service.version": "1"}),
            sampler=sampling.ParentBased(sampling.ALWAYS_ON),
            id_generator=FixedIds(self.ids),
            span_limits=limits,
            active_span_processor=processors,
            shutdown_on_exit=False,
        )
        self.exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.sdk = provider.get_tracer("msatrace", "1.0")
        bound = sampling.TraceIdRatioBased.get_bound_for_rate(1.0)
        self.lean = LeanTracer(
            provider.resource,
            processors,
            limits,
            decider("parentbased_always_on", 1.0, bound),
            "msatrace",
            "1.0",
        )
        monkeypatch.setattr(lean, "_getrandbits", self.ids)

    def encoded(self, act: Callable[[trace.Tracer], None]) -> tuple[bytes, bytes]:
        """``act`` run by each tracer from the same IDs: the OTLP bytes of what each exported."""
        out = []
        for tracer in (self.sdk, self.lean):
            self.ids.n = 0
            act(tracer)
            spans: list[ReadableSpan] = list(self.exporter.get_finished_spans())
            self.exporter.clear()
            assert spans
            out.append(encoder.encode_spans(spans).SerializeToString(deterministic=True))
        return out[0], out[1]


@pytest.fixture
def tracers(monkeypatch: pytest.MonkeyPatch) -> Tracers:
    return Tracers(monkeypatch)


@pytest.fixture
def error() -> ValueError:
    try:
        raise ValueError("broken order 42")
    except ValueError as exc:
        return exc


def t(us: int) -> int:
    return T0 + us * 1000


def test_server_client_and_internal_spans_encode_to_the_same_bytes(
    tracers: Tracers, error: ValueError
) -> None:
    """A request's SERVER span, its CLIENT call and an INTERNAL task: identical OTLP protobuf."""
    remote = SpanContext(0xABC, 0xDEF, True, TraceFlags(1), TraceState([("vendor", "v1")]))
    incoming = trace.set_span_in_context(NonRecordingSpan(remote))
    linked = SpanContext(0x123, 0x456, True, TraceFlags(1))

    def act(tracer: trace.Tracer) -> None:
        server = tracer.start_span(
            "GET",
            incoming,
            SpanKind.SERVER,
            {"http.request.method": "GET", "url.path": "/orders/42", "server.port": 8000},
            [Link(linked, {"why": "edge"})],
            start_time=t(0),
        )
        server.update_name("GET /orders/{id}")
        client = tracer.start_span(
            "POST",
            trace.set_span_in_context(server),
            SpanKind.CLIENT,
            {"url.full": "http://pay/charge", "ratio": 0.5, "retry": False, "tags": ["a", "b"]},
            start_time=t(10),
        )
        client.set_attribute("http.response.status_code", 503)
        client.set_status(Status(StatusCode.ERROR, "503"))
        client.end(t(20))
        server.add_event("cache.miss", {"key": "order:42"}, t(25))
        server.record_exception(error, {"handled": True}, t(30))
        server.set_attributes({"http.response.status_code": 500, "error.type": "ValueError"})
        server.set_status(StatusCode.ERROR, "ValueError")
        server.add_link(SpanContext(0x777, 0x888, False), {"n": 1})
        server.end(t(40))
        task = tracer.start_span(
            "send_receipt", None, SpanKind.INTERNAL, {"n": 1}, start_time=t(50)
        )
        task.set_status(StatusCode.OK)
        task.set_status(StatusCode.ERROR)  # OK is final
        task.end(t(60))

    sdk, lean_bytes = tracers.encoded(act)

    assert b"GET /orders/{id}" in sdk
    assert b"broken order 42" in sdk
    assert lean_bytes == sdk


VALUES = st.one_of(
    st.text(max_size=12),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.booleans(),
    st.lists(st.text(max_size=4), max_size=3),
    st.lists(st.integers(0, 9), max_size=3),
    st.none(),
    st.lists(st.one_of(st.integers(), st.text(max_size=2)), max_size=2),  # mixed: dropped
)
ATTRS = st.dictionaries(st.sampled_from(["a", "b", "c", "d", "url.path", ""]), VALUES, max_size=5)
STATUS = st.sampled_from(
    [None, StatusCode.OK, StatusCode.ERROR, Status(StatusCode.ERROR, "why"), StatusCode.UNSET]
)


@contextmanager
def quiet() -> Iterator[None]:
    """The SDK warns about each invalid attribute value; so does the lean span: not shown."""
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(list(SpanKind)),
    remote_parent=st.booleans(),
    start=ATTRS,
    later=ATTRS,
    events=st.lists(ATTRS, max_size=6),
    links=st.lists(ATTRS, max_size=4),
    status=STATUS,
    exception=st.booleans(),
)
def test_any_span_encodes_to_the_same_bytes(
    kind: SpanKind,
    remote_parent: bool,
    start: dict[str, Any],
    later: dict[str, Any],
    events: list[dict[str, Any]],
    links: list[dict[str, Any]],
    status: Status | StatusCode | None,
    exception: bool,
) -> None:
    """Any kind, parent, attributes, events, links, status and exception: identical OTLP bytes."""
    with pytest.MonkeyPatch.context() as patch:
        tracers = Tracers(patch)
        parent = None
        if remote_parent:
            remote = SpanContext(0xAB, 0xCD, True, TraceFlags(1), TraceState([("k", "v")]))
            parent = trace.set_span_in_context(NonRecordingSpan(remote))

        def act(tracer: trace.Tracer) -> None:
            links_in = [Link(SpanContext(i + 1, i + 1, True), a) for i, a in enumerate(links)]
            span = tracer.start_span("op", parent, kind, start, links_in, start_time=t(0))
            for key, value in later.items():
                span.set_attribute(key, value)
            for i, attrs in enumerate(events):
                span.add_event(f"e{i}", attrs, t(i + 1))
            if exception:
                span.record_exception(KeyError("k"), timestamp=t(9))
            if status is not None:
                span.set_status(status)
            span.end(t(10))

        with quiet():
            sdk, lean_bytes = tracers.encoded(act)

    assert lean_bytes == sdk
