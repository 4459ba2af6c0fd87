"""A lean tracer for the spans msatrace starts itself, when msatrace owns the TracerProvider.

The OpenTelemetry SDK's span costs about 20 µs to start, fill with ten attributes and end: it
validates every attribute through generic mapping checks, builds bounded containers nobody may
use, records its own metrics and copies itself into a new ``ReadableSpan`` at the end. Every
request, outgoing call and task pays that. ``LeanTracer`` makes the same spans for about 4 µs:

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

Only used for a provider msatrace installed (``tracing.install``); an adopted provider keeps its
own SDK tracer. Spans the application starts with ``opentelemetry.trace.get_tracer`` are SDK
spans of the same provider, parented and exported alike. Not done here: the SDK's self-metrics
(``otel.sdk.span.*``), which need a MeterProvider msatrace does not install.

Imports: the standard library and opentelemetry.
"""

from __future__ import annotations

import logging
import random
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from time import time_ns
from types import TracebackType
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits, SpanProcessor
from opentelemetry.sdk.util import BoundedList
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.span import DEFAULT_TRACE_STATE
from opentelemetry.trace.status import Status, StatusCode
from opentelemetry.util import types

from msatrace._core.context import SPAN_KEY, otel_current, parent_span_context

_log = logging.getLogger("opentelemetry.sdk.trace")  # the SDK's warnings, under its name
_getrandbits = random.getrandbits
_UNSET = Status(StatusCode.UNSET)
# W3C Trace Context Level 2 "random trace ID" flag; absent from older opentelemetry-api.
_RANDOM = int(getattr(TraceFlags, "RANDOM_TRACE_ID", 0))
_SAMPLED_BIT = int(TraceFlags.SAMPLED)
_PLAIN = (str, int, float, bool)
_FLAGS = tuple(TraceFlags(i) for i in range(256))  # built once: TraceFlags(...) per span is a call
_ID_MASK = (1 << 64) - 1  # TraceIdRatioBased compares the trace ID's low 64 bits
Decide = tuple[bool, int]  # (parent-based, threshold): see decider
T = TypeVar("T")


# SpanContext(...) without its validation (a Python call that re-checks the IDs): the tuple it
# makes, (trace_id, span_id, is_remote, trace_flags, trace_state, is_valid). Only for a span
# msatrace starts itself, whose IDs are valid by construction; called where the span starts
# rather than through a helper of ours, whose call would cost ~0.3 µs per request.
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


class LeanSpan(trace.Span, ReadableSpan):
    """A recording span: the OpenTelemetry Span API over the SDK's ``ReadableSpan`` fields."""

    def __init__(
        self,
        tracer: LeanTracer,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        kind: SpanKind,
        attributes: types.Attributes,
        links: Sequence[Link] | None,
        start_time: int | None = None,
    ) -> None:
        # ReadableSpan's fields, set directly (its __init__ would only add a call).
        self._name = name
        self._context = context
        self._span_context = context  # typed non-optional, for get_span_context
        self._kind = kind
        self._parent = parent
        self._instrumentation_info = None  # deprecated since SDK 1.11; exporters read the scope
        self._instrumentation_scope = tracer.scope
        self._resource = tracer.resource
        self._status = _UNSET
        self._start_time = start_time if start_time is not None else time_ns()
        self._end_time: int | None = None
        self._events: Sequence[Event] = ()  # a BoundedList once there is one
        self._links: Sequence[Link] = ()
        self._attributes: dict[str, Any] = {}
        self._dropped = 0
        self._tracer = tracer
        self._lock = threading.Lock()
        self.record_on_exit = True
        self.status_on_exit = True
        if attributes:
            self._put(attributes)
        if links:
            for link in links:
                self._link(link.context, link.attributes)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(name="{self._name}", context={self._context})'

    @property
    def dropped_attributes(self) -> int:
        return self._dropped

    def get_span_context(self) -> SpanContext:
        return self._span_context

    def is_recording(self) -> bool:
        return self._end_time is None

    def set_attribute(self, key: str, value: types.AnyValue) -> None:
        with self._lock:
            if self._end_time is not None:
                _log.warning("Setting attribute on ended span.")
                return
            self._put({key: value})

    def set_attributes(self, attributes: Mapping[str, types.AnyValue]) -> None:
        with self._lock:
            if self._end_time is not None:
                _log.warning("Setting attribute on ended span.")
                return
            self._put(attributes)

    def _put(self, attributes: Mapping[str, types.AnyValue]) -> None:
        """Store attributes: what msatrace itself passes (new keys with short strings and
        numbers under the limits, kept as they are) inline, anything else through ``_store``."""
        attrs, longest, most = self._attributes, self._tracer.longest, self._tracer.most
        value: Any
        for key, value in attributes.items():
            t = type(value)
            if (
                ((t is str and len(value) <= longest) or t is int or t is float or t is bool)
                and key not in attrs
                and len(attrs) < most
                and type(key) is str
                and key
            ):
                attrs[key] = value
            else:
                self._store(key, value)

    def _store(self, key: str, value: Any) -> None:
        """One attribute, within the span limits; as ``BoundedAttributes`` would store it."""
        limits = self._tracer.limits
        longest = limits.max_span_attribute_length
        if not key or type(key) is not str:
            # The SDK's own warning and count (newer SDKs count an invalid key as dropped; 1.27 no).
            self._dropped += BoundedAttributes(None, {key: value}, max_value_len=longest).dropped
            return
        if type(value) in _PLAIN and (
            type(value) is not str or longest is None or len(value) <= longest
        ):
            cleaned = value  # already what the SDK would keep
        else:  # sequences, truncation, odd types: the SDK's own rules, through its own class
            bounded = BoundedAttributes(None, {key: value}, max_value_len=longest)
            if key not in bounded:
                self._dropped += bounded.dropped
                return
            cleaned = bounded[key]
        attrs = self._attributes
        most = limits.max_span_attributes
        if key in attrs:
            del attrs[key]  # re-inserted last, as BoundedAttributes does
        elif most is not None and len(attrs) >= most:
            if most == 0:
                self._dropped += 1
                return
            del attrs[next(iter(attrs))]  # full: the oldest attribute makes room
            self._dropped += 1
        attrs[key] = cleaned

    def update_name(self, name: str) -> None:
        if self._end_time is not None:
            _log.warning("Calling update_name() on an ended span.")
            return
        self._name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        if self._end_time is not None:
            _log.warning("Calling set_status() on an ended span.")
            return
        # As the SDK: OK is final, UNSET never overrides, a Status object keeps its description.
        code = status.status_code if isinstance(status, Status) else status
        if self._status.status_code is StatusCode.OK or code is StatusCode.UNSET:
            return
        if isinstance(status, Status):
            if description is not None:
                _log.warning(
                    "Description %s ignored. Use either `Status` or `(StatusCode, Description)`",
                    description,
                )
            self._status = status
        else:
            self._status = Status(status, description)

    def add_event(
        self, name: str, attributes: types.Attributes = None, timestamp: int | None = None
    ) -> None:
        limits = self._tracer.limits
        bounded = BoundedAttributes(
            limits.max_event_attributes,
            attributes,
            immutable=True,
            max_value_len=limits.max_attribute_length,
        )
        with self._lock:
            if self._end_time is not None:
                _log.warning("Calling add_event() on an ended span.")
                return
            if not isinstance(self._events, BoundedList):
                self._events = BoundedList(limits.max_events)
            self._events.append(Event(name, bounded, timestamp))

    def add_link(self, context: SpanContext, attributes: types.Attributes = None) -> None:
        with self._lock:
            if self._end_time is not None:
                _log.warning("Calling add_link() on an ended span.")
                return
            self._link(context, attributes)

    def _link(self, context: SpanContext, attributes: types.Attributes) -> None:
        # The SDK's rule: a link needs a valid context, or attributes / tracestate to say why.
        if not (context and (context.is_valid or attributes or context.trace_state)):
            return
        limits = self._tracer.limits
        bounded = BoundedAttributes(
            limits.max_link_attributes,
            attributes,
            immutable=True,
            max_value_len=limits.max_attribute_length,
        )
        if not isinstance(self._links, BoundedList):
            self._links = BoundedList(limits.max_links)
        self._links.append(Link(context, bounded))

    def record_exception(
        self,
        exception: BaseException,
        attributes: types.Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        cls = type(exception)
        module = cls.__module__
        event: dict[str, Any] = {
            "exception.type": (
                f"{module}.{cls.__qualname__}"
                if module and module != "builtins"
                else cls.__qualname__
            ),
            "exception.message": str(exception),
            "exception.stacktrace": "".join(
                traceback.format_exception(cls, exception, exception.__traceback__)
            ),
            "exception.escaped": str(escaped),
        }
        if attributes:
            event.update(attributes)
        self.add_event("exception", event, timestamp)

    def end(self, end_time: int | None = None) -> None:
        with self._lock:
            if self._end_time is not None:
                _log.warning("Calling end() on an ended span.")
                return
            self._end_time = end_time if end_time is not None else time_ns()
        tracer = self._tracer
        if tracer.on_ending is not None:
            tracer.on_ending(self)
        # The span itself is the ReadableSpan processors get: ended, it no longer changes.
        tracer.processor.on_end(self)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        """Used as a context manager: records an escaping exception (as the SDK), then ends."""
        if exc_val is not None and self.is_recording():
            if self.record_on_exit:
                self.record_exception(exc_val, escaped=True)
            if self.status_on_exit:
                self.set_status(Status(StatusCode.ERROR, f"{type(exc_val).__name__}: {exc_val}"))
        super().__exit__(exc_type, exc_val, exc_tb)
