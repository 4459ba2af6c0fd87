"""The lean tracer gives span processors exactly what the OpenTelemetry SDK tracer would."""

from __future__ import annotations

import logging
from collections.abc import Callable
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
from opentelemetry.trace.span import DEFAULT_TRACE_STATE

from msatrace._core.spans.lean import LeanTracer, decider, span_context_tuple
from msatrace._core.spans.leanspan import LeanSpan

SAMPLERS = [
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
]


class Pair:
    """An SDK tracer and a lean tracer over the same provider, limits and processors."""

    def __init__(self, sampler: str = "parentbased_always_on", ratio: float = 0.5, **limits: Any):
        table: dict[str, sampling.Sampler] = {
            "always_on": sampling.ALWAYS_ON,
            "always_off": sampling.ALWAYS_OFF,
            "traceidratio": sampling.TraceIdRatioBased(ratio),
            "parentbased_always_on": sampling.ParentBased(sampling.ALWAYS_ON),
            "parentbased_always_off": sampling.ParentBased(sampling.ALWAYS_OFF),
            "parentbased_traceidratio": sampling.ParentBased(sampling.TraceIdRatioBased(ratio)),
        }
        self.sampler = table[sampler]
        span_limits = SpanLimits(**limits)
        processors = SynchronousMultiSpanProcessor()  # type: ignore[no-untyped-call]
        self.provider = TracerProvider(
            resource=Resource.create({"service.name": "pair"}),
            sampler=self.sampler,
            span_limits=span_limits,
            active_span_processor=processors,
        )
        self.exporter = InMemorySpanExporter()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.sdk = self.provider.get_tracer("msatrace", "1.0")
        bound = sampling.TraceIdRatioBased.get_bound_for_rate(ratio)
        self.lean = LeanTracer(
            self.provider.resource,
            processors,
            span_limits,
            decider(sampler, ratio, bound),
            "msatrace",
            "1.0",
        )

    def both(self, act: Callable[[trace.Tracer], None]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Run ``act`` with each tracer; the exported form of the one span each produced."""
        act(self.sdk)
        act(self.lean)
        sdk_span, lean_span = self.exporter.get_finished_spans()
        self.exporter.clear()
        assert isinstance(lean_span, LeanSpan)
        return exported(sdk_span), exported(lean_span)


def exported(span: ReadableSpan) -> dict[str, Any]:
    """What an exporter reads from a span, minus IDs and times (they differ by design)."""
    ctx = span.get_span_context()
    assert ctx is not None
    scope = span.instrumentation_scope
    return {
        "name": span.name,
        "kind": span.kind,
        "parent": span.parent,
        "flags": int(ctx.trace_flags),
        "trace_state": ctx.trace_state,
        "attributes": dict(span.attributes or {}),
        "dropped_attributes": span.dropped_attributes,
        "events": [(e.name, dict(e.attributes or {}), e.dropped_attributes) for e in span.events],
        "dropped_events": span.dropped_events,
        "links": [(link.context, dict(link.attributes or {})) for link in span.links],
        "dropped_links": span.dropped_links,
        "status": (span.status.status_code, span.status.description),
        "resource": span.resource,
        "scope": (scope.name, scope.version) if scope else None,
        "ended": span.end_time is not None and span.start_time is not None,
    }


# Attribute values as applications pass them: valid primitives and arrays, and invalid ones
# (None, mixed arrays, dicts, objects) that the SDK cleans or drops.
VALUES = st.one_of(
    st.text(max_size=40),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
    st.lists(st.text(max_size=10), max_size=4),
    st.lists(st.integers(), max_size=4),
    st.lists(st.one_of(st.integers(), st.text(max_size=3)), max_size=3),
    st.tuples(st.booleans(), st.booleans()),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.builds(object),
)
ATTRS = st.dictionaries(st.sampled_from(["a", "b", "c", "d", "e", "f", ""]), VALUES, max_size=6)


@settings(max_examples=150, deadline=None)
@given(
    start=ATTRS,
    later=ATTRS,
    limit=st.sampled_from([None, 3, 128]),
    length=st.sampled_from([None, 5]),
)
def test_attributes_are_kept_cleaned_and_limited_as_the_sdk_does(
    start: dict[str, Any], later: dict[str, Any], limit: int | None, length: int | None
) -> None:
    """Any attribute values, at start and set later, under any limits: the same exported span."""
    pair = Pair(max_span_attributes=limit, max_span_attribute_length=length)

    def act(tracer: trace.Tracer) -> None:
        span = tracer.start_span("op", attributes=start)
        for key, value in later.items():
            span.set_attribute(key, value)
        span.set_attributes({"z": 1})
        span.end()

    logging.disable(logging.WARNING)  # the SDK warns about each invalid value; so do we
    try:
        sdk, lean = pair.both(act)
    finally:
        logging.disable(logging.NOTSET)
    assert lean == sdk


def test_a_full_request_span_is_exported_as_the_sdk_exports_it() -> None:
    """Kind, parent, renamed name, attributes, status, exception event, link: all identical."""
    pair = Pair()
    remote = SpanContext(0xABC, 0xDEF, True, TraceFlags(1), TraceState([("vendor", "v1")]))
    parent = trace.set_span_in_context(NonRecordingSpan(remote))
    linked = SpanContext(0x123, 0x456, True, TraceFlags(1))
    try:
        raise ValueError("broken")
    except ValueError as exc:
        error = exc

    def act(tracer: trace.Tracer) -> None:
        span = tracer.start_span(
            "GET", parent, SpanKind.SERVER, {"url.path": "/x"}, [Link(linked, {"why": "edge"})]
        )
        span.update_name("GET /x")
        span.set_attribute("http.response.status_code", 500)
        span.record_exception(error, {"extra": 1})
        span.add_event("retry", {"n": 2})
        span.add_link(SpanContext(0x777, 0x888, False))
        span.set_status(Status(StatusCode.ERROR, "ValueError"))
        span.end()

    sdk, lean = pair.both(act)
    assert lean["events"][0][1]["exception.stacktrace"].startswith("Traceback")
    assert lean["parent"] == remote
    assert lean["trace_state"] == remote.trace_state
    assert lean == sdk


def test_an_ended_span_ignores_every_later_change() -> None:
    """After end(): attributes, name, status, events and a second end() change nothing."""
    pair = Pair()

    def act(tracer: trace.Tracer) -> None:
        span = tracer.start_span("op", attributes={"a": 1})
        span.end()
        span.set_attribute("b", 2)
        span.set_attributes({"c": 3})
        span.update_name("renamed")
        span.set_status(StatusCode.ERROR)
        span.add_event("late")
        span.end()
        assert not span.is_recording()

    logging.disable(logging.WARNING)
    try:
        sdk, lean = pair.both(act)
    finally:
        logging.disable(logging.NOTSET)
    assert lean == sdk
    assert lean["name"] == "op"
    assert lean["attributes"] == {"a": 1}


@pytest.mark.parametrize(
    ("first", "then"),
    [
        (StatusCode.OK, StatusCode.ERROR),
        (StatusCode.ERROR, StatusCode.UNSET),
        (Status(StatusCode.ERROR, "boom"), StatusCode.OK),
    ],
)
def test_status_rules_match_the_sdk(first: Status | StatusCode, then: StatusCode) -> None:
    """OK is final and UNSET never overrides, as in the SDK."""
    pair = Pair()

    def act(tracer: trace.Tracer) -> None:
        span = tracer.start_span("op")
        span.set_status(first)
        span.set_status(then)
        span.end()

    sdk, lean = pair.both(act)
    assert lean["status"] == sdk["status"]


def test_event_and_link_limits_drop_the_oldest_as_the_sdk_does() -> None:
    """More events and links than the limits allow: the same ones kept, the same counts dropped."""
    pair = Pair(max_events=2, max_links=1)
    links = [Link(SpanContext(i, i, True)) for i in range(1, 4)]

    def act(tracer: trace.Tracer) -> None:
        span = tracer.start_span("op", links=links)
        for i in range(5):
            span.add_event(f"e{i}")
        span.end()

    sdk, lean = pair.both(act)
    assert lean["dropped_events"] == 3
    assert lean["dropped_links"] == 2
    assert lean == sdk


def test_used_as_a_context_manager_an_escaping_exception_is_recorded() -> None:
    """``with start_as_current_span(...)``: the exception event and ERROR status, as the SDK."""
    pair = Pair()

    def act(tracer: trace.Tracer) -> None:
        def work() -> None:
            with tracer.start_as_current_span("op") as span:
                assert trace.get_current_span() is span
                raise KeyError("k")

        with pytest.raises(KeyError):
            work()

    sdk, lean = pair.both(act)
    assert lean["status"][0] is StatusCode.ERROR
    assert [e[0] for e in lean["events"]] == ["exception"]
    for span in (lean, sdk):  # the traceback's frames differ: each tracer's own context manager
        assert "KeyError: 'k'" in span["events"][0][1].pop("exception.stacktrace")
    assert lean == sdk


@settings(max_examples=300, deadline=None)
@given(
    sampler=st.sampled_from(SAMPLERS),
    ratio=st.sampled_from([0.0, 0.25, 0.5, 1.0]),
    trace_id=st.integers(1, 2**128 - 1),
    parent_flags=st.sampled_from([None, 0, 1, 2, 3]),
    remote=st.booleans(),
)
def test_sampling_decisions_and_flags_match_the_sdk(
    sampler: str, ratio: float, trace_id: int, parent_flags: int | None, remote: bool
) -> None:
    """Every sampler, with and without a (remote or local) parent: the SDK's decision and flags."""
    pair = Pair(sampler, ratio)
    context = None
    if parent_flags is not None:
        parent = SpanContext(trace_id, 0x99, remote, TraceFlags(parent_flags))
        context = trace.set_span_in_context(NonRecordingSpan(parent))
    sdk_span = pair.sdk.start_span("op", context)
    if context is None:  # a root span: the trace ID comes from the caller, as from X-Trace-ID
        lean_span = pair.lean.start("op", None, SpanKind.INTERNAL, None, None, trace_id)
        decision = pair.sampler.should_sample(None, trace_id, "op").decision
        assert lean_span.is_recording() is decision.is_sampled()  # type: ignore[no-untyped-call]
        sdk_span.end()
    else:
        lean_span = pair.lean.start_span("op", context)
        sdk_ctx, lean_ctx = sdk_span.get_span_context(), lean_span.get_span_context()
        assert lean_span.is_recording() is sdk_span.is_recording()
        assert int(lean_ctx.trace_flags) == int(sdk_ctx.trace_flags)
        assert lean_ctx.trace_id == sdk_ctx.trace_id == trace_id
        sdk_span.end()
    assert lean_span.get_span_context().span_id != 0
    lean_span.end()


def test_a_root_span_is_flagged_random_unless_its_trace_id_was_given() -> None:
    """W3C Level 2: a generated root trace ID is random; one given from X-Trace-ID is not."""
    pair = Pair()
    generated = pair.lean.start_span("op")
    given_id = pair.lean.start("op", None, SpanKind.SERVER, None, None, 0xABC)
    sdk_root = pair.sdk.start_span("op")
    assert generated.get_span_context().trace_flags == sdk_root.get_span_context().trace_flags
    assert given_id.get_span_context().trace_id == 0xABC
    assert given_id.get_span_context().trace_flags == TraceFlags.SAMPLED
    for span in (generated, given_id, sdk_root):
        span.end()


def test_processors_see_the_span_start_and_end() -> None:
    """A processor added to the provider gets on_start with the live span and on_end once."""
    pair = Pair()
    seen: list[tuple[str, str, bool]] = []

    class Watch(SimpleSpanProcessor):
        def on_start(self, span: Any, parent_context: Any = None) -> None:
            span.set_attribute("from.processor", True)
            seen.append(("start", span.name, span.is_recording()))

        def on_end(self, span: ReadableSpan) -> None:
            seen.append(
                ("end", span.name, bool(span.attributes and "from.processor" in span.attributes))
            )

    pair.provider.add_span_processor(Watch(InMemorySpanExporter()))
    span = pair.lean.start_span("op")
    span.end()
    assert seen == [("start", "op", True), ("end", "op", True)]


@pytest.mark.parametrize("sampler", ["always_on", "always_off"])
def test_a_described_span_is_described_only_when_sampled(sampler: str) -> None:
    """``start_described`` builds the name and attributes for a sampled span only."""
    pair = Pair(sampler)
    calls: list[str] = []

    def describe(subject: str) -> tuple[str, dict[str, Any]]:
        calls.append(subject)
        return f"GET {subject}", {"http.route": subject}

    span = pair.lean.start_described(None, SpanKind.SERVER, describe, "/x", None)
    span.end()

    if sampler == "always_on":
        assert calls == ["/x"]
        (exported_span,) = pair.exporter.get_finished_spans()
        assert exported_span.name == "GET /x"
        assert dict(exported_span.attributes or {}) == {"http.route": "/x"}
    else:
        assert calls == []
        assert not span.is_recording()
        assert span.get_span_context().is_valid


@given(
    trace_id=st.integers(1, 2**128 - 1),
    span_id=st.integers(1, 2**64 - 1),
    flags=st.integers(0, 255),
)
def test_the_span_context_msatrace_builds_equals_the_validated_one(
    trace_id: int, span_id: int, flags: int
) -> None:
    """span_context_tuple skips SpanContext's validation: for valid IDs it must make the same."""
    fast = span_context_tuple(
        SpanContext, (trace_id, span_id, False, TraceFlags(flags), DEFAULT_TRACE_STATE, True)
    )
    slow = SpanContext(trace_id, span_id, False, TraceFlags(flags), DEFAULT_TRACE_STATE)
    assert type(fast) is SpanContext
    assert fast == slow
    assert (fast.trace_id, fast.span_id, fast.trace_flags, fast.is_valid) == (
        slow.trace_id, slow.span_id, slow.trace_flags, slow.is_valid,
    )  # fmt: skip


def test_ended_span_warnings_are_the_installed_sdks() -> None:
    """Every change to an ended span logs what the installed SDK logs, under its logger name."""
    pair = Pair()
    valid = SpanContext(0x1, 0x2, False)

    def act(tracer: trace.Tracer) -> None:
        span = tracer.start_span("op")
        span.end()
        span.set_attribute("a", 1)
        span.set_attributes({"b": 2})
        span.update_name("late")
        span.set_status(StatusCode.ERROR)
        span.add_event("late")
        span.record_exception(ValueError("late"))
        span.add_link(valid)
        span.add_link(SpanContext(0, 0, False))  # one the SDK drops before looking at the span
        span.end()

    seen = []
    for tracer in (pair.sdk, pair.lean):
        records: list[logging.LogRecord] = []
        handler = logging.Handler()
        handler.emit = records.append  # type: ignore[method-assign]  # collect, print nothing
        logger = logging.getLogger("opentelemetry")
        logger.addHandler(handler)
        try:
            act(tracer)
        finally:
            logger.removeHandler(handler)
        seen.append([(r.name, r.levelno, r.getMessage()) for r in records])

    sdk, lean = seen
    assert len(sdk) == 8
    assert lean == sdk


def test_the_ended_span_processors_get_reads_as_the_sdks_copy_and_cannot_change() -> None:
    """on_end gets the ended lean span itself (the SDK: a ReadableSpan copy): every exported
    property reads the same as the SDK's copy, and a processor's attempts to change it (each
    refused, as the SDK's copy has no such methods) change nothing a later processor sees."""
    pair = Pair()
    seen: list[dict[str, Any]] = []

    class Meddle(SimpleSpanProcessor):
        def on_end(self, span: ReadableSpan) -> None:
            seen.append(exported(span))
            if isinstance(span, LeanSpan):
                span.set_attribute("late", 1)
                span.set_attributes({"late": 2})
                span.update_name("late")
                span.set_status(StatusCode.ERROR)
                span.add_event("late")
                span.add_link(SpanContext(0x1, 0x2, False))
                span.record_exception(ValueError("late"))
                span.end()

    class After(SimpleSpanProcessor):
        def on_end(self, span: ReadableSpan) -> None:
            seen.append(exported(span))

    pair.provider.add_span_processor(Meddle(InMemorySpanExporter()))
    pair.provider.add_span_processor(After(InMemorySpanExporter()))

    logging.disable(logging.WARNING)  # each refused change warns, as in the SDK
    try:
        sdk, lean = pair.both(lambda tracer: tracer.start_span("op", attributes={"a": 1}).end())
    finally:
        logging.disable(logging.NOTSET)

    sdk_meddle, sdk_after, lean_meddle, lean_after = seen
    assert lean_meddle == lean_after == lean
    assert sdk_meddle == sdk_after == sdk
    assert lean == sdk


def test_every_change_to_a_span_takes_its_lock() -> None:
    """update_name and set_status hold the span's lock, as every other change does (the SDK's
    _check_span_ended): a concurrent end() cannot interleave with them."""
    pair = Pair()
    span = pair.lean.start_span("op")
    assert isinstance(span, LeanSpan)
    held: list[str] = []

    class Spy:
        def __enter__(self) -> None:
            held.append("enter")

        def __exit__(self, *exc: object) -> None:
            held.append("exit")

    span._lock = Spy()  # type: ignore[assignment]  # records its use

    span.update_name("renamed")
    span.set_status(StatusCode.ERROR)

    assert held == ["enter", "exit", "enter", "exit"]
