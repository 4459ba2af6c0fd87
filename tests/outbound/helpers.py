"""Small helpers shared by the outbound tests: parse what the server saw, find spans."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind


def traceparent_ids(value: str | None) -> tuple[str, str]:
    """(trace ID, parent span ID) of a traceparent header value."""
    assert value is not None, "no traceparent received"
    _version, trace_id, span_id, _flags = value.split("-")
    return trace_id, span_id


def client_spans(spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
    """The CLIENT spans, in start order."""
    found = [s for s in spans if s.kind is SpanKind.CLIENT]
    return sorted(found, key=lambda s: s.start_time or 0)


def hex_ids(span: ReadableSpan) -> tuple[str, str]:
    """(trace ID, span ID) of a finished span as lowercase hex."""
    ctx = span.get_span_context()
    assert ctx is not None
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


def parent_hex(span: ReadableSpan) -> str | None:
    """The parent span ID of a finished span as lowercase hex, or None for a root."""
    return format(span.parent.span_id, "016x") if span.parent is not None else None
