"""RedactingSpanExporter on a real SDK TracerProvider: what leaves the process holds no PII."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, Status, StatusCode

from msatrace._core.redact.engine import Redactor
from msatrace._core.redact.spans import RedactingSpanExporter

PII = ("kim.minsu@example.com", "010-1234-5678", "hunter2pw", "4111 1111 1111 1111", "s3cr3tT0ken")


@pytest.fixture
def pipeline() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(RedactingSpanExporter(memory, Redactor())))
    yield provider, memory
    provider.shutdown()


def _make_span(provider: TracerProvider) -> None:
    tracer = provider.get_tracer("other.instrumentation")
    other = tracer.start_span("linked")
    other.end()
    link = Link(other.get_span_context(), {"note": "for kim.minsu@example.com"})
    with tracer.start_as_current_span("GET /users", links=[link]) as span:
        span.set_attribute("url.full", "https://bob:hunter2pw@api.example.com/u?token=s3cr3tT0ken")
        span.set_attribute("url.query", "token=s3cr3tT0ken&page=2")
        span.set_attribute("http.request.header.authorization", ("Bearer s3cr3tT0ken",))
        span.set_attribute("enduser.phone", "010-1234-5678")
        span.set_attribute("http.response.status_code", 500)
        span.add_event("checkout", {"card": "4111 1111 1111 1111"})
        span.record_exception(ValueError("no user kim.minsu@example.com"))
        span.set_status(Status(StatusCode.ERROR, "card 4111 1111 1111 1111 declined"))


def test_attributes_events_status_and_links_are_redacted(
    pipeline: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    """Every text a span carries reaches the exporter redacted; numbers and names stay."""
    provider, memory = pipeline

    _make_span(provider)

    span = next(s for s in memory.get_finished_spans() if s.name == "GET /users")
    assert span.attributes["url.full"] == (
        "https://[REDACTED:url_credentials]@api.example.com/u?token=[REDACTED:token]"
    )
    assert span.attributes["url.query"] == "token=[REDACTED:token]&page=2"
    assert span.attributes["http.request.header.authorization"] == "[REDACTED:auth]"
    assert span.attributes["enduser.phone"] == "[REDACTED:phone]"
    assert span.attributes["http.response.status_code"] == 500
    assert span.events[0].attributes == {"card": "[REDACTED:card]"}
    assert span.events[1].attributes["exception.message"] == "no user [REDACTED:email]"
    assert "kim.minsu" not in span.events[1].attributes["exception.stacktrace"]
    assert span.status.description == "card [REDACTED:card] declined"
    assert span.links[0].attributes == {"note": "for [REDACTED:email]"}
    assert span.context == span.context
    assert span.name == "GET /users"


def test_the_otlp_payload_holds_no_personal_data(
    pipeline: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    """The OTLP protobuf encoding of the exported spans contains none of the values."""
    provider, memory = pipeline

    _make_span(provider)

    payload = encode_spans(memory.get_finished_spans()).SerializeToString()
    assert [p for p in PII if p.encode() in payload] == []
    assert b"[REDACTED:email]" in payload


def test_a_span_without_personal_data_is_exported_as_it_is() -> None:
    """Nothing to redact: the wrapped exporter receives the very span object it was given."""
    memory, received = InMemorySpanExporter(), InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("t").start_as_current_span("plain") as span:
        span.set_attribute("http.route", "/items/{id}")
        span.add_event("cache miss", {"key.count": 3})
    provider.shutdown()
    original = memory.get_finished_spans()[0]

    RedactingSpanExporter(received, Redactor()).export([original])

    assert received.get_finished_spans()[0] is original


def test_dropped_counts_survive_the_copy() -> None:
    """A span that dropped attributes still says so after redaction."""
    from opentelemetry.sdk.trace import SpanLimits

    memory = InMemorySpanExporter()
    provider = TracerProvider(span_limits=SpanLimits(max_span_attributes=2))
    provider.add_span_processor(SimpleSpanProcessor(RedactingSpanExporter(memory, Redactor())))
    with provider.get_tracer("t").start_as_current_span("s") as span:
        for i in range(4):
            span.set_attribute(f"a{i}", f"kim{i}@example.com")

    provider.shutdown()
    out = memory.get_finished_spans()[0]
    assert out.dropped_attributes == 2
    assert set(out.attributes.values()) == {"[REDACTED:email]"}


def test_shutdown_and_flush_reach_the_wrapped_exporter() -> None:
    """shutdown() and force_flush() are passed on."""
    memory = InMemorySpanExporter()
    wrapper = RedactingSpanExporter(memory, Redactor())

    flushed = wrapper.force_flush(10)
    wrapper.shutdown()

    assert flushed is True
    assert memory._stopped


def test_msatrace_s_own_lean_spans_are_redacted() -> None:
    """Spans of msatrace's LeanTracer (requests, calls, tasks) go through the same wrapper."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import SpanLimits, SynchronousMultiSpanProcessor
    from opentelemetry.trace import SpanKind

    from msatrace._core.spans.lean import LeanTracer
    from msatrace._core.spans.tracing import decider

    memory = InMemorySpanExporter()
    processors = SynchronousMultiSpanProcessor()  # type: ignore[no-untyped-call]
    processors.add_span_processor(SimpleSpanProcessor(RedactingSpanExporter(memory, Redactor())))
    tracer = LeanTracer(
        Resource.create({}), processors, SpanLimits(), decider("always_on", 1.0, 0), "msatrace", "0"
    )

    span = tracer.start_span("GET /login", kind=SpanKind.SERVER)
    span.set_attribute("url.full", "http://h/login?password=hunter2pw&next=%2F")
    span.record_exception(RuntimeError("bad login for kim.minsu@example.com"))
    span.end()

    out = memory.get_finished_spans()[0]
    assert out.attributes["url.full"] == "http://h/login?password=[REDACTED:password]&next=%2F"
    assert out.events[0].attributes["exception.message"] == "bad login for [REDACTED:email]"
