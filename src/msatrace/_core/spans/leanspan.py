"""The recording span :class:`lean.LeanTracer` starts: OpenTelemetry's Span API over an SDK
``ReadableSpan`` (built by its own constructor), so the provider's processors and exporters take
it as an SDK span.

Follows the SDK's rules where they are observable: attribute limits and cleaning, status
precedence, event and link limits (oldest dropped), the warnings for changes to an ended span
(the SDK's texts under its logger name, tested against the installed SDK), ``record_exception``'s
attributes, a lock around every change. Span processors' ``on_end`` gets the ended span itself,
which no longer changes (the SDK hands over a copy sharing the same containers). See the
``lean`` docstring for why it exists; ``leanshape`` checks at install that the SDK still has
the shape relied on here.

Imports: the standard library, opentelemetry and ``msatrace._core.semconv``.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Mapping, Sequence
from time import time_ns
from types import TracebackType
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import Link, SpanContext, SpanKind
from opentelemetry.trace.status import Status, StatusCode
from opentelemetry.util import types

from msatrace._core.semconv import (
    EXCEPTION_ESCAPED,
    EXCEPTION_MESSAGE,
    EXCEPTION_STACKTRACE,
    EXCEPTION_TYPE,
)

if TYPE_CHECKING:
    from msatrace._core.spans.lean import LeanTracer

_log = logging.getLogger("opentelemetry.sdk.trace")  # the SDK's warnings, under its name
# The SDK's text for a change to an ended span, with the name of its method that refused it
# (tests/unit/test_spans.py compares every such warning with the installed SDK's).
ENDED = "Tried calling %s on an ended span."
_PLAIN = (str, int, float, bool)


class LeanSpan(trace.Span, ReadableSpan):
    """A recording span: the OpenTelemetry Span API over the SDK's ``ReadableSpan`` fields."""

    _attributes: dict[str, Any]  # always a plain dict here, filled by _put within the limits

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
        attrs: dict[str, Any] = {}
        ReadableSpan.__init__(
            self,
            name=name,
            context=context,
            parent=parent,
            resource=tracer.resource,
            attributes=attrs,
            kind=kind,
            start_time=start_time if start_time is not None else time_ns(),
            instrumentation_scope=tracer.scope,
        )
        self._events: Sequence[Event] = ()  # a BoundedList once there is one
        self._links: Sequence[Link] = ()
        self._span_context = context  # typed non-optional, for get_span_context
        self._dropped = 0
        self._tracer = tracer
        self._lock = threading.Lock()
        self.record_on_exit = True
        self.status_on_exit = True
        if attributes:
            self._put(attributes)
        if links:
            for link in links:
                if link and _valid_link(link.context, link.attributes):
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
        with self._lock:
            if self._end_time is None:
                self._name = name
                return
        _log.warning(ENDED, "update_name")

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        with self._lock:
            if self._end_time is None:
                self._set_status(status, description)
                return
        _log.warning(ENDED, "set_status")

    def _set_status(self, status: Status | StatusCode, description: str | None) -> None:
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
        bounded = self._bounded(limits.max_event_attributes, attributes)
        with self._lock:
            if self._end_time is None:
                if not isinstance(self._events, BoundedList):
                    self._events = BoundedList(limits.max_events)
                self._events.append(Event(name, bounded, timestamp))
                return
        _log.warning(ENDED, "_add_event")  # the SDK's add_event refuses in its _add_event

    def _bounded(self, max_attributes: int | None, attributes: types.Attributes) -> Any:
        """An event's or link's attributes, limited and cleaned as the SDK does."""
        return BoundedAttributes(
            max_attributes,
            attributes,
            immutable=True,
            max_value_len=self._tracer.limits.max_attribute_length,
        )

    def add_link(self, context: SpanContext, attributes: types.Attributes = None) -> None:
        if not _valid_link(context, attributes):
            return  # before the ended check, as the SDK: no warning for a link it would drop
        with self._lock:
            if self._end_time is None:
                self._link(context, attributes)
                return
        _log.warning(ENDED, "_add_link")  # the SDK's add_link refuses in its _add_link

    def _link(self, context: SpanContext, attributes: types.Attributes) -> None:
        limits = self._tracer.limits
        bounded = self._bounded(limits.max_link_attributes, attributes)
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
            EXCEPTION_TYPE: (
                f"{module}.{cls.__qualname__}"
                if module and module != "builtins"
                else cls.__qualname__
            ),
            EXCEPTION_MESSAGE: str(exception),
            EXCEPTION_STACKTRACE: "".join(
                traceback.format_exception(cls, exception, exception.__traceback__)
            ),
            EXCEPTION_ESCAPED: str(escaped),
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
        # The SDK's Span.end hands on_end a new ReadableSpan sharing the span's containers; the
        # ended span itself reads the same through every ReadableSpan property and refuses every
        # change under its lock, so processors get it as it is (tests/unit/test_spans.py shows
        # both; the copy would be most of a sampled span's added cost, benchmarks/bench_spans.py).
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


def _valid_link(context: SpanContext, attributes: types.Attributes) -> bool:
    """The SDK's rule: a link needs a valid context, or attributes / tracestate to say why."""
    return bool(context and (context.is_valid or attributes or context.trace_state))
