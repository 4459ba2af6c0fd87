"""Canaries for the OpenTelemetry SDK names the lean tracer relies on (``spans/leanshape.py``).

One test per entry, each running the very check ``init()`` runs: a failure here names the entry
an upstream release changed. In production that change makes msatrace fall back to the SDK
tracer with one warning; here it fails the build.
"""

from __future__ import annotations

import logging

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, SynchronousMultiSpanProcessor, TracerProvider

from msatrace._core.spans import leanshape
from msatrace._core.spans.lean import LeanTracer, decider
from msatrace._core.spans.leanspan import ENDED


@pytest.mark.parametrize("entry", sorted(leanshape.ENTRIES))
def test_the_sdk_still_has_the_shape_the_lean_tracer_relies_on(entry: str) -> None:
    """``leanshape.ENTRIES[entry]`` finds the installed SDK as the lean tracer expects it."""
    processor = SynchronousMultiSpanProcessor()  # type: ignore[no-untyped-call]

    problem = leanshape.ENTRIES[entry](processor)

    assert problem is None, f"opentelemetry-sdk changed {entry}: {problem}"


def test_the_sdk_warns_about_a_change_to_an_ended_span_in_the_words_lean_spans_use() -> None:
    """The SDK's text for a refused change is ``leanspan.ENDED``, under its logger name."""
    processors = SynchronousMultiSpanProcessor()  # type: ignore[no-untyped-call]
    provider = TracerProvider(resource=Resource.create({}), active_span_processor=processors)
    lean = LeanTracer(
        provider.resource, processors, SpanLimits(), decider("always_on", 1, 0), "c", "1"
    )
    records: dict[str, list[str]] = {}
    for label, tracer in (("sdk", provider.get_tracer("c", "1")), ("lean", lean)):
        got = records[label] = []
        handler = logging.Handler()
        handler.emit = lambda r, got=got: got.append(f"{r.name}: {r.getMessage()}")  # type: ignore[method-assign]
        logging.getLogger("opentelemetry").addHandler(handler)
        try:
            span = tracer.start_span("op")
            span.end()
            span.update_name("late")
        finally:
            logging.getLogger("opentelemetry").removeHandler(handler)

    assert records["sdk"] == [f"opentelemetry.sdk.trace: {ENDED % 'update_name'}"]
    assert records["lean"] == records["sdk"]
