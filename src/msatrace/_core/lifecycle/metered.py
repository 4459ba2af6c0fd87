"""The RED-metrics sinks of the outcome step: ``_core.metrics``'s recorder, fed by outcomes.

:func:`sink` is the sink factory (``outcome.SinkFactory``) for requests, outgoing hops and tasks;
:func:`active_begin` the begin hook that counts a request in ``http.server.active_requests``
(its sink takes it back). Both return ``None`` with metrics off. ``_core.metrics`` sits below the
lifecycles and never imports them: this module connects the two.

Imports: ``_core.runtime`` (and ``lifecycle.outcome``'s types, for annotations only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from msatrace._core import runtime

if TYPE_CHECKING:
    from msatrace._core.lifecycle.facts import RequestFacts
    from msatrace._core.lifecycle.outcome import Begin, Kind, Outcome, Sink


def sink(rt: runtime.Runtime, kind: Kind) -> Sink | None:
    """RED metrics (``_core.metrics``): requests, outgoing hops and tasks; none with metrics
    off."""
    if rt.metrics is None:
        return None
    recorder = rt.metrics.recorder
    if kind == "server":
        record_server = recorder.record_server

        def record_request(outcome: Outcome) -> None:
            request = outcome.request
            scheme = (request.scheme if request is not None else None) or "http"
            # The begin hook counted it with the same method and scheme (the facts are final
            # once the span started): was_active returns the gauge to 0 whatever the ending.
            record_server(
                method=outcome.method or "_OTHER",
                route=outcome.route,
                status=outcome.status,
                scheme=scheme,
                error_type=outcome.error_type,
                duration_s=outcome.duration_s,
                trace_id=outcome.trace_id,
                span_id=outcome.span_id,
                sampled=outcome.sampled,
                was_active=True,
            )

        return record_request
    if kind == "task":
        process, publish = recorder.record_process, recorder.record_publish

        def record_task(outcome: Outcome) -> None:
            operation = outcome.operation
            if operation is not None:  # a message: the messaging semconv's duration metrics
                (process if operation == "process" else publish)(
                    operation=operation,
                    system=outcome.system or "",
                    destination=outcome.destination,
                    error_type=outcome.error_type,
                    duration_s=outcome.duration_s,
                    trace_id=outcome.trace_id,
                    span_id=outcome.span_id,
                    sampled=outcome.sampled,
                )
                return
            recorder.record_task(
                name=outcome.name,
                outcome="failure" if outcome.error is not None else "success",
                error_type=outcome.error_type,
                duration_s=outcome.duration_s,
                trace_id=outcome.trace_id,
                span_id=outcome.span_id,
                sampled=outcome.sampled,
            )

        return record_task
    # kind == "client"

    def record_hop(outcome: Outcome) -> None:
        recorder.record_client(
            method=outcome.method or "_OTHER",
            server_address=outcome.server_address or "",
            server_port=outcome.server_port,
            status=outcome.status,
            error_type=outcome.error_type,
            duration_s=outcome.duration_s,
            trace_id=outcome.trace_id,
            span_id=outcome.span_id,
            sampled=outcome.sampled,
        )

    return record_hop


def active_begin(rt: runtime.Runtime) -> Begin | None:
    """``http.server.active_requests`` +1; the metrics sink's ``record_request`` takes it back."""
    if rt.metrics is None:
        return None
    active = rt.metrics.recorder.active_requests

    def request_began(facts: RequestFacts) -> None:
        active(1, method=facts.method, scheme=facts.scheme or "http")

    return request_began
