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

import random
from collections.abc import ItemsView, Iterator, KeysView, MutableMapping, Sequence, ValuesView
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
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
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, TraceFlags, TraceState
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from msatrace._core import context as ctxmod
from msatrace._core import headers
from msatrace._core.settings import Settings
from msatrace.exceptions import ConfigError

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
_BUILTIN = ("tracecontext", "xtraceid")
_default_getter: Getter[Any] = DefaultGetter()
_default_setter: Setter[Any] = DefaultSetter()
_EMPTY = Context()


def _baggage_key() -> str | None:
    """The context key OpenTelemetry keeps baggage under (private there), via its public API.

    ``None`` if the layout ever differs from one key holding the name/value dict: ``inject``
    then calls the baggage propagator every time, as for any other propagator.
    """
    ctx = baggage.set_baggage("k", "v", Context())
    keys = list(ctx)
    if len(keys) == 1 and ctx[keys[0]] == {"k": "v"}:
        return keys[0]
    return None


_BAGGAGE_KEY = _baggage_key()


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
                state = _tracestate(bag.get(TRACESTATE))
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
        return self.wanted


def _tracestate(value: str | None) -> TraceState | None:
    # An invalid tracestate is dropped; the traceparent it came with stays valid.
    members = headers.parse_tracestate(value)
    return W3CTraceState(members) if members else None


class W3CTraceState(TraceState):
    """OpenTelemetry's ``TraceState``, validated by the current W3C grammar.

    ``TraceState`` itself checks keys by an older grammar (no key starting with a digit, a
    ``tenant@system`` key split at most 241/14 characters) and would drop, with a warning, members
    that a current sender may send. This one holds what ``headers.parse_tracestate`` accepts,
    keeps its order, and applies the same grammar to ``add``, ``update`` and ``delete``, which
    return a ``W3CTraceState`` (the newest member first, as ``TraceState`` does). Every method of
    ``TraceState`` is overridden: none reads the parent's private storage.
    """

    def __init__(self, entries: Sequence[tuple[str, str]] | None = None) -> None:
        # TraceState.__init__ is not called: it would validate again by the older grammar.
        members: dict[str, str] = {}
        if entries is not None and len(entries) <= headers.TRACESTATE_MAX_MEMBERS:
            for key, value in entries:
                if headers.valid_tracestate_member(key, value) and key not in members:
                    members[key] = value
        self._members = members

    def __contains__(self, item: object) -> bool:
        return item in self._members

    def __getitem__(self, key: str) -> str:
        return self._members[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._members)

    def __len__(self) -> int:
        return len(self._members)

    def __repr__(self) -> str:
        return repr([f"{{key={k}, value={v}}}" for k, v in self._members.items()])

    def add(self, key: str, value: str) -> W3CTraceState:
        """A new state with ``key=value`` first; unchanged if invalid, present or full."""
        if (
            not headers.valid_tracestate_member(key, value)
            or key in self._members
            or len(self._members) >= headers.TRACESTATE_MAX_MEMBERS
        ):
            return self
        return W3CTraceState([(key, value), *self._members.items()])

    def update(self, key: str, value: str) -> W3CTraceState:
        """A new state with ``key=value`` first (added if absent and there is room)."""
        if not headers.valid_tracestate_member(key, value):
            return self
        rest = [(k, v) for k, v in self._members.items() if k != key]
        if len(rest) >= headers.TRACESTATE_MAX_MEMBERS:
            return self
        return W3CTraceState([(key, value), *rest])

    def delete(self, key: str) -> W3CTraceState:
        """A new state without ``key``; unchanged if it is absent."""
        if key not in self._members:
            return self
        return W3CTraceState([(k, v) for k, v in self._members.items() if k != key])

    def to_header(self) -> str:
        """The members as a ``tracestate`` value."""
        return headers.format_tracestate(list(self._members.items()))

    @classmethod
    def from_header(cls, header_list: list[str]) -> W3CTraceState:
        """Parse ``tracestate`` header lines (one list); empty when invalid."""
        return cls(headers.parse_tracestate(",".join(header_list)) or [])

    @classmethod
    def get_default(cls) -> W3CTraceState:
        """An empty state."""
        return cls()

    def keys(self) -> KeysView[str]:
        """The keys, in order."""
        return self._members.keys()

    def items(self) -> ItemsView[str, str]:
        """The (key, value) members, in order."""
        return self._members.items()

    def values(self) -> ValuesView[str]:
        """The values, in order."""
        return self._members.values()


def _load(name: str) -> TextMapPropagator:
    found = entry_points(group="opentelemetry_propagator", name=name)
    for ep in found:
        return ep.load()()  # type: ignore[no-any-return]  # entry points are untyped
    available = sorted(
        {ep.name for ep in entry_points(group="opentelemetry_propagator")} | {"none"}
    )
    raise ConfigError(
        f"propagators={name!r}: no OpenTelemetry propagator of that name is installed; "
        f"available: {', '.join(available)}"
    )


class TraceContextPropagator(TraceContextTextMapPropagator):
    """OpenTelemetry's W3C Trace Context propagator, parsing as msatrace's own requests do.

    ``init()`` installs it as the global ``tracecontext`` propagator, for other OpenTelemetry code
    in the process. ``extract`` reads ``traceparent`` with ``headers.parse_traceparent`` and
    ``tracestate`` with the current W3C grammar (``W3CTraceState``); ``inject`` is
    OpenTelemetry's.
    """

    def extract(
        self,
        carrier: CarrierT,
        context: Context | None = None,
        getter: Getter[CarrierT] = _default_getter,
    ) -> Context:
        """The parent named by ``traceparent`` and its ``tracestate``, if valid."""
        ctx = context if context is not None else Context()
        values = getter.get(carrier, TRACEPARENT)
        tp = headers.parse_traceparent(values[0] if values and len(values) == 1 else None)
        if tp is None:
            return ctx
        lines = getter.get(carrier, TRACESTATE)
        state = _tracestate(",".join(lines)) if lines else None
        sc = SpanContext(tp.trace_id, tp.span_id, True, TraceFlags(tp.flags), state)
        return trace.set_span_in_context(NonRecordingSpan(sc), ctx)


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
