"""Propagation: incoming headers to a parent (with the trust policy), and headers written out."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from opentelemetry import baggage, propagate, trace
from opentelemetry import context as otel_context

import msatrace
from msatrace._core.config.settings import resolve
from msatrace._core.trace.propagation import NO_HEADERS, HeaderBag, Propagation
from msatrace._core.trace.tracecontext import W3CTraceState

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736


def propagation(**arguments: Any) -> Propagation:
    """Propagation built from settings, as init() builds it."""
    return Propagation(resolve(arguments, {}))


def bag(*pairs: tuple[str, str | None]) -> HeaderBag:
    """A HeaderBag holding these (lowercase name, value) pairs, in arrival order."""
    b = HeaderBag()
    for name, value in pairs:
        b.add(name, value)
    return b


def parent_of(incoming: Any) -> trace.SpanContext:
    """The span context of an Incoming's parent."""
    return trace.get_current_span(incoming.parent).get_span_context()


def test_valid_traceparent_becomes_the_parent() -> None:
    """A valid traceparent and its tracestate are the parent of the server span."""

    incoming = propagation().extract(bag(("traceparent", TRACEPARENT), ("tracestate", "a=1")))

    sc = parent_of(incoming)
    assert (sc.trace_id, sc.span_id, sc.is_remote) == (TRACE_ID, 0x00F067AA0BA902B7, True)
    assert sc.trace_state.to_header() == "a=1"


def test_invalid_traceparent_drops_tracestate() -> None:
    """An invalid traceparent means a new trace, and its tracestate is not kept."""

    incoming = propagation().extract(
        bag(("traceparent", TRACEPARENT.replace("-01", "-1")), ("tracestate", "a=1"))
    )

    assert not parent_of(incoming).is_valid
    assert incoming.trace_id == 0


def test_x_trace_id_alone_names_the_trace() -> None:
    """With only X-Trace-ID (a UUID here), the trace continues under that ID."""

    incoming = propagation().extract(bag(("x-trace-id", "4bf92f35-77b3-4da6-a3ce-929d0e0e4736")))

    assert incoming.trace_id == TRACE_ID


def test_traceparent_wins_over_x_trace_id() -> None:
    """When both arrive, the valid traceparent decides the trace."""

    incoming = propagation().extract(bag(("x-trace-id", "a" * 32), ("traceparent", TRACEPARENT)))

    assert parent_of(incoming).trace_id == TRACE_ID
    assert incoming.trace_id == 0


def test_duplicated_traceparent_is_not_trusted() -> None:
    """A traceparent header sent twice is invalid: a new trace starts."""

    incoming = propagation().extract(
        bag(("traceparent", TRACEPARENT), ("traceparent", TRACEPARENT))
    )

    assert incoming.parent is None or not parent_of(incoming).is_valid


def test_duplicated_tracestate_is_joined() -> None:
    """tracestate may arrive in several header lines; they are one list (W3C 3.3.1)."""

    incoming = propagation().extract(
        bag(("traceparent", TRACEPARENT), ("tracestate", "a=1"), ("tracestate", "b=2"))
    )

    assert parent_of(incoming).trace_state.to_header() == "a=1,b=2"


def test_untrusted_incoming_trace_becomes_a_link() -> None:
    """With trust_incoming off, a fresh trace starts and the incoming one is a span link."""

    incoming = propagation(trust_incoming=False).extract(bag(("traceparent", TRACEPARENT)))

    assert incoming.parent is None
    assert incoming.trace_id == 0
    assert [link.context.trace_id for link in incoming.links] == [TRACE_ID]


def test_request_id_kept_or_replaced() -> None:
    """A valid X-Request-ID is kept; a bad one is replaced by a fresh one."""

    kept = propagation().extract(bag(("x-request-id", "abc-123")))
    replaced = propagation().extract(bag(("x-request-id", "bad\r\nid")))

    assert kept.request_id == "abc-123"
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.request_id)


def test_inject_writes_every_header() -> None:
    """Outgoing: traceparent, tracestate, X-Trace-ID and baggage for the current context."""

    incoming = propagation().extract(bag(("traceparent", TRACEPARENT), ("tracestate", "a=1")))
    ctx = baggage.set_baggage("tenant", "acme", incoming.parent)
    carrier: dict[str, str] = {}

    propagation().inject(carrier, ctx)

    assert carrier["traceparent"] == TRACEPARENT
    assert carrier["tracestate"] == "a=1"
    assert carrier["X-Trace-ID"] == f"{TRACE_ID:032x}"
    assert carrier["baggage"] == "tenant=acme"


def test_incoming_baggage_is_extracted() -> None:
    """Baggage is read when the propagators ask for it."""

    incoming = propagation().extract(bag(("traceparent", TRACEPARENT), ("baggage", "k=v")))

    assert baggage.get_baggage("k", incoming.parent) == "v"


def test_baggage_ignored_without_its_propagator() -> None:
    """With OTEL_PROPAGATORS=tracecontext only, baggage is neither wanted nor read."""

    p = propagation(propagators="tracecontext")

    incoming = p.extract(bag(("traceparent", TRACEPARENT), ("baggage", "k=v")))

    assert "baggage" not in p.wanted
    assert baggage.get_baggage("k", incoming.parent) is None


def test_custom_header_names() -> None:
    """The legacy header names are configurable, for reading and writing."""

    p = propagation(trace_header="X-Correlation-ID", request_id_header="X-Req")
    incoming = p.extract(bag(("x-correlation-id", "b" * 32)))
    token = otel_context.attach(
        trace.set_span_in_context(
            trace.NonRecordingSpan(trace.SpanContext(incoming.trace_id, 1, False))
        )
    )
    carrier: dict[str, str] = {}
    try:
        p.inject(carrier)
    finally:
        otel_context.detach(token)

    assert incoming.trace_id == int("b" * 32, 16)
    assert carrier["X-Correlation-ID"] == "b" * 32


def test_the_shared_empty_header_bag_takes_no_header() -> None:
    """NO_HEADERS, shared by requests without trace headers, refuses additions (none leak)."""
    with pytest.raises(TypeError):
        NO_HEADERS.add("traceparent", "00-" + "1" * 32 + "-" + "2" * 16 + "-01")
    assert NO_HEADERS.values == {}


TENANT_KEY = "t" * 200 + "@" + "s" * 55  # valid now; the older grammar allowed at most 14 after "@"
CURRENT_GRAMMAR = f"1vendor=a,{TENANT_KEY}=b,x@y@z=c"


def test_tracestate_of_the_current_grammar_reaches_the_parent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Members valid by the current W3C grammar are all kept, in order, with no warning."""

    incoming = propagation().extract(
        bag(("traceparent", TRACEPARENT), ("tracestate", CURRENT_GRAMMAR))
    )

    assert parent_of(incoming).trace_state.to_header() == CURRENT_GRAMMAR
    assert list(parent_of(incoming).trace_state.items())[1] == (TENANT_KEY, "b")
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_invalid_tracestate_keeps_the_traceparent() -> None:
    """An invalid tracestate is dropped; the valid traceparent it came with is still the parent."""

    incoming = propagation().extract(bag(("traceparent", TRACEPARENT), ("tracestate", "A=1")))

    sc = parent_of(incoming)
    assert (sc.trace_id, sc.is_valid) == (TRACE_ID, True)
    assert len(sc.trace_state) == 0


def test_trace_state_mutations_follow_the_current_grammar() -> None:
    """add, update and delete accept current-grammar keys and refuse invalid ones unchanged."""
    state = W3CTraceState([("rojo", "1")])

    added = state.add(TENANT_KEY, "2")
    updated = added.update("rojo", "3")
    deleted = updated.delete(TENANT_KEY)

    assert added.to_header() == f"{TENANT_KEY}=2,rojo=1"
    assert updated.to_header() == f"rojo=3,{TENANT_KEY}=2"
    assert deleted.to_header() == "rojo=3"
    assert state.add("Bad", "1") is state
    assert state.add("rojo", "9") is state
    assert state.update("k", "bad,value") is state
    assert isinstance(added, W3CTraceState)


def test_trace_state_holds_at_most_32_members() -> None:
    """A 33rd member is refused by add and update; a list of 33 gives an empty state."""
    full = W3CTraceState([(f"k{i}", "v") for i in range(32)])

    assert len(full.add("new", "v")) == 32
    assert len(full.update("new", "v")) == 32
    assert len(full.update("k5", "w")) == 32
    assert len(W3CTraceState([(f"k{i}", "v") for i in range(33)])) == 0


def test_global_tracecontext_propagator_reads_the_current_grammar(
    env: pytest.MonkeyPatch,
) -> None:
    """OpenTelemetry code using the global propagator init() installs gets the same tracestate."""
    msatrace.init(log_format="json")

    ctx = propagate.extract({"traceparent": TRACEPARENT, "tracestate": CURRENT_GRAMMAR})
    carrier: dict[str, str] = {}
    propagate.inject(carrier, ctx)

    assert trace.get_current_span(ctx).get_span_context().trace_id == TRACE_ID
    assert carrier["tracestate"] == CURRENT_GRAMMAR
    assert carrier["traceparent"] == TRACEPARENT
