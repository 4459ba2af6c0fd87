"""The end of a request, a hop and a task: one ``Outcome`` record, handed to the sinks.

``RequestScope.end``, ``Hop.end`` and ``TaskRun.end`` each build one :class:`Outcome` (what
ended, how, when, in which trace) and call :func:`deliver` with the sinks of its kind. The
sinks are chosen once per ``init()`` from the settings, not per request: with tracing off there
is no span sink, with the access log off no access-line sink. A sink that raises is reported
once per minute (``safety.failed``, site ``outcome.<sink>``); the other sinks still run and the
application never sees it.

A new sink (RED metrics, error capture) is one function taking an ``Outcome`` and one factory
registered with :func:`add_sink`, which says, per ``init()`` and per kind, whether the sink runs:

    def _metrics(rt: runtime.Runtime, kind: Kind) -> Sink | None:
        return recorder(rt.settings).record if rt.settings.metrics else None

    add_sink(_metrics)

A sink's own package (``_core/metrics``) sits below the lifecycles and never imports them: its
factory, beside this module (``lifecycle.metered``), connects the two, so a recorder plugs in as
one more entry of ``_factories``.

Imports: the standard library, opentelemetry, ``_core.runtime``, ``_core.spans`` (``error.type``),
``_core.logs`` (the access line, the kept debug lines), ``_core.debug`` (the request's debug
mode), ``lifecycle.metered``, ``_core.safety`` and ``_core.semconv``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from opentelemetry.trace import Span, Status, StatusCode

from msatrace._core import runtime
from msatrace._core.debug import buffer
from msatrace._core.lifecycle import metered
from msatrace._core.logs import access, builder
from msatrace._core.safety import failed
from msatrace._core.semconv import ERROR_TYPE, HTTP_RESPONSE_STATUS_CODE, HTTP_ROUTE
from msatrace._core.spans.tracing import error_type

if TYPE_CHECKING:
    from msatrace._core.lifecycle.facts import RequestFacts

Kind = Literal["server", "client", "task"]
SERVER: Kind = "server"
CLIENT: Kind = "client"
TASK: Kind = "task"
KINDS: tuple[Kind, ...] = (SERVER, CLIENT, TASK)
ACCESS_LOGGER = "msatrace.access"


class Outcome(NamedTuple):
    """How one incoming request, outgoing hop or task ended; built by keyword, read-only.

    A named tuple rather than a frozen dataclass: as immutable, and built in one call (a frozen
    dataclass sets each field through ``object.__setattr__``). The lifecycles build it with
    :meth:`of`, by keyword: calling the class itself by keyword makes CPython gather the keywords
    into a dict for ``__new__`` on every request, which a plain function's keywords do not.
    What can be derived is a property instead of a field.
    """

    kind: Kind
    # The span's name as it ends ("GET /orders/{id}", "GET", "orders.add").
    name: str
    # Wall clock, in nanoseconds since the epoch.
    start_ns: int
    end_ns: int
    # The exception the application or the transport raised (see also ``error_type``).
    error: BaseException | None
    # The span (a non-recording one when not sampled), whether it records (sampled: False
    # with tracing off; read before it ended), its trace and span IDs as lowercase hex (None
    # outside a valid trace), and the ID of the request it belongs to.
    span: Span
    sampled: bool
    trace_id: str | None
    span_id: str | None
    request_id: str | None
    # HTTP: the request method as received or sent; the route template the framework matched
    # (a server request; None: no route, e.g. a 404); the response status (None: no response).
    method: str | None = None
    route: str | None = None
    status: int | None = None
    # A server request: what the adapter read from it (path, client address, User-Agent: the
    # access line, which takes the log fields bound at its end from the context).
    request: RequestFacts | None = None
    # A task's messaging system ("celery") and final state ("SUCCESS"), when known.
    system: str | None = None
    state: str | None = None
    # A message's run: messaging.operation.name ("send", "process") and the queue (semconv
    # messaging.destination.name); None for an @task run.
    operation: str | None = None
    destination: str | None = None
    # An outgoing hop: the host and port it was sent to (semconv server.address, server.port).
    server_address: str | None = None
    server_port: int | None = None

    @classmethod
    def of(
        cls,
        *,
        kind: Kind,
        name: str,
        start_ns: int,
        end_ns: int,
        error: BaseException | None,
        span: Span,
        sampled: bool,
        trace_id: str | None,
        span_id: str | None,
        request_id: str | None,
        method: str | None = None,
        route: str | None = None,
        status: int | None = None,
        request: RequestFacts | None = None,
        system: str | None = None,
        state: str | None = None,
        operation: str | None = None,
        destination: str | None = None,
        server_address: str | None = None,
        server_port: int | None = None,
    ) -> Outcome:
        """An ``Outcome`` by keyword (the fields above, in their order)."""
        return cls(
            kind,
            name,
            start_ns,
            end_ns,
            error,
            span,
            sampled,
            trace_id,
            span_id,
            request_id,
            method,
            route,
            status,
            request,
            system,
            state,
            operation,
            destination,
            server_address,
            server_port,
        )

    @property
    def duration_s(self) -> float:
        """Seconds from start to end; never negative, should the wall clock step back."""
        elapsed = self.end_ns - self.start_ns
        return elapsed / 1e9 if elapsed > 0 else 0.0

    @property
    def error_type(self) -> str | None:
        """semconv ``error.type``: the exception's class, else the status code of an error
        response (5xx for a server, 4xx and 5xx for a client), else None."""
        if self.error is not None:
            return error_type(self.error)
        status = self.status
        if status is None or status < (500 if self.kind == SERVER else 400):
            return None
        return str(status)


Sink = Callable[[Outcome], object]
# Called once per init() for each kind: the sink that kind's outcomes go to, or None.
SinkFactory = Callable[[runtime.Runtime, Kind], "Sink | None"]
# Called when a server request begins (after its span started, so its facts are final), never
# raising: what a sink must balance at the end (http.server.active_requests). Chosen once per
# init() by a BeginFactory, as sinks are.
Begin = Callable[["RequestFacts"], object]
BeginFactory = Callable[[runtime.Runtime], "Begin | None"]


def deliver(outcome: Outcome, sinks: tuple[Sink, ...]) -> None:
    """Hand ``outcome`` to each sink; one that raises is reported and the next still runs."""
    for sink in sinks:
        try:
            sink(outcome)
        except Exception as exc:
            failed(f"outcome.{getattr(sink, '__name__', 'sink')}", exc)


def finish(
    sinks: tuple[Sink, ...],
    *,
    kind: Kind,
    name: str,
    span: Span,
    start_ns: int,
    end_ns: int,
    error: BaseException | None,
    request_id: str | None,
    **details: Any,
) -> None:
    """Build the :class:`Outcome` of ``span``'s task (its IDs and whether it records
    read from the span) and :func:`deliver` it; ``details`` are the kind's own fields. A hop
    builds its own (``hop.Hop.end``), without the keyword pass-through."""
    ids = hex_ids(span)
    deliver(
        Outcome.of(
            kind=kind,
            name=name,
            start_ns=start_ns,
            end_ns=end_ns,
            error=error,
            span=span,
            sampled=span.is_recording(),
            trace_id=ids[0] if ids is not None else None,
            span_id=ids[1] if ids is not None else None,
            request_id=request_id,
            **details,
        ),
        sinks,
    )


def hex_ids(span: Span) -> tuple[str, str] | None:
    """The span's trace and span IDs as lowercase hex, or None for an invalid span context."""
    sc = span.get_span_context()
    trace_id = sc.trace_id
    if not trace_id:
        return None
    return trace_id.to_bytes(16, "big").hex(), sc.span_id.to_bytes(8, "big").hex()


# --- the sinks every init() may choose ---


def end_server_span(outcome: Outcome) -> None:
    """A request's SERVER span: named by route, the response's status, then ended."""
    if not outcome.sampled:
        return
    span, route, status = outcome.span, outcome.route, outcome.status
    attrs: dict[str, Any] = {}
    if route:
        span.update_name(outcome.name)
        attrs[HTTP_ROUTE] = route
    if status is not None:
        attrs[HTTP_RESPONSE_STATUS_CODE] = status
        # semconv: a server's 5xx is an error; an exception set its own error.type already.
        if status >= 500 and outcome.error is None:
            attrs[ERROR_TYPE] = str(status)
            span.set_status(Status(StatusCode.ERROR))
    if attrs:
        span.set_attributes(attrs)
    span.end(outcome.end_ns)


def end_client_span(outcome: Outcome) -> None:
    """A hop's CLIENT span (its status was recorded when the status line arrived)."""
    outcome.span.end(outcome.end_ns)


def end_task_span(outcome: Outcome) -> None:
    """A task's span, with the task's final state in the system's namespace."""
    span = outcome.span
    if outcome.state is not None and outcome.system and outcome.sampled:
        span.set_attributes({f"{outcome.system}.task.state": outcome.state})
    span.end(outcome.end_ns)


def write_access_line(outcome: Outcome) -> None:
    """A request's access line (``logs.access``): one per request, ERROR for a 5xx or none."""
    status, route, method, request = outcome.status, outcome.route, outcome.method, outcome.request
    if request is None:
        return  # not a server request
    trace_id, span_id = outcome.trace_id, outcome.span_id
    elapsed = outcome.end_ns - outcome.start_ns + 500  # rounded to the microsecond, below
    access.write(
        logger=ACCESS_LOGGER,
        level="error" if status is None or status >= 500 else "info",
        event=f"{method} {route or request.path} {status}",
        ids=(trace_id, span_id) if trace_id is not None and span_id is not None else None,
        method=method or "",
        route=route,
        path=request.path,
        status=status,
        # Nanoseconds to milliseconds, 3 decimals (to the microsecond), as round(.., 3); never
        # negative, should the wall clock step back.
        duration_ms=elapsed // 1000 / 1000 if elapsed > 0 else 0.0,
        client_address=request.client_address,
        user_agent=request.user_agent,
        time_ns=outcome.end_ns,
    )


def flush_debug_buffer(outcome: Outcome) -> None:
    """Debug on error: a request or task that failed writes the lines it kept below the level
    (before its access line); one that did not drops them when its mode is left."""
    if outcome.error is None and (
        outcome.kind != SERVER or (outcome.status is not None and outcome.status < 500)
    ):
        return
    mode = buffer.current()
    if isinstance(mode, buffer.Buffer) and mode:
        builder.flush(mode)


def _debug_sink(rt: runtime.Runtime, kind: Kind) -> Sink | None:
    return flush_debug_buffer if kind != CLIENT and rt.settings.debug_on_error else None


_SPAN_SINKS: dict[Kind, Sink] = {
    SERVER: end_server_span,
    CLIENT: end_client_span,
    TASK: end_task_span,
}


def _span_sink(rt: runtime.Runtime, kind: Kind) -> Sink | None:
    # Tracing off: every span is a non-recording one, with nothing to end.
    return _SPAN_SINKS[kind] if rt.tracing.tracer is not None else None


def _access_sink(rt: runtime.Runtime, kind: Kind) -> Sink | None:
    return write_access_line if kind == SERVER and rt.settings.access_log else None


# --- choosing the sinks, once per init() ---


@dataclass(frozen=True, slots=True)
class Sinks:
    """The sinks of each kind for one ``init()``."""

    server: tuple[Sink, ...]
    client: tuple[Sink, ...]
    task: tuple[Sink, ...]
    # Run when a server request begins (see Begin).
    server_begin: tuple[Begin, ...] = ()


# In order: the kept debug lines of a failed request (before its error lines), the span ends
# (its exporter sees it at once), then the access line.
_factories: list[SinkFactory] = [_debug_sink, _span_sink, _access_sink, metered.sink]
_begin_factories: list[BeginFactory] = [metered.active_begin]
_chosen: tuple[runtime.Runtime, Sinks] | None = None


def add_sink(factory: SinkFactory) -> None:
    """Register a sink: ``factory(rt, kind)`` is called at each ``init()`` for each kind and
    returns the sink for that kind's outcomes, or ``None`` (its setting is off). Sinks run in
    the order they were added, after the span and access-line sinks; from the next ``init()``.
    """
    _factories.append(factory)


def sinks_for(rt: runtime.Runtime) -> Sinks:
    """The sinks chosen for ``rt`` (at its ``init()``)."""
    chosen = _chosen
    if chosen is not None and chosen[0] is rt:
        return chosen[1]
    return _choose(rt)


def _choose(rt: runtime.Runtime) -> Sinks:
    def of(kind: Kind) -> tuple[Sink, ...]:
        found = (factory(rt, kind) for factory in _factories)
        return tuple(sink for sink in found if sink is not None)

    begins = (factory(rt) for factory in _begin_factories)
    return Sinks(of(SERVER), of(CLIENT), of(TASK), tuple(b for b in begins if b is not None))


def _runtime_changed(rt: runtime.Runtime | None) -> None:
    global _chosen
    _chosen = (rt, _choose(rt)) if rt is not None else None


runtime.watch(_runtime_changed)
