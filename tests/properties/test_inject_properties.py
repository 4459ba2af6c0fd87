"""Hypothesis: ``Propagation.inject`` writes exactly what OpenTelemetry's own propagators write.

``inject`` formats ``traceparent`` / ``tracestate`` itself and skips the baggage propagator when
the context holds no baggage; these properties hold it to the generic ``TextMapPropagator`` way.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from msatrace._core.config.settings import resolve
from msatrace._core.trace import context as ctxmod
from msatrace._core.trace.propagation import Propagation, XTraceIdPropagator

GENERIC = CompositePropagator(
    [TraceContextTextMapPropagator(), W3CBaggagePropagator(), XTraceIdPropagator()]
)
state_keys = st.from_regex(r"[a-z][a-z0-9_\-*/]{0,15}", fullmatch=True)
state_values = st.from_regex(r"[A-Za-z0-9!#$%&'()*+\-./:;<>?@\[\]^_`{|}~]{1,20}", fullmatch=True)
span_contexts = st.builds(
    lambda tid, sid, flags, state: SpanContext(
        tid, sid, True, TraceFlags(flags), TraceState(list(state.items()))
    ),
    # Valid IDs only: for an invalid remote context OpenTelemetry's propagator still writes an
    # all-zero traceparent, which W3C Trace Context forbids; inject writes none.
    st.integers(min_value=1, max_value=2**128 - 1),
    st.integers(min_value=1, max_value=2**64 - 1),
    st.integers(min_value=0, max_value=255),
    st.dictionaries(state_keys, state_values, max_size=4),
)
baggages = st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=20), max_size=4)
request_ids = st.none() | st.from_regex(r"[A-Za-z0-9\-]{1,36}", fullmatch=True)


def _context(span_context: SpanContext | None, entries: dict[str, str]) -> Context:
    ctx = Context()
    if span_context is not None:
        ctx = trace.set_span_in_context(NonRecordingSpan(span_context), ctx)
    for name, value in entries.items():
        ctx = baggage.set_baggage(name, value, ctx)
    return ctx


def _injected(prop: Propagation, ctx: Context | None, request_id: str | None) -> dict[str, str]:
    token = ctxmod.start_scope({"request_id": request_id} if request_id else {})
    try:
        carrier: dict[str, str] = {}
        prop.inject(carrier, ctx)
        return carrier
    finally:
        ctxmod.end_scope(token)


def _generic(ctx: Context, request_id: str | None) -> dict[str, Any]:
    carrier: dict[str, str] = {}
    GENERIC.inject(carrier, ctx)
    if request_id:
        carrier["X-Request-ID"] = request_id
    return carrier


@given(st.none() | span_contexts, baggages, request_ids)
def test_inject_writes_what_opentelemetry_propagators_write(
    span_context: SpanContext | None, entries: dict[str, str], request_id: str | None
) -> None:
    """With the default propagators, inject's headers equal tracecontext + baggage + xtraceid."""
    ctx = _context(span_context, entries)

    written = _injected(Propagation(resolve({}, {})), ctx, request_id)

    assert written == _generic(ctx, request_id)


@given(st.none() | span_contexts, baggages, request_ids)
def test_baggage_shortcut_matches_calling_the_propagator(
    span_context: SpanContext | None, entries: dict[str, str], request_id: str | None
) -> None:
    """Reading the baggage key first writes the same headers as always calling the propagator."""
    ctx = _context(span_context, entries)
    generic = Propagation(resolve({}, {}))
    generic.baggage_key = None  # the path taken for any other propagator configuration

    fast = _injected(Propagation(resolve({}, {})), ctx, request_id)

    assert fast == _injected(generic, ctx, request_id)


def test_inject_without_context_uses_the_current_one() -> None:
    """Without a context argument, inject writes the headers of the attached context."""
    sc = SpanContext(0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, True, TraceFlags(1))
    ctx = _context(sc, {"tenant": "acme"})
    token = otel_context.attach(ctx)
    try:
        written = _injected(Propagation(resolve({}, {})), None, None)
    finally:
        otel_context.detach(token)

    assert written == _generic(ctx, None)


def test_default_configuration_reads_the_baggage_key() -> None:
    """With the installed OpenTelemetry, the default propagators take the baggage shortcut."""

    prop = Propagation(resolve({}, {}))

    assert prop.baggage_key is not None
    assert baggage.set_baggage("k", "v", Context()).get(prop.baggage_key) == {"k": "v"}
