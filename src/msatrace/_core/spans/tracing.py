"""The TracerProvider; and the one way msatrace starts a span.

``install(settings)`` builds an SDK ``TracerProvider`` from ``spans.setup``'s sampler, exporter
and resource (or adopts one the application or
``opentelemetry-instrument`` already set globally). ``start_span`` is used by every adapter; with
tracing off it still returns a span with a fresh, valid trace ID (a ``NonRecordingSpan``) so logs
and headers always carry one.

Imports: the standard library, opentelemetry and ``msatrace._core``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol, TypeVar

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import (
    SpanLimits,
    SynchronousMultiSpanProcessor,
    TracerProvider,
    sampling,
)
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)
from opentelemetry.trace.span import DEFAULT_TRACE_STATE
from opentelemetry.util.types import Attributes

from msatrace._core import upstream
from msatrace._core.config.settings import Settings
from msatrace._core.redact.engine import Redactor
from msatrace._core.redact.spans import RedactingSpanExporter
from msatrace._core.semconv import (
    ERROR_TYPE,
)
from msatrace._core.spans import export, leanshape, setup
from msatrace._core.spans.lean import LeanTracer, decider, given, span_context_tuple
from msatrace._core.spans.setup import destination as destination
from msatrace._core.spans.setup import resource as resource
from msatrace._core.trace.context import SPAN_KEY, otel_current, parent_span_context
from msatrace._version import __version__

_log = logging.getLogger("msatrace")
INSTRUMENTATION_SCOPE = "msatrace"
# Set while msatrace starts a root span that must continue a trace ID received in X-Trace-ID
# without a parent span (issue #2: "With only X-Trace-ID, the trace continues under that ID").
_forced_trace_id: ContextVar[int] = ContextVar("msatrace.forced_trace_id", default=0)
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT)
_getrandbits = random.getrandbits
T = TypeVar("T")


class _IdGenerator(IdGenerator):
    """Random IDs (or another generator's), except a root trace ID forced from ``X-Trace-ID``."""

    def __init__(self, inner: IdGenerator | None = None) -> None:
        self._inner = inner

    def generate_span_id(self) -> int:
        if self._inner is not None:
            return self._inner.generate_span_id()
        span_id = random.getrandbits(64)
        while span_id == 0:
            span_id = random.getrandbits(64)
        return span_id

    def generate_trace_id(self) -> int:
        forced = _forced_trace_id.get()
        if forced:
            return forced
        if self._inner is not None:
            return self._inner.generate_trace_id()
        trace_id = random.getrandbits(128)
        while trace_id == 0:
            trace_id = random.getrandbits(128)
        return trace_id

    def is_trace_id_random(self) -> bool:
        """W3C Level 2 "random" flag: not for a trace ID that came from a header."""
        if _forced_trace_id.get():
            return False
        inner = getattr(self._inner, "is_trace_id_random", None)
        return bool(inner()) if inner is not None else True


_ids = _IdGenerator()


@dataclass
class Tracing:
    """What ``install`` set up; ``owned`` is False when an existing provider was adopted."""

    tracer: trace.Tracer | None
    provider: trace.TracerProvider | None
    owned: bool
    # An adopted provider's own ID generator, which msatrace wrapped: given back at shutdown.
    adopted_ids: IdGenerator | None = None
    # The export pipeline of an owned provider (None: spans are not exported).
    batch: export.Batch | None = None

    def flush(self, timeout: float) -> bool:
        """Export buffered spans of an owned provider, waiting at most ``timeout`` seconds."""
        if self.owned and isinstance(self.provider, TracerProvider):
            return export.flush(self.provider, self.batch, timeout)
        return True

    def shutdown(self, timeout: float) -> None:
        """Flush and stop an owned provider within ``timeout``; an adopted one belongs to its
        owner, who gets its ID generator back."""
        provider = self.provider
        if not isinstance(provider, TracerProvider):
            return
        if not self.owned:
            if self.adopted_ids is not None and isinstance(provider.id_generator, _IdGenerator):
                provider.id_generator = self.adopted_ids  # type: ignore[assignment]  # the SDK annotates its default class
            return
        try:
            export.close(provider, self.batch, timeout)
        finally:
            _forget_global(provider)


def _forget_global(provider: TracerProvider) -> None:
    """Un-set the global provider we installed, so a later ``init()`` can install a fresh one.

    OpenTelemetry allows ``set_tracer_provider`` once per process (it has no public reset);
    msatrace only ever resets a provider it installed itself and has just shut down.
    """
    upstream.forget_tracer_provider(provider)  # private names, never raises: see upstream


def install(settings: Settings) -> Tracing:
    """Install (or adopt) the global TracerProvider and return the tracer msatrace uses."""
    if not settings.tracing:
        return Tracing(tracer=None, provider=None, owned=False)
    existing = trace.get_tracer_provider()
    if not isinstance(existing, trace.ProxyTracerProvider):
        _log.debug("msatrace: using the TracerProvider already installed (%r)", existing)
        adopted_ids = None
        if isinstance(existing, TracerProvider) and not isinstance(
            existing.id_generator, _IdGenerator
        ):
            # Keep the owner's generator, but let an incoming X-Trace-ID name the root trace.
            adopted_ids = existing.id_generator
            existing.id_generator = _IdGenerator(adopted_ids)  # type: ignore[assignment]  # the SDK annotates its default class
        tracer = existing.get_tracer(INSTRUMENTATION_SCOPE, __version__)
        return Tracing(tracer, existing, False, adopted_ids)
    sampler = setup.sampler(settings)
    limits = SpanLimits()  # from OTEL_SPAN_*_LIMIT / OTEL_ATTRIBUTE_*_LIMIT, as the SDK's default
    processors = SynchronousMultiSpanProcessor()  # type: ignore[no-untyped-call]
    provider = TracerProvider(
        resource=resource(settings),
        sampler=sampler,
        id_generator=_ids,
        span_limits=limits,
        active_span_processor=processors,
        # The SDK's own exit hook waits up to 30 s for the export thread, whatever the timeout:
        # msatrace's exit flush (runtime) is bounded by the shutdown timeout instead.
        shutdown_on_exit=False,
    )
    exporter = setup.exporter(settings)
    batch = None
    redactor = Redactor.from_settings(settings)
    if exporter is not None and redactor.enabled:
        # Spans are frozen once they end: every producer's spans on this provider (msatrace's,
        # other instrumentation's) are redacted on their way out, by wrapping the exporter.
        exporter = RedactingSpanExporter(exporter, redactor)
    if exporter is not None:
        # BatchSpanProcessor re-creates its worker thread after fork (os.register_at_fork), so
        # every gunicorn --preload worker exports its own spans with no user hook.
        batch = export.Batch(exporter)
        provider.add_span_processor(batch)
    trace.set_tracer_provider(provider)
    return Tracing(_own_tracer(settings, provider, processors, limits), provider, True, None, batch)


def _own_tracer(
    settings: Settings,
    provider: TracerProvider,
    processors: SynchronousMultiSpanProcessor,
    limits: SpanLimits,
) -> trace.Tracer:
    """The tracer of msatrace's own spans on a provider it installed: the lean tracer (the
    same resource, limits, sampling rule and processors as the SDK tracer, at a fraction of its
    cost), or the provider's SDK tracer with ``lean_spans=false`` or when the installed SDK no
    longer has the shape the lean tracer relies on (``leanshape``; one warning says which)."""
    if settings.lean_spans:
        problem = leanshape.unusable(processors)
        if problem is None:
            bound = sampling.TraceIdRatioBased.get_bound_for_rate(settings.sampler_arg)
            return LeanTracer(
                provider.resource,
                processors,
                limits,
                decider(settings.sampler, settings.sampler_arg, bound),
                INSTRUMENTATION_SCOPE,
                __version__,
            )
        _log.warning(
            "msatrace: this OpenTelemetry SDK differs from what msatrace's lean spans rely on "
            "(%s); msatrace's spans come from the SDK tracer instead (as with lean_spans=false)",
            problem,
        )
    return provider.get_tracer(INSTRUMENTATION_SCOPE, __version__)


def start_span(
    tracing: Tracing,
    name: str,
    kind: SpanKind,
    parent: Context | None,
    attributes: Attributes = None,
    links: Sequence[Link] | None = None,
    trace_id: int = 0,
    start_time: int | None = None,
) -> Span:
    """Start a span; with tracing off, a non-recording span that still carries valid IDs.

    ``trace_id`` continues a trace known only by its ID (no parent span): the new span is a root
    span of that trace. ``start_time`` (ns since the epoch) defaults to now.
    """
    tracer = tracing.tracer
    if tracer is None:
        return _start_off(parent, kind, given, (name, attributes), links, trace_id)
    if isinstance(tracer, LeanTracer):
        return tracer.start(name, parent, kind, attributes, links, trace_id, start_time)
    if not trace_id:
        return tracer.start_span(name, parent, kind, attributes, links, start_time)
    token = _forced_trace_id.set(trace_id)
    try:
        return tracer.start_span(name, parent, kind, attributes, links, start_time)
    finally:
        _forced_trace_id.reset(token)


class Describer(Protocol):
    """Starts a span whose name and attributes come from ``describe(subject)``.

    msatrace's own tracer calls ``describe`` only for a sampled span, so a request that is not
    sampled does not build them; tracing off never calls it; an SDK tracer (``lean_spans=false``,
    an adopted provider) gets them before its sampler runs. ``trace_id`` names the trace of a
    root span (from X-Trace-ID); ``start_time`` (ns since the epoch) is the span's start.
    """

    def __call__(
        self,
        context: Context | None,
        kind: SpanKind,
        describe: Callable[[T], tuple[str, Attributes]],
        subject: T,
        links: Sequence[Link] | None,
        trace_id: int = 0,
        start_time: int | None = None,
    ) -> Span: ...


def describer(tracing: Tracing) -> Describer:
    """The :class:`Describer` for ``tracing``: resolved once (per ``init()``), called per span."""
    tracer = tracing.tracer
    if tracer is None:
        return _start_off
    if type(tracer) is LeanTracer:
        return tracer.start_described

    def start_described(
        context: Context | None,
        kind: SpanKind,
        describe: Callable[[T], tuple[str, Attributes]],
        subject: T,
        links: Sequence[Link] | None,
        trace_id: int = 0,
        start_time: int | None = None,
    ) -> Span:
        name, attributes = describe(subject)
        return start_span(tracing, name, kind, context, attributes, links, trace_id, start_time)

    return start_described


def _start_off(
    context: Context | None,
    kind: SpanKind,
    describe: Callable[[T], tuple[str, Attributes]],
    subject: T,
    links: Sequence[Link] | None,
    trace_id: int = 0,
    start_time: int | None = None,
) -> Span:
    """Tracing off: a non-recording span with valid IDs, the parent's trace or a new one.

    IDs straight from ``random`` (what _IdGenerator does without an inner generator), on every
    request, so kept to the minimum: no span in the context (a request from the edge) means no
    parent to look up; nothing is described.
    """
    ctx = context if context is not None else otel_current()
    parent_sc = parent_span_context(ctx) if SPAN_KEY in ctx else None
    if parent_sc is not None:
        tid, flags = parent_sc.trace_id, parent_sc.trace_flags
    else:
        tid, flags = trace_id or _getrandbits(128) or 1, _NOT_SAMPLED
    # A fresh random span ID; the context built as spans.span_context_tuple explains.
    span_id = _getrandbits(64) or 1
    return NonRecordingSpan(
        span_context_tuple(SpanContext, (tid, span_id, False, flags, DEFAULT_TRACE_STATE, True))
    )


def error_type(exc: BaseException) -> str:
    """semconv ``error.type`` for an exception: its fully-qualified class name (builtins bare)."""
    cls = type(exc)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def mark_error(span: Span, exc: BaseException, *, record: bool = True) -> None:
    """ERROR status and ``error.type`` on ``span``; with ``record``, the exception as an event."""
    if not span.is_recording():
        return
    kind = error_type(exc)
    if record:
        span.record_exception(exc)
    span.set_attribute(ERROR_TYPE, kind)
    span.set_status(Status(StatusCode.ERROR, kind))
