"""The framework-neutral lifecycle of one incoming request.

An adapter reads ``inbound.active`` (``None``: not initialised), checks the path against its
``exclude_paths``, collects ``RequestFacts`` (method, path, addresses, the trace headers in a
``HeaderBag``) and calls its ``begin(facts)`` for a ``RequestScope``. The scope owns the SERVER
span, the attached OpenTelemetry context, the bound log fields and the timer; the adapter adds
its response headers (``with_response_headers`` or ``response_header_bytes``, in the
framework's form, or by the names in ``propagation``), calls ``fail(exc)`` if the application
raised, and always ``end()`` where the request ends (it never raises).

Every decision lives here or beside it, so the adapters only translate: span name and attributes
(``lifecycle.facts``: OpenTelemetry HTTP server semantic conventions, stable names), response
headers, access-log fields and levels, error policy.

Imports: the standard library, opentelemetry and ``msatrace._core``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from contextvars import Token
from typing import Any

from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind

from msatrace._core import runtime
from msatrace._core.debug import buffer, demand
from msatrace._core.errors import capture
from msatrace._core.lifecycle import outcome
from msatrace._core.lifecycle.facts import RequestFacts as RequestFacts
from msatrace._core.lifecycle.facts import describe
from msatrace._core.lifecycle.facts import span_name as span_name
from msatrace._core.lifecycle.outcome import SERVER, Outcome, Sink
from msatrace._core.safety import failed
from msatrace._core.spans.tracing import describer, mark_error
from msatrace._core.trace import context
from msatrace._core.trace.headers import new_request_id, with_missing
from msatrace._core.trace.propagation import Propagation

# RFC 6455 section 7.4.1: 1000 normal closure, 1001 going away (a WebSocketDisconnect's code).
_NORMAL_CLOSURE = frozenset((1000, 1001))
ACCESS_LOGGER = outcome.ACCESS_LOGGER
ERROR_LOGGER = "msatrace.error"


class RequestScope:
    """One request in flight: created by :meth:`Inbound.begin`, finished by :meth:`end`."""

    __slots__ = (
        "_debug_token",
        "_end_ns",
        "_ended",
        "_fields_token",
        "_ids",
        "_otel_token",
        "_sinks",
        "_start",
        "error",
        "facts",
        "propagation",
        "request_id",
        "span",
        "status",
        "trace_id_hex",
    )
    span: Span
    request_id: str
    propagation: Propagation  # its header names, for adapters that add the headers themselves
    error: BaseException | None
    status: int | None
    _end_ns: int | None
    _fields_token: Token[Mapping[str, Any]]
    _ids: tuple[str, str] | None
    _sinks: tuple[Sink, ...]

    def __init__(self, edge: Inbound, facts: RequestFacts) -> None:
        # The parent context, looked up once for the span and attach.
        if facts.headers.values:
            incoming = edge.propagation.extract(facts.headers)
            parent, links, trace_id = incoming.parent, incoming.links, incoming.trace_id
            request_id = incoming.request_id
            if parent is None:
                parent = context.otel_current()
        else:  # no trace header at all (a client at the edge): nothing to parse or trust
            parent, links, trace_id = context.otel_current(), (), 0
            request_id = new_request_id()
        self.request_id = request_id
        # One wall clock for the span's start and end and the access line's timestamp and
        # duration (as the SDK times spans): two clock reads per request.
        self._start = start = time.time_ns()
        # Name and attributes built only for a sampled span (none with tracing off).
        span = self.span = edge.start_span(
            parent, SpanKind.SERVER, describe, facts, links, trace_id, start
        )
        self.facts = facts
        ids = self._ids = outcome.hex_ids(span)
        self.trace_id_hex = ids[0] if ids is not None else "0" * 32
        self._sinks = edge.sinks
        self.error = None
        self.status = None
        self.propagation = edge.propagation
        self._ended = False
        self._end_ns = None
        # trace.set_span_in_context(span, parent) as one dict display; a request from the edge
        # has an empty parent context.
        ctx = (
            Context({**parent, context.SPAN_KEY: span})
            if parent
            else Context({context.SPAN_KEY: span})
        )
        self._debug_token = None
        if edge.debug:  # debug on error or on demand: this request's mode (``_core.debug``)
            key = edge.propagation.debug_key
            mode, with_token = demand.for_context(
                ids[0] if ids is not None else None,
                facts.headers.get(key) if key is not None else None,
                ctx,
            )
            self._debug_token = buffer.enter(mode)
            if with_token is not None:
                ctx = with_token  # the valid token travels on as baggage
        self._otel_token = context.otel_attach(ctx)
        self._fields_token = context.start_scope({"request_id": request_id})
        for began in edge.begins:  # last: end() balances it (never raises; see outcome.Begin)
            began(facts)

    def with_response_headers(
        self, app_headers: Iterable[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        """The application's headers (WSGI form) plus ours (``headers.with_missing``).

        Returns a new list: the application's own list is left untouched.
        """
        p = self.propagation
        return with_missing(
            app_headers,
            (p.trace_key, p.trace_header, self.trace_id_hex),
            (p.request_id_key, p.request_id_header, self.request_id),
            p.expose,
        )

    def response_header_bytes(
        self, app_headers: Iterable[tuple[bytes, bytes]]
    ) -> list[tuple[bytes, bytes]]:
        """The application's headers (ASGI form) plus ours, never overwriting one it set.

        Our names are lowercase, as ASGI asks. Returns a new list: the application's own list is
        left untouched (a response object may be sent more than once).
        """
        p = self.propagation
        trace_key, rid_key = p.trace_key_bytes, p.request_id_key_bytes
        return with_missing(
            app_headers,
            (trace_key, trace_key, self.trace_id_hex.encode("ascii")),
            (rid_key, rid_key, self.request_id.encode("ascii")),
            p.expose_bytes,
        )

    def response_finished(self, status: int | None = None) -> None:
        """The last byte of the response was handed to the server: stop the clock.

        The span and the access line are still written by :meth:`end`, so that an exception
        raised after the response (Starlette's error middleware sends the 500 first) is recorded.
        """
        if status is not None:
            self.status = status
        if self._end_ns is None:
            self._end_ns = time.time_ns()

    def fail(self, exc: BaseException, *, log: bool = True) -> None:
        """The application raised: record it on the span and capture it (logged once).

        Args:
            log: ``False`` when the framework handles the exception and logs it itself (Flask's
                ``app.logger``, Django's ``django.request``): that line, written inside the
                request's context, is then the one line with the trace ID. Calling ``fail``
                again for the same exception only captures it again (the span has it already).
        """
        if self.facts.kind == "websocket" and getattr(exc, "code", None) in _NORMAL_CLOSURE:
            return  # the client closed the connection normally: the handler's end, not a failure
        if exc is not self.error:
            self.error = exc
            mark_error(self.span, exc)
        facts = self.facts
        # The request's method and route go with the report (an unhandled exception is a 500).
        capture.capture(
            exc,
            logger=ERROR_LOGGER,
            message="unhandled exception",
            log=log,
            path=facts.path,
            method=facts.method,
            route=facts.route,
            status=500,
        )

    def abort(self, exc: BaseException) -> None:
        """The request was cancelled (client gone, server stopping): on the span, not logged.

        For ``BaseException`` that is not an ``Exception`` (``asyncio.CancelledError``,
        ``KeyboardInterrupt``): not a bug in the application, so no error log line.
        """
        mark_error(self.span, exc, record=False)

    def raised(self, exc: BaseException) -> None:
        """The application raised ``exc``: :meth:`fail` for an ``Exception``, :meth:`abort` for
        anything else (cancelled: the client went away, the worker stops). Never raises."""
        try:
            if isinstance(exc, Exception):
                self.fail(exc)
            else:
                self.abort(exc)
        except Exception as err:
            failed("inbound.raised", err)

    def end(self, status: int | None = None, *, detach: bool = True) -> None:
        """Hand the request's :class:`~outcome.Outcome` to the sinks (end the span, write the
        access line, ...), and detach the request's context.

        Never raises: an internal error is reported once (``safety.failed``) and the request
        goes on, so adapters call it directly, where the request ends.

        Args:
            status: the response status; defaults to the one recorded by
                :meth:`response_finished` (500 if the application raised without one).
            detach: ``False`` leaves the request's trace current in the calling context, for an
                adapter whose framework still answers after the adapter returned, in a context
                of the request's own (Django under ASGI: one task per request).
        """
        if self._ended:
            return
        self._ended = True
        try:
            error = self.error
            if status is None:
                status = self.status
            if status is None and error is not None:
                status = 500
            end_ns = self._end_ns
            if end_ns is None:
                end_ns = time.time_ns()
            facts = self.facts
            if facts.source is not None:  # the environ holds this scope: no cycle left behind
                facts.fill = facts.source = None
            route = facts.route
            span, ids = self.span, self._ids
            outcome.deliver(
                Outcome.of(
                    kind=SERVER,
                    name=span_name(facts.method, route, facts.kind),
                    start_ns=self._start,
                    end_ns=end_ns,
                    error=error,
                    span=span,
                    sampled=span.is_recording(),
                    trace_id=ids[0] if ids is not None else None,
                    span_id=ids[1] if ids is not None else None,
                    request_id=self.request_id,
                    method=facts.method,
                    route=route,
                    status=status,
                    request=facts,
                ),
                self._sinks,
            )
        except Exception as exc:
            failed("inbound.end", exc)
        finally:
            if detach:
                try:
                    context.end_scope(self._fields_token)
                    context.otel_detach(self._otel_token)
                    buffer.leave(self._debug_token)
                except Exception as exc:  # a token of another context: nothing to restore
                    failed("inbound.end", exc)


class Inbound:
    """What adapters need per request, resolved once per ``init()``: read it, don't change it."""

    __slots__ = (
        "begins",
        "cgi_names",
        "debug",
        "exclude_paths",
        "propagation",
        "recording",
        "sinks",
        "start_span",
        "wanted",
    )

    def __init__(self, rt: runtime.Runtime) -> None:
        self.exclude_paths = rt.exclude_paths
        self.debug = buffer.config.active  # set by init()'s logging configuration
        self.propagation = rt.propagation
        chosen = outcome.sinks_for(rt)  # once per init(): see outcome
        self.sinks = chosen.server
        self.begins = chosen.server_begin
        self.start_span = describer(rt.tracing)
        # False with tracing off: span attributes (server address, ...) need not be collected.
        self.recording = rt.tracing.tracer is not None
        # Header name as it arrives in ASGI (lowercase bytes) -> the HeaderBag key.
        self.wanted: dict[bytes, str] = {n.encode("ascii"): n for n in rt.propagation.wanted}
        # The same names as CGI variables (WSGI environ, Django's META), in the same order:
        # RFC 3875 section 4.1.18 upper-cases a header's name and turns "-" into "_".
        self.cgi_names = tuple(
            "HTTP_" + name.upper().replace("-", "_") for name in self.wanted.values()
        )

    def begin(self, facts: RequestFacts) -> RequestScope:
        """Start tracing a request that is not excluded (the caller checked the path)."""
        return RequestScope(self, facts)


# The adapters' view of the active runtime (None before init() and after shutdown()), kept
# current by runtime.watch: adapters read ``inbound.active`` on every request, without a call.
# Left unset until the first init(), so that a middleware's first read in a process that never
# called it goes through __getattr__: one warning, then a plain attribute, as after init().
active: Inbound | None
_log = logging.getLogger("msatrace")


def __getattr__(name: str) -> None:
    global active
    if name != "active":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    _log.warning(
        "msatrace: a request reached msatrace's middleware before msatrace.init() was called: "
        "requests are not traced and log lines carry no trace ID until init() runs"
    )
    active = None


def _runtime_changed(rt: runtime.Runtime | None) -> None:
    global active
    if rt is not None:
        active = Inbound(rt)
    elif "active" in globals():  # shutdown(): not the state before the first init()
        active = None


runtime.watch(_runtime_changed)
