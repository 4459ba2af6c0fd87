"""``RedactingSpanExporter``: every span on a provider redacted before it leaves the process.

Wraps any ``SpanExporter`` (OTLP, console, in-memory): spans from msatrace's own instrumentation
and from any other instrumentation on the same provider pass through the same rules. Each span is
rebuilt with ``ReadableSpan``'s public constructor, with redacted copies of its attributes
(``url.full``, ``url.query``, headers, ...), its events and their attributes (an exception's
message and stack trace), its status description and its links' attributes; the original span
is not touched. A span needing nothing is passed on as it is.

Imports: the standard library, ``opentelemetry.sdk`` (the span types it copies), ``_core.safety``
and ``engine``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import Link, Status

from msatrace._core.redact.engine import Redactor
from msatrace._core.safety import failed


class RedactingSpanExporter(SpanExporter):
    """A ``SpanExporter`` that redacts each span, then hands it to ``exporter``.

    Install it where the exporter is given to the span processor::

        BatchSpanProcessor(RedactingSpanExporter(OTLPSpanExporter(...), redactor))

    The work happens on the processor's export thread, not on the request's.
    """

    def __init__(self, exporter: SpanExporter, redactor: Redactor) -> None:
        self.exporter = exporter
        self.redactor = redactor

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self.redactor.enabled:
            spans = [redact_span(self.redactor, s) for s in spans]
        return self.exporter.export(spans)

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)


def redact_span(redactor: Redactor, span: ReadableSpan) -> ReadableSpan:
    """``span`` with every attribute, event, status description and link redacted.

    On an internal failure the span keeps its identity and timing but none of its text.
    """
    try:
        return _copy(redactor, span)
    except Exception as exc:
        failed("redact.span", exc)
        return _copy(redactor, span, blank=True)


def _copy(redactor: Redactor, span: ReadableSpan, blank: bool = False) -> ReadableSpan:
    changed = False

    def attrs(original: Mapping[str, Any] | None, dropped: int) -> Any:
        nonlocal changed
        if not original:
            return original
        new = (
            dict.fromkeys(original, "[REDACTED:error]") if blank else redactor.attributes(original)
        )
        if new is original:
            return original
        changed = True
        bounded = BoundedAttributes(maxlen=None, attributes=new, immutable=True)
        bounded.dropped = dropped
        return bounded

    attributes = attrs(span.attributes, span.dropped_attributes)
    events = []
    for ev in span.events:
        ev_attrs = attrs(ev.attributes, ev.dropped_attributes)
        events.append(ev if ev_attrs is ev.attributes else Event(ev.name, ev_attrs, ev.timestamp))
    links = []
    for link in span.links:
        link_attrs = attrs(link.attributes, link.dropped_attributes)
        links.append(link if link_attrs is link.attributes else Link(link.context, link_attrs))
    status = span.status
    if status.description:
        text = "[REDACTED:error]" if blank else redactor.text(status.description)
        if text != status.description:
            changed = True
            status = Status(status.status_code, text)
    if not changed:
        return span
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=attributes,
        events=_bounded(events, span.dropped_events),
        links=_bounded(links, span.dropped_links),
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def _bounded(items: list[Any], dropped: int) -> Any:
    """The sequence ReadableSpan reads its dropped count from."""
    if not dropped:
        return tuple(items)
    out = BoundedList.from_seq(None, items)
    out.dropped = dropped
    return out
