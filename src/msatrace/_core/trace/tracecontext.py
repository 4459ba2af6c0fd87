"""W3C Trace Context for OpenTelemetry's objects: ``tracestate`` by the current grammar.

OpenTelemetry's ``TraceState`` and ``TraceContextTextMapPropagator`` validate ``tracestate`` by
an older grammar of the W3C text. ``W3CTraceState`` holds what ``headers.parse_tracestate``
accepts (the current grammar), and ``TraceContextPropagator`` is the global ``tracecontext``
propagator ``init()`` installs, so that other OpenTelemetry code in the process parses
``traceparent`` and ``tracestate`` as msatrace's own requests do.

Imports: the standard library, opentelemetry and ``msatrace._core.trace.headers``.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, Sequence, ValuesView
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import CarrierT, DefaultGetter, Getter
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from msatrace._core.trace import headers

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
_default_getter: Getter[Any] = DefaultGetter()


def tracestate(value: str | None) -> W3CTraceState | None:
    """A ``tracestate`` header value as a ``W3CTraceState``; ``None`` when invalid or empty.

    An invalid ``tracestate`` is dropped alone: the ``traceparent`` it came with stays valid.
    """
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
        state = tracestate(",".join(lines)) if lines else None
        sc = SpanContext(tp.trace_id, tp.span_id, True, TraceFlags(tp.flags), state)
        return trace.set_span_in_context(NonRecordingSpan(sc), ctx)
