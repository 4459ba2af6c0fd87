"""Checks, once at install, that the SDK still has the shape the lean tracer relies on.

The lean tracer (``lean``, ``leanspan``) leans on OpenTelemetry SDK behaviour that is not all
public API. Each entry below checks one of those names by using it as the lean path does and
comparing what comes out; ``unusable()`` runs them all. When one differs, ``tracing.install``
uses the provider's SDK tracer instead (as with ``lean_spans=false``) and logs one warning that
names the entry. Each entry has a canary test in ``tests/upstream/test_lean_canaries.py``, so an
upstream release that changes one fails CI naming it.

- ``ReadableSpan``: its constructor's keywords, and its public properties reading the fields it
  set (``LeanSpan`` changes ``_name``, ``_status``, ``_end_time``, ``_events`` and ``_links``
  after construction, as the SDK's own ``Span`` does). Checked by running a ``LeanSpan``.
- ``SpanProcessor._on_ending``: absent (SDK before 1.28) or a method taking the span.
- ``BoundedAttributes``: truncation, sequence cleaning, dropping the oldest key when full, a
  re-set key moving last, its ``dropped`` count (``LeanSpan._store`` mirrors these rules).
- ``BoundedList``: drops the oldest item when full and counts it in ``dropped``.
- ``SpanContext``: the 6-tuple ``lean.span_context_tuple`` builds without validation.

Imports: the standard library, opentelemetry and ``msatrace._core.spans.lean``.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, SpanProcessor
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.span import DEFAULT_TRACE_STATE

from msatrace._core.spans.lean import LeanTracer, span_context_tuple


@contextmanager
def _quiet(name: str) -> Iterator[None]:
    """Mute one logger while a probe makes it warn on purpose (once, in ``init()``)."""
    logger = logging.getLogger(name)
    mute = logging.Filter("\0")  # passes only a logger of that name: none
    logger.addFilter(mute)
    try:
        yield
    finally:
        logger.removeFilter(mute)


class _Keep(SpanProcessor):
    """Keeps what ``on_end`` receives."""

    def __init__(self) -> None:
        self.ended: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.ended.append(span)


def readable_span(processor: SpanProcessor) -> str | None:
    """A ``LeanSpan`` started, changed and ended reads back through ``ReadableSpan``'s public
    properties as given, as span processors' ``on_end`` gets it."""
    keep = _Keep()
    limits = SpanLimits(max_events=2, max_links=2, max_span_attributes=8)
    resource = Resource({"service.name": "probe"})
    tracer = LeanTracer(resource, keep, limits, (False, 1 << 64), "probe", "1")
    linked = SpanContext(3, 4, True, TraceFlags(1))
    span = tracer.start("first", None, SpanKind.SERVER, {"a": 1}, [Link(linked, {"l": 1})], 7, 10)
    span.update_name("second")
    span.set_attribute("b", "x")
    span.add_event("event", {"e": 1}, 11)
    span.set_status(Status(StatusCode.ERROR, "why"))
    span.end(12)
    if len(keep.ended) != 1:
        return f"on_end got {len(keep.ended)} spans, expected 1"
    got = keep.ended[0]
    scope = got.instrumentation_scope
    seen = (
        got.name,
        got.kind,
        got.get_span_context().trace_id,  # type: ignore[union-attr]  # None fails below
        dict(got.attributes or {}),
        [(e.name, dict(e.attributes or {}), e.timestamp) for e in got.events],
        [(link.context, dict(link.attributes or {})) for link in got.links],
        (got.status.status_code, got.status.description),
        (got.start_time, got.end_time),
        got.resource is resource,
        (scope.name, scope.version) if scope else None,
        (got.dropped_attributes, got.dropped_events, got.dropped_links),
    )
    expected = (
        "second",
        SpanKind.SERVER,
        7,
        {"a": 1, "b": "x"},
        [("event", {"e": 1}, 11)],
        [(linked, {"l": 1})],
        (StatusCode.ERROR, "why"),
        (10, 12),
        True,
        ("probe", "1"),
        (0, 0, 0),
    )
    if seen != expected:
        return f"the ended span reads back {seen!r}, expected {expected!r}"
    return None


def on_ending(processor: SpanProcessor) -> str | None:
    """The SDK calls ``_on_ending(span)`` before ``on_end`` where processors have it."""
    method = getattr(processor, "_on_ending", None)
    if method is None:
        return None  # older SDKs: nothing to call, as the SDK calls nothing
    try:
        params = list(inspect.signature(method).parameters.values())
    except (TypeError, ValueError):
        return "_on_ending has no readable signature"
    if len(params) != 1 or params[0].kind not in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        return f"_on_ending takes {[p.name for p in params]}, expected (span)"
    return None


def bounded_attributes(processor: SpanProcessor) -> str | None:
    """The cleaning and limit rules ``LeanSpan._store`` reproduces (truncation it leaves to
    ``BoundedAttributes`` itself)."""
    cleaned = BoundedAttributes(None, {"s": "abc", "l": [1, 2], "t": ["x"]}, max_value_len=3)
    if dict(cleaned) != {"s": "abc", "l": (1, 2), "t": ("x",)} or cleaned.dropped != 0:
        return f"cleaning gives {dict(cleaned)!r} (dropped {cleaned.dropped})"
    with _quiet("opentelemetry.attributes"):  # SDK 1.4x warns when a full dict drops a key
        full = BoundedAttributes(2, {"a": 1, "b": 2, "c": 3})
    if list(full) != ["b", "c"] or full.dropped != 1:
        return f"a full dict keeps {list(full)!r} (dropped {full.dropped}), expected ['b', 'c'] (1)"
    moved = BoundedAttributes(None, {"a": 1, "b": 2}, immutable=False)
    moved["a"] = 3
    if list(moved.items()) != [("b", 2), ("a", 3)]:
        return f"a re-set key gives {list(moved.items())!r}, expected it last"
    return None


def bounded_list(processor: SpanProcessor) -> str | None:
    """Events and links are kept in a ``BoundedList`` that drops the oldest."""
    items: BoundedList[str] = BoundedList(2)
    for item in "abc":
        items.append(item)
    if list(items) != ["b", "c"] or items.dropped != 1:
        return f"keeps {list(items)!r} (dropped {items.dropped}), expected ['b', 'c'] (1)"
    return None


def span_context(processor: SpanProcessor) -> str | None:
    """``SpanContext`` is still the 6-tuple that ``span_context_tuple`` fills."""
    flags = TraceFlags(1)
    fast = span_context_tuple(SpanContext, (5, 6, False, flags, DEFAULT_TRACE_STATE, True))
    slow = SpanContext(5, 6, False, flags, DEFAULT_TRACE_STATE)
    seen = (fast.trace_id, fast.span_id, fast.is_remote, fast.trace_flags, fast.is_valid)
    if fast != slow or seen != (5, 6, False, flags, True):
        return f"the tuple reads back {seen!r}, expected (5, 6, False, {flags!r}, True)"
    return None


ENTRIES: dict[str, Callable[[SpanProcessor], str | None]] = {
    "ReadableSpan": readable_span,
    "SpanProcessor._on_ending": on_ending,
    "BoundedAttributes": bounded_attributes,
    "BoundedList": bounded_list,
    "SpanContext": span_context,
}


def unusable(processor: SpanProcessor) -> str | None:
    """``None`` when the lean tracer may run over ``processor``; else what differs, by entry."""
    for name, check in ENTRIES.items():
        try:
            problem = check(processor)
        except Exception as exc:  # a changed API raises as often as it answers differently
            problem = f"{type(exc).__name__}: {exc}"
        if problem is not None:
            return f"{name}: {problem}"
    return None
