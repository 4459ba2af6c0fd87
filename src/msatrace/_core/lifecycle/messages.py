"""The message lifecycle of queue adapters (``msatrace.celery``): publish and consume.

``begin_publish`` starts a PRODUCER run around publishing, ``inject_message`` writes the trace
headers into the message, ``begin_consume`` starts a CONSUMER run per execution continuing that
trace. Span names and attributes follow the OpenTelemetry messaging semantic conventions
(messaging-spans.md: operation types ``send`` and ``process``; name ``{operation}
{destination}``); each run's outcome goes to ``messaging.client.operation.duration`` (send) or
``messaging.process.duration`` (process) when metrics are on (messaging-metrics.md).

Imports: the standard library, opentelemetry and ``msatrace._core``.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind

from msatrace._core import runtime, safety
from msatrace._core.lifecycle.tasks import TaskRun
from msatrace._core.semconv import (
    MESSAGING_DESTINATION_NAME,
    MESSAGING_MESSAGE_ID,
    MESSAGING_OPERATION_NAME,
    MESSAGING_OPERATION_PROCESS,
    MESSAGING_OPERATION_SEND,
    MESSAGING_OPERATION_TYPE,
    MESSAGING_SYSTEM,
)
from msatrace._core.trace import context
from msatrace._core.trace.propagation import HeaderBag


def _messaging(system: str, operation: str, task_name: str) -> dict[str, Any]:
    # messaging-spans.md: messaging.operation.type is "send" for publishing (PRODUCER) and
    # "process" for handling a message (CONSUMER); system-specific attributes use the system's
    # own namespace.
    return {
        MESSAGING_SYSTEM: system,
        MESSAGING_OPERATION_TYPE: operation,
        MESSAGING_OPERATION_NAME: operation,
        f"{system}.task.name": task_name,
    }


def begin_publish(system: str, task_name: str) -> TaskRun | None:
    """Start the PRODUCER span around publishing one task message; ``None`` before init().

    Outside any trace this starts a new one. The adapter calls :func:`inject_message` while it
    is current, ``fail`` if publishing raised, and ``end`` in a ``finally``.
    """
    rt = runtime.current()
    if rt is None:
        return None
    # Task queues address a message by the task's name, so it stands as the destination in the
    # span name ({operation} {destination}); the queue goes in messaging.destination.name.
    attrs = _messaging(system, MESSAGING_OPERATION_SEND, task_name)
    return TaskRun(
        rt,
        f"{MESSAGING_OPERATION_SEND} {task_name}",
        SpanKind.PRODUCER,
        None,
        attrs,
        None,
        system=system,
        operation=MESSAGING_OPERATION_SEND,
    )


def inject_message(
    carrier: MutableMapping[str, Any], message_id: str | None, destination: str | None
) -> None:
    """Write the current trace headers into a message's headers; name the message on the span."""
    rt = runtime.current()
    if rt is None:
        return
    span = trace.get_current_span()
    if span.is_recording():
        if message_id:
            span.set_attribute(MESSAGING_MESSAGE_ID, message_id)
        if destination:
            span.set_attribute(MESSAGING_DESTINATION_NAME, destination)
    out: dict[str, str] = {}
    rt.propagation.inject(out)
    carrier.update(out)


def begin_consume(
    system: str,
    task_name: str,
    message_id: str | None,
    destination: str | None,
    headers: Iterable[tuple[object, object]],
    *,
    retries: int | None = None,
    eager: bool = False,
) -> TaskRun | None:
    """Start the CONSUMER span of one execution of a task message; ``None`` before init().

    The message's trace headers (``traceparent``, ``X-Trace-ID``, ``X-Request-ID``, ...) make the
    span a child of the publish span, with the request's ID bound for the task's log lines.
    Missing or malformed headers start a new trace and log one warning per minute; they never
    fail the task. Broker messages come from the service's own producers, so they are continued
    whatever ``trust_incoming`` says (that setting is about the HTTP edge). ``eager``: the task
    runs inline in its caller (no message), as a child of the caller's trace.
    """
    rt = runtime.current()
    if rt is None:
        return None
    attrs = _messaging(system, MESSAGING_OPERATION_PROCESS, task_name)
    if message_id:
        attrs[MESSAGING_MESSAGE_ID] = message_id
    if destination:
        attrs[MESSAGING_DESTINATION_NAME] = destination
    if retries is not None:
        attrs[f"{system}.task.retries"] = retries
    fields: dict[str, Any] = {"task": task_name, "task_id": message_id}
    name = f"{MESSAGING_OPERATION_PROCESS} {task_name}"
    if eager:
        return TaskRun(
            rt,
            name,
            SpanKind.CONSUMER,
            None,
            attrs,
            {**context.fields(), **fields},
            system=system,
            operation=MESSAGING_OPERATION_PROCESS,
            destination=destination,
        )
    bag = HeaderBag()
    wanted = rt.propagation.wanted
    for key, value in headers:
        if isinstance(key, str) and key.lower() in wanted:
            text = value if isinstance(value, str) and value.isascii() else None
            bag.add(key.lower(), text)
    incoming = rt.propagation.extract(bag, trusted=True)
    # Context() rather than None: with no usable parent the task is a root, never a child of
    # whatever happens to be current in the worker.
    parent = incoming.parent if incoming.parent is not None else Context()
    if not incoming.trace_id and not trace.get_current_span(parent).get_span_context().is_valid:
        safety.warn_once(
            f"{system}.headers",
            "msatrace: a %s task message (%s) had missing or malformed trace headers; "
            "its work starts a new trace",
            system,
            task_name,
        )
    fields["request_id"] = incoming.request_id
    return TaskRun(
        rt,
        name,
        SpanKind.CONSUMER,
        parent,
        attrs,
        fields,
        incoming.links,
        incoming.trace_id,
        system,
        MESSAGING_OPERATION_PROCESS,
        destination,
    )
