"""One physical outgoing request (a ``Hop``) from its start to its :class:`~outcome.Outcome`.

``outbound.Call.hop`` starts it (with a CLIENT span when tracing is on; with the non-recording
``INVALID_SPAN`` when only metrics want its outcome); the client adapter reports the status line
(``respond``), a failure (``fail``) and the end of the response (``end``), which hands the hop's
outcome to the sinks chosen at ``init()`` for outgoing calls (end the span, record
``http.client.request.duration``). A hop nobody wants (tracing and metrics off) is the shared
``UNTRACED``: nothing to end, detach or record.

Imports: the standard library, opentelemetry and ``msatrace._core`` (the outcome step, spans,
the trace context and safety).
"""

from __future__ import annotations

import time
from contextvars import Token
from typing import Any

from opentelemetry.context import Context
from opentelemetry.trace import INVALID_SPAN, Span, Status, StatusCode

from msatrace._core.lifecycle import outcome
from msatrace._core.lifecycle.outcome import CLIENT, Outcome, Sink
from msatrace._core.safety import failed, guard
from msatrace._core.semconv import ERROR_TYPE, HTTP_RESPONSE_STATUS_CODE, NETWORK_PROTOCOL_VERSION
from msatrace._core.spans import tracing
from msatrace._core.trace.context import otel_detach


class Hop:
    """One physical request in flight: its span (``None``: nothing wants it) until it closes."""

    __slots__ = (
        "_sinks",
        "done_ns",
        "ended",
        "error",
        "method",
        "name",
        "request_id",
        "server_address",
        "server_port",
        "span",
        "start_ns",
        "status",
        "token",
    )

    def __init__(
        self,
        span: Span | None,
        sinks: tuple[Sink, ...] = (),
        *,
        name: str = "",
        method: str = "",
        start_ns: int = 0,
        request_id: str | None = None,
        server_address: str | None = None,
        server_port: int | None = None,
    ) -> None:
        self.span = span
        self._sinks = sinks
        self.name = name
        self.method = method
        self.start_ns = start_ns
        self.request_id = request_id
        self.server_address = server_address
        self.server_port = server_port
        self.token: Token[Context] | None = None
        self.ended = span is None
        self.done_ns: int | None = None
        self.status: int | None = None
        self.error: BaseException | None = None

    @property
    def superseded(self) -> bool:
        """A later hop of the same call started while this one's send() was still running."""
        return self.done_ns is not None

    def detach(self) -> None:
        """Undo the context attached for the send (the adapter's ``finally``)."""
        if self.token is not None:
            token, self.token = self.token, None
            otel_detach(token)

    def respond(self, status: int, protocol_version: str | None = None) -> None:
        """The response's status line arrived; semconv: 4xx and 5xx are errors for a client."""
        span = self.span
        if span is None or self.ended:
            return
        try:
            self.status = status  # for the outcome, recorded or not
            if not span.is_recording():
                return
            attrs: dict[str, Any] = {HTTP_RESPONSE_STATUS_CODE: status}
            if protocol_version:
                attrs[NETWORK_PROTOCOL_VERSION] = protocol_version
            if status >= 400:
                attrs[ERROR_TYPE] = str(status)
                span.set_status(Status(StatusCode.ERROR))
            span.set_attributes(attrs)
        except Exception as exc:
            failed("outbound.respond", exc)

    def fail(self, exc: BaseException) -> None:
        """The request failed (refused, timeout, TLS, broken body): error status, then end."""
        span = self.span
        if span is None or self.ended:
            return
        self.error = exc
        with guard("outbound.fail"):
            tracing.mark_error(span, exc, record=False)
        self.end()

    def end(self) -> None:
        """Hand the hop's :class:`~outcome.Outcome` to the sinks (once): the response was
        closed or fully read, or the request failed."""
        span = self.span
        if span is None or self.ended:
            return
        self.ended = True
        try:
            # The Outcome is built here rather than through outcome.finish(): its keyword
            # pass-through (**details) would build and unpack one more dict per hop.
            end_ns = self.done_ns
            # A metered hop with tracing off has the invalid span: no IDs, never sampled.
            measured_only = span is INVALID_SPAN
            ids = None if measured_only else outcome.hex_ids(span)
            outcome.deliver(
                Outcome.of(
                    kind=CLIENT,
                    name=self.name,
                    start_ns=self.start_ns,
                    end_ns=end_ns if end_ns is not None else time.time_ns(),
                    error=self.error,
                    span=span,
                    sampled=not measured_only and span.is_recording(),
                    trace_id=ids[0] if ids is not None else None,
                    span_id=ids[1] if ids is not None else None,
                    request_id=self.request_id,
                    method=self.method,
                    status=self.status,
                    server_address=self.server_address,
                    server_port=self.server_port,
                ),
                self._sinks,
            )
        except Exception as exc:
            failed("outbound.end", exc)


# Every hop nobody wants (tracing and metrics off): nothing to end, detach or record, so one is
# shared.
UNTRACED = Hop(None)
