"""A lean tracer for the spans msatrace starts itself, when msatrace owns the TracerProvider.

The OpenTelemetry SDK's span validates every attribute through generic mapping checks and
locks, builds bounded containers nobody may use and records its own metrics, and every request,
outgoing call and task pays that. ``LeanTracer`` makes the same spans for a fraction of the cost
(``benchmarks/bench_spans.py`` times both; ``tests/unit/test_spans_otlp.py`` holds their OTLP
encodings byte-identical):

- the spans are ``ReadableSpan`` objects with the SDK's fields, handed to the provider's own span
  processors (``on_start``, ``on_end``), so batching, export, ``capture_spans`` and any processor
  the application adds see exactly what the SDK would give them;
- attributes follow the provider's ``SpanLimits``; plain ``str``/``int``/``float``/``bool`` values
  are stored as they are, anything else is cleaned by the SDK's own ``BoundedAttributes``;
- sampling is decided inline for the samplers msatrace builds from its settings (the six
  ``OTEL_TRACES_SAMPLER`` values), with the SDK's semantics: parent-based samplers follow the
  parent's sampled flag, ``traceidratio`` compares the low 64 bits of the trace ID with the
  sampler's bound;
- span IDs are random (``random.getrandbits``), as msatrace's ID generator makes them.

Only used for a provider msatrace installed (``tracing.install``), with ``lean_spans`` on and
an SDK of the shape ``leanshape`` checks at install; otherwise the provider's SDK tracer is
used. Spans the application starts with ``opentelemetry.trace.get_tracer`` are SDK spans of the
same provider, parented and exported alike. Not done here: the SDK's self-metrics
(``otel.sdk.span.*``), which need a MeterProvider msatrace does not install. The span itself is
``leanspan.LeanSpan``.

Imports: the standard library, opentelemetry and ``msatrace._core``.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, SpanProcessor
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.span import DEFAULT_TRACE_STATE
from opentelemetry.util import types

from msatrace._core.spans.leanspan import LeanSpan
from msatrace._core.trace.context import SPAN_KEY, otel_current, parent_span_context

_getrandbits = random.getrandbits
# W3C Trace Context Level 2 "random trace ID" flag; absent from older opentelemetry-api.
_RANDOM = int(getattr(TraceFlags, "RANDOM_TRACE_ID", 0))
_SAMPLED_BIT = int(TraceFlags.SAMPLED)
_FLAGS = tuple(TraceFlags(i) for i in range(256))  # built once: TraceFlags(...) per span is a call
_ID_MASK = (1 << 64) - 1  # TraceIdRatioBased compares the trace ID's low 64 bits
Decide = tuple[bool, int]  # (parent-based, threshold): see decider
T = TypeVar("T")


# SpanContext(...) without its validation (a Python call that re-checks the IDs): the tuple it
# makes, (trace_id, span_id, is_remote, trace_flags, trace_state, is_valid). Only for a span
# msatrace starts itself, whose IDs are valid by construction; called where the span starts
# (hot path, see benchmarks/bench_spans.py). leanshape checks the tuple's layout at install.
span_context_tuple = tuple.__new__


def given(described: tuple[str, types.Attributes]) -> tuple[str, types.Attributes]:
    """``describe`` for a span whose name and attributes are already made (``start_span``)."""
    return described


def decider(sampler: str, ratio: float, bound: int) -> Decide:
    """``(parent_based, threshold)`` for an ``OTEL_TRACES_SAMPLER`` name, decided inline by
    :class:`LeanTracer`: a span whose parent decides (parent-based sampler, valid parent)
    follows the parent's sampled flag; any other is sampled when its trace ID's low 64 bits are
    below ``threshold`` (everything for ``always_on``, nothing for ``always_off``).

    ``bound`` is the SDK ``TraceIdRatioBased`` sampler's ``bound`` for ``ratio``.
    """
    del ratio  # the bound says it
    if sampler.endswith("always_on"):
        threshold = _ID_MASK + 1
    elif sampler.endswith("always_off"):
        threshold = 0
    else:
        threshold = bound
    return sampler.startswith("parentbased_"), threshold


class LeanTracer(trace.Tracer):
    """Starts :class:`LeanSpan` objects for a provider msatrace owns (see the module docstring)."""

    def __init__(
        self,
        resource: Resource,
        processor: SpanProcessor,
        limits: SpanLimits,
        decide: Decide,
        name: str,
        version: str,
    ) -> None:
        self.resource = resource
        self.processor = processor
        self.limits = limits
        # The two attribute limits, with "no limit" as a number: compared for every attribute.
        longest, most = limits.max_span_attribute_length, limits.max_span_attributes
        self.longest = sys.maxsize if longest is None else longest
        self.most = sys.maxsize if most is None else most
        self.parent_based, self.threshold = decide
        self.scope = InstrumentationScope(name, version)
        # Span processors gained _on_ending in SDK 1.3x; called where it exists, as the SDK does.
        self.on_ending: Callable[[Any], None] | None = getattr(processor, "_on_ending", None)

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace.Span:
        span = self.start(name, context, kind, attributes, links, 0, start_time)
        if isinstance(span, LeanSpan):
            span.record_on_exit = record_exception
            span.status_on_exit = set_status_on_exception
        return span

    def start(
        self,
        name: str,
        context: Context | None,
        kind: SpanKind,
        attributes: types.Attributes,
        links: Sequence[Link] | None,
        trace_id: int = 0,
        start_time: int | None = None,
    ) -> trace.Span:
        """``start_span``, with ``trace_id`` naming the trace of a root span (from X-Trace-ID)."""
        return self.start_described(
            context, kind, given, (name, attributes), links, trace_id, start_time
        )

    def start_described(
        self,
        context: Context | None,
        kind: SpanKind,
        describe: Callable[[T], tuple[str, types.Attributes]],
        subject: T,
        links: Sequence[Link] | None,
        trace_id: int = 0,
        start_time: int | None = None,
    ) -> trace.Span:
        """``start``, with the name and attributes from ``describe(subject)``, called only when
        the span is sampled (an unsampled request builds neither)."""
        # The parent's span context (None for a root span), then the new span's.
        ctx = context if context is not None else otel_current()
        parent = parent_span_context(ctx) if SPAN_KEY in ctx else None  # no call for a root
        flags = 0
        if parent is not None:
            trace_id = parent.trace_id
            flags = parent.trace_flags & _RANDOM
        elif not trace_id:
            trace_id = _getrandbits(128) or 1
            flags = _RANDOM
        # The SDK's rules (see decider): ParentBased defaults, local or remote parent alike
        # (the flag bit, not the property); TraceIdRatioBased on the low 64 bits.
        if parent is not None and self.parent_based:
            flags |= parent.trace_flags & _SAMPLED_BIT
        elif (trace_id & _ID_MASK) < self.threshold:
            flags |= _SAMPLED_BIT
        state = parent.trace_state if parent is not None else DEFAULT_TRACE_STATE
        span_context = span_context_tuple(
            SpanContext, (trace_id, _getrandbits(64) or 1, False, _FLAGS[flags], state, True)
        )
        if not flags & _SAMPLED_BIT:
            return NonRecordingSpan(span_context)
        name, attributes = describe(subject)
        span = LeanSpan(self, name, span_context, parent, kind, attributes, links, start_time)
        # Processors are typed for the SDK's Span; they get the same API and ReadableSpan fields.
        self.processor.on_start(span, parent_context=context)  # type: ignore[arg-type]
        return span

    @contextmanager
    def start_as_current_span(  # type: ignore[override]  # the API's decorator is private
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[trace.Span]:
        span = self.start_span(
            name, context, kind, attributes, links, start_time, record_exception,
            set_status_on_exception,
        )  # fmt: skip
        with trace.use_span(
            span,
            end_on_exit=end_on_exit,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
        ) as current:
            yield current
