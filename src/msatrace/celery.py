"""Celery: the request that queued a task and the task itself share one trace.

Automatic after ``msatrace.init()`` (``patch`` setting ``celery``, on by default): when Celery is
imported, ``patch()`` runs. ``msatrace.celery.instrument(app)`` does the same explicitly (after
``init(patch="none")``, say). Needs the ``celery`` extra: ``pip install 'msatrace[celery]'``.

What it records, process-wide (Celery's signals are global, so every app in the process is
covered):

- Publishing (``delay``, ``apply_async``, ``send_task``, retries): a PRODUCER span ``send
  <task>`` around ``Celery.send_task``, and the trace headers (``traceparent``, ``X-Trace-ID``,
  ``X-Request-ID``) written into the message's headers by a ``before_task_publish`` receiver.
  Outside any request this starts a new trace.
- Executing, in the worker: a CONSUMER span ``process <task>`` per execution, child of the
  publish span, opened at ``task_prerun`` and closed at ``task_postrun``, with the messaging
  semantic-convention attributes (``messaging.system=celery``, ``messaging.operation.type``,
  ``messaging.message.id`` = task ID, ``messaging.destination.name`` = queue) and
  ``celery.task.name``, ``celery.task.retries``, ``celery.task.state``. Log lines written during
  the task carry its trace ID and ``task``, ``task_id``, ``request_id``. A retry is published
  from inside the failing execution, so every attempt stays in the same trace. A message with
  missing or malformed trace headers starts a new trace and logs one warning per minute.
- Logging: a ``setup_logging`` receiver tells Celery that logging is configured already, so the
  worker neither replaces the root logger's handlers nor redirects stdout: its own lines
  (``celery.*`` loggers included) come out in msatrace's JSON. The worker's start-up banner is
  printed, not logged; ``celery --quiet worker`` hides it.

Task protocol 2 (Celery's default since 4.0) is supported; protocol 1 messages start new traces.
Messages come from the service's own producers, so their trace is continued whatever
``trust_incoming`` says (that setting guards the HTTP edge). The worker's "Task ... received"
line is written before the task's trace is known and carries no trace ID; every line from the
execution itself does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

try:
    from celery import Celery, signals
except ImportError:
    raise ImportError("msatrace.celery needs Celery: install 'msatrace[celery]'") from None

from msatrace._core import patching
from msatrace._core.lifecycle import messages, tasks
from msatrace._core.logs import configure
from msatrace._core.safety import guard

__all__ = ["instrument", "patch"]

SYSTEM = "celery"
_lock = threading.Lock()
_runs: dict[str, list[tasks.TaskRun]] = {}  # task ID -> executions in flight (eager can nest)
# The publish in progress in this context: before_task_publish names its queue (routing key).
_publishing: ContextVar[tasks.TaskRun | None] = ContextVar("msatrace.celery_publish", default=None)


def instrument(app: Celery) -> None:
    """Trace publishing and executing the tasks of ``app`` (and of every Celery app here).

    Call it after ``msatrace.init()``. Equivalent to :func:`patch`, which ``init()`` runs by
    itself when Celery is imported; calling both is harmless.
    """
    if not isinstance(app, Celery):
        raise TypeError(f"instrument() expects a Celery app, got {type(app).__qualname__}")
    patch()


def patch() -> None:
    """Hook Celery once: ``Celery.send_task`` and the task and logging signals.

    A second call does nothing; ``msatrace.unpatch()`` / ``shutdown()`` undo it.
    """
    patching.wrap(Celery, "send_task", _send_task)
    for signal, receiver in _RECEIVERS:
        uid = f"msatrace.celery.{receiver.__name__}"
        if patching.record(uid, _disconnect(signal, uid)):
            signal.connect(receiver, weak=False, dispatch_uid=uid)


def _disconnect(signal: Any, uid: str) -> Callable[[], None]:
    def undo() -> None:
        signal.disconnect(dispatch_uid=uid)

    return undo


# Celery.send_task: every publish goes through it (Task.apply_async, retries, send_task), and
# wrapping it lets the PRODUCER span cover the broker round trip and see its exception.
def _send_task(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    run = None
    with guard("celery.publish"):
        name = args[0] if args else kwargs.get("name")
        run = messages.begin_publish(SYSTEM, str(name))
    if run is None:
        return wrapped(*args, **kwargs)
    token = _publishing.set(run)
    try:
        return wrapped(*args, **kwargs)
    except Exception as exc:
        run.fail(exc, log=False)
        raise  # the caller's exception, as it was
    finally:
        _publishing.reset(token)
        run.end()


def _on_before_publish(
    sender: Any = None,
    headers: dict[str, Any] | None = None,
    routing_key: str | None = None,
    **_: Any,
) -> None:
    """Write the trace headers into the message (protocol 2 keeps them as message headers)."""
    if headers is None:
        return
    with guard("celery.inject"):
        run = _publishing.get()
        if run is not None and routing_key:
            run.destination = routing_key  # messaging.destination.name of the publish metric
        message_id = headers.get("id")
        messages.inject_message(
            headers, message_id if isinstance(message_id, str) else None, routing_key
        )


def _on_prerun(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    """Open the CONSUMER span of this execution, continuing the trace in the message."""
    with guard("celery.prerun"):
        request = task.request
        delivery = getattr(request, "delivery_info", None) or {}
        run = messages.begin_consume(
            SYSTEM,
            str(task.name),
            task_id,
            delivery.get("routing_key") if isinstance(delivery, dict) else None,
            # Protocol 2: the message's headers become attributes of the task's request.
            list(vars(request).items()),
            retries=getattr(request, "retries", None),
            eager=bool(getattr(request, "is_eager", False)),
        )
        if run is not None:
            with _lock:
                _runs.setdefault(task_id or "", []).append(run)


def _current(task_id: str | None) -> tasks.TaskRun | None:
    with _lock:
        stack = _runs.get(task_id or "")
        return stack[-1] if stack else None


def _on_failure(
    task_id: str | None = None, exception: BaseException | None = None, **_: Any
) -> None:
    """Record the exception on the span; Celery logs it itself, inside the task's trace."""
    with guard("celery.failure"):
        run = _current(task_id)
        if run is not None and exception is not None:
            run.fail(exception, log=False)


def _on_retry(request: Any = None, reason: object = None, **_: Any) -> None:
    """Note the retry on the span; the new attempt's message was published in this trace."""
    with guard("celery.retry"):
        run = _current(getattr(request, "id", None))
        if run is not None:
            run.retry(reason)


def _on_postrun(task_id: str | None = None, state: str | None = None, **_: Any) -> None:
    """Close the execution's span and restore the worker's context."""
    with guard("celery.postrun"):
        with _lock:
            stack = _runs.get(task_id or "")
            run = stack.pop() if stack else None
            if stack is not None and not stack:
                del _runs[task_id or ""]
        if run is not None:
            run.end(state)


def _on_setup_logging(**_: Any) -> None:
    """Claim logging for msatrace: Celery then leaves the root logger and stdout alone."""
    with guard("celery.logging"):
        configure.adopt_framework_loggers()


_RECEIVERS = (
    (signals.before_task_publish, _on_before_publish),
    (signals.task_prerun, _on_prerun),
    (signals.task_failure, _on_failure),
    (signals.task_retry, _on_retry),
    (signals.task_postrun, _on_postrun),
    (signals.setup_logging, _on_setup_logging),
)

# init() first: importing celery above fired its hook before patch() existed; it runs here.
patching.loaded(__name__)
