"""Which headers carry the trace, and the trust-at-the-edge policy.

``Propagation`` is built once in ``init()`` from the settings: the configured OpenTelemetry
propagators (``OTEL_PROPAGATORS``) plus msatrace's legacy ``X-Trace-ID`` / ``X-Request-ID``.
Inbound: ``extract`` turns the headers of a request into a parent context (or a fresh trace with a
link, when incoming headers are not trusted). Outbound: ``inject`` writes every trace header for
the current context. ``XTraceIdPropagator`` ships the ``X-Trace-ID`` rules as an OpenTelemetry
``TextMapPropagator`` (entry point ``xtraceid``) for other OpenTelemetry code.

Imports: the standard library, opentelemetry and ``msatrace._core``.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import MutableMapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import (
    CarrierT,
    DefaultGetter,
    DefaultSetter,
    Getter,
    Setter,
    TextMapPropagator,
)
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, TraceFlags

from msatrace._core import upstream
from msatrace._core.config.settings import Settings
from msatrace._core.trace import context as ctxmod
from msatrace._core.trace import headers
from msatrace._core.trace.tracecontext import tracestate
from msatrace.exceptions import ConfigError

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
EXPOSE_HEADERS = "Access-Control-Expose-Headers"
_BUILTIN = ("tracecontext", "xtraceid")
_default_getter: Getter[Any] = DefaultGetter()
_default_setter: Setter[Any] = DefaultSetter()
_EMPTY = Context()


# The context key OpenTelemetry keeps baggage under (upstream entry otel.baggage-key); None: the
# layout changed, and ``inject`` calls the baggage propagator every time, as for any other one.
_BAGGAGE_KEY = upstream.BAGGAGE_KEY


class HeaderBag:
    """The trace-relevant headers of one request, by lowercase name.

    Adapters call ``add`` for each incoming header whose name is in ``Propagation.wanted``.
    A header that arrives more than once is joined with "," only where the specification allows it
    (tracestate, baggage); for the others the duplicate makes the value invalid.
    """

    __slots__ = ("values",)
    _JOINABLE = frozenset((TRACESTATE, "baggage"))

    def __init__(self) -> None:
        self.values: dict[str, str | None] = {}

    def add(self, name: str, value: str | None) -> None:
        """Record one header; ``value`` is ``None`` when it could not be decoded as ASCII."""
        if name not in self.values:
            self.values[name] = value
        elif name in self._JOINABLE and value is not None and self.values[name] is not None:
            self.values[name] = f"{self.values[name]},{value}"
        else:
            self.values[name] = None  # duplicated traceparent / X-Trace-ID: never trusted

    def get(self, name: str) -> str | None:
        """The header's value, or ``None`` if absent or invalid."""
        return self.values.get(name)


class _NoHeaders(HeaderBag):
    """The bag of a request that brought no trace header: one shared instance, never added to."""

    __slots__ = ()

    def add(self, name: str, value: str | None) -> None:
        raise TypeError("NO_HEADERS is shared by every request: start a HeaderBag() of your own")


NO_HEADERS: HeaderBag = _NoHeaders()


@dataclass(frozen=True)
class Incoming:
    """What the request's headers say about its trace, after validation and the trust policy."""

    parent: Context | None
    trace_id: int
    links: tuple[Link, ...]
    request_id: str


class Propagation:
    """Header names and propagators, resolved once in ``init()``."""

    def __init__(self, settings: Settings) -> None:
        self.trace_header = settings.trace_header
        self.request_id_header = settings.request_id_header
        self.trace_key = settings.trace_header.lower()
        self.request_id_key = settings.request_id_header.lower()
        # The same lowercase names as bytes, as ASGI sends and wants header names.
        self.trace_key_bytes = self.trace_key.encode("ascii")
        self.request_id_key_bytes = self.request_id_key.encode("ascii")
        self.trust_incoming = settings.trust_incoming
        # expose_headers: the response header that lets a browser's script read ours (CORS),
        # in both protocols' forms; None when the option is off.
        self.expose: headers.Expose[str] | None = None
        self.expose_bytes: headers.Expose[bytes] | None = None
        if settings.expose_headers:
            names = (settings.trace_header, settings.request_id_header)
            self.expose = headers.Expose(EXPOSE_HEADERS.lower(), EXPOSE_HEADERS, names, ", ")
            key = EXPOSE_HEADERS.lower().encode("ascii")
            self.expose_bytes = headers.Expose(
                key, key, tuple(n.encode("ascii") for n in names), b", "
            )
        self.tracecontext = "tracecontext" in settings.propagators
        self.others: tuple[TextMapPropagator, ...] = tuple(
            _load(name) for name in settings.propagators if name not in _BUILTIN
        )
        # When baggage is the only other propagator (the default configuration), inject reads
        # its context key itself first.
        only_baggage = len(self.others) == 1 and type(self.others[0]) is W3CBaggagePropagator
        self.baggage_key = _BAGGAGE_KEY if only_baggage else None
        wanted = {self.trace_key, self.request_id_key}
        if self.tracecontext:
            wanted |= {TRACEPARENT, TRACESTATE}
        for prop in self.others:
            wanted |= {f.lower() for f in prop.fields}
        # Debug on demand: the signed token's header is read only when a secret can check it.
        self.debug_key = settings.debug_header_name.lower() if settings.debug_secret else None
        if self.debug_key is not None:
            wanted.add(self.debug_key)
        self.wanted: frozenset[str] = frozenset(wanted)

    def extract(self, bag: HeaderBag, *, trusted: bool | None = None) -> Incoming:
        """Decide the parent of a request's server span from its (untrusted) headers.

        ``trusted`` overrides the ``trust_incoming`` setting (task messages from the service's
        own broker are always continued).
        """
        # Only the headers decide the parent, so extraction starts from an empty context, never
        # the current one: an in-process transport (httpx.ASGITransport, Starlette's TestClient)
        # runs the application inside the caller's context, whose current span is the caller's
        # CLIENT span, of a trace that may differ from the X-Trace-ID the caller set.
        ctx = _EMPTY
        if self.tracecontext:
            tp = headers.parse_traceparent(bag.get(TRACEPARENT))
            if tp is not None:
                state = tracestate(bag.get(TRACESTATE))
                sc = SpanContext(tp.trace_id, tp.span_id, True, TraceFlags(tp.flags), state)
                ctx = trace.set_span_in_context(NonRecordingSpan(sc), ctx)
        for prop in self.others:
            ctx = prop.extract(bag.values, ctx, _default_getter)
        request_id = headers.parse_request_id(bag.get(self.request_id_key))
        request_id = request_id or headers.new_request_id()
        parent_sc = trace.get_current_span(ctx).get_span_context()
        trace_id = 0
        if not parent_sc.is_valid:
            legacy = headers.parse_trace_id(bag.get(self.trace_key))
            trace_id = int(legacy, 16) if legacy else 0
        if self.trust_incoming if trusted is None else trusted:
            if not (parent_sc.is_valid or trace_id):
                # No trace named by the headers: the server span continues whatever context the
                # server runs it in (an outer OpenTelemetry middleware's span), plus any baggage.
                parent = Context({**otel_context.get_current(), **ctx}) if ctx else None
                return Incoming(parent, 0, (), request_id)
            return Incoming(ctx, trace_id, (), request_id)
        links: tuple[Link, ...] = ()
        if parent_sc.is_valid:
            links = (Link(parent_sc, {"msatrace.link": "untrusted_parent"}),)
        elif trace_id:
            sc = SpanContext(trace_id, random.getrandbits(64) or 1, True, TraceFlags(0))
            links = (Link(sc, {"msatrace.link": "untrusted_x_trace_id"}),)
        return Incoming(None, 0, links, request_id)

    def inject(self, carrier: MutableMapping[str, str], ctx: Context | None = None) -> None:
        """Write every trace header for ``ctx`` (default: current) into ``carrier``.

        The trace header (``X-Trace-ID``) is written exactly when ``ctx`` has a valid trace.
        """
        if ctx is None:
            ctx = otel_context.get_current()
        # SpanContext is declared as this tuple: unpacked once instead of five property calls.
        tid, sid, _, flags, state, valid = trace.get_current_span(ctx).get_span_context()
        if valid:
            trace_id = format(tid, "032x")
            if self.tracecontext:
                # headers.format_traceparent, inline: every outgoing call runs this
                carrier[TRACEPARENT] = f"00-{trace_id}-{sid:016x}-{flags & 0xFF:02x}"
                if state:
                    carrier[TRACESTATE] = state.to_header()
            carrier[self.trace_header] = trace_id
        baggage_key = self.baggage_key
        if baggage_key is not None:
            # W3CBaggagePropagator.inject writes nothing when the context holds no baggage,
            # the usual case: one dictionary lookup instead of its three-call read.
            if ctx.get(baggage_key):
                self.others[0].inject(carrier, ctx, _default_setter)
        else:
            for prop in self.others:
                prop.inject(carrier, ctx, _default_setter)
        request_id = ctxmod._fields.get().get("request_id")  # ctxmod.current_request_id()
        if isinstance(request_id, str):
            carrier[self.request_id_header] = request_id

    def all_fields(self) -> frozenset[str]:
        """Lowercase names of every header ``inject`` may write."""
        return self.wanted - {self.debug_key} if self.debug_key else self.wanted


def _load(name: str) -> TextMapPropagator:
    # The settings checked that every name is installed; loading it can still fail.
    for ep in entry_points(group="opentelemetry_propagator", name=name):
        try:
            return ep.load()()  # type: ignore[no-any-return]  # entry points are untyped
        except Exception as exc:
            raise ConfigError(
                f"propagators / OTEL_PROPAGATORS: the {name!r} propagator ({ep.value}) failed "
                f"to load: {type(exc).__name__}: {exc}"
            ) from None
    raise ConfigError(
        f"propagators / OTEL_PROPAGATORS: no OpenTelemetry propagator named {name!r} is installed"
    )


def otel_propagate() -> ModuleType:
    """``opentelemetry.propagate``, whose import cannot fail on ``OTEL_PROPAGATORS``.

    OpenTelemetry reads ``OTEL_PROPAGATORS`` when that module is first imported and raises
    ``ValueError`` for a name it cannot load, more strictly than the variable's specification
    (names are matched case-sensitively; an empty item fails). ``init()`` has checked the names
    and sets the global propagator itself, so the import-time default does not matter: if the
    import fails, it is done again without the variable.
    """
    module = sys.modules.get("opentelemetry.propagate")
    if module is not None:
        return module
    try:
        from opentelemetry import propagate
    except Exception:
        configured = os.environ.pop("OTEL_PROPAGATORS", None)
        if configured is None:
            raise
        try:
            from opentelemetry import propagate
        finally:
            os.environ["OTEL_PROPAGATORS"] = configured
    return propagate


class XTraceIdPropagator(TextMapPropagator):
    """The ``X-Trace-ID`` header as an OpenTelemetry propagator (entry point ``xtraceid``).

    Extract: a valid ``X-Trace-ID`` (32 hex digits or a UUID) becomes the remote parent's trace ID
    when no other propagator found a parent. Inject: the current trace ID as 32 lowercase hex.
    """

    header = "x-trace-id"

    def extract(
        self,
        carrier: CarrierT,
        context: Context | None = None,
        getter: Getter[CarrierT] = _default_getter,
    ) -> Context:
        """Continue the trace named by ``X-Trace-ID`` unless a parent is already known."""
        ctx = context if context is not None else Context()
        if trace.get_current_span(ctx).get_span_context().is_valid:
            return ctx
        values = getter.get(carrier, self.header)
        value = values[0] if values and len(values) == 1 else None
        tid = headers.parse_trace_id(value)
        if tid is None:
            return ctx
        sc = SpanContext(int(tid, 16), random.getrandbits(64) or 1, True, TraceFlags(1))
        return trace.set_span_in_context(NonRecordingSpan(sc), ctx)

    def inject(
        self,
        carrier: CarrierT,
        context: Context | None = None,
        setter: Setter[CarrierT] = _default_setter,
    ) -> None:
        """Write the current trace ID into ``X-Trace-ID``."""
        sc = trace.get_current_span(context).get_span_context()
        if sc.is_valid:
            setter.set(carrier, "X-Trace-ID", format(sc.trace_id, "032x"))

    @property
    def fields(self) -> set[str]:
        """The header this propagator reads and writes."""
        return {self.header}
