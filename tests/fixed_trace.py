"""The fixed trace the unit tests run in: its IDs, and a span with them made current."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"


@contextmanager
def fixed_trace() -> Iterator[None]:
    """Run the block inside a sampled span with ``TRACE_ID`` and ``SPAN_ID``."""
    sc = SpanContext(int(TRACE_ID, 16), int(SPAN_ID, 16), False, TraceFlags(1))
    with trace.use_span(NonRecordingSpan(sc)):
        yield
