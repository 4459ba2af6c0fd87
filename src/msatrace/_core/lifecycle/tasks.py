"""Background work keeps the trace: capture the context now, run the work later.

Three tools, all framework-free:

- ``wrap(fn)`` captures the current context (OpenTelemetry's context and msatrace's bound fields
  both live in ``contextvars``) and runs ``fn`` in it later, in any thread. ``TracedExecutor``
  does that for every callable submitted to a ``concurrent.futures`` executor.
- ``@task`` / ``@task(name=...)`` makes each run of a function a span named after the task, with
  the task's name bound as the log field ``task``; an exception is logged once (ERROR,
  structured), recorded on the span and re-raised unchanged.
- ``TaskRun`` is also the run of the message lifecycle in ``messages.py`` (``begin_publish`` /
  ``inject_message`` / ``begin_consume``, used by ``msatrace.celery``); its ``operation`` and
  ``destination`` then say which messaging metric its outcome goes to.

Imports: the standard library, opentelemetry and ``msatrace._core``.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Executor, Future
from contextvars import Token
from typing import Any, ParamSpec, TypeVar, cast, overload

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind

from msatrace._core import runtime, safety
from msatrace._core.debug import buffer, demand
from msatrace._core.errors import capture
from msatrace._core.lifecycle import outcome
from msatrace._core.lifecycle.outcome import TASK
from msatrace._core.semconv import (
    CODE_FUNCTION_NAME,
)
from msatrace._core.spans import tracing
from msatrace._core.trace import context, threads

P = ParamSpec("P")
R = TypeVar("R")
TASK_LOGGER = "msatrace.task"

# --- capture now, run later ---


def wrap(fn: Callable[P, R]) -> Callable[P, R]:
    """Capture the current trace and bound fields now; run ``fn`` in them when called later.

    Use it wherever work crosses into a thread that does not copy the context by itself: with
    ``propagate_threads`` off, ``threading.Thread(target=msatrace.wrap(fn))``,
    ``loop.run_in_executor(None, msatrace.wrap(fn))``; an executor that is not a
    ``ThreadPoolExecutor``; a callback registered now and run later by a library's own thread.
    Each call runs in its own copy of the captured context, so one wrapped function may run
    many times, concurrently. For a coroutine function, the trace and msatrace's bound fields
    are re-applied around each awaited call.
    """
    if inspect.iscoroutinefunction(fn):
        return cast(Callable[P, R], _wrap_async(fn))
    captured = contextvars.copy_context()

    @functools.wraps(fn)
    def run_in_captured(*args: P.args, **kwargs: P.kwargs) -> R:
        # copy(): a Context cannot be entered twice at once; concurrent calls get their own.
        return captured.copy().run(fn, *args, **kwargs)

    vars(run_in_captured)[threads.CARRIES_CONTEXT] = True  # a thread pool need not capture again
    return run_in_captured


def _wrap_async(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    # A coroutine runs in the context of the task that awaits it, so copy_context().run() would
    # only cover creating the coroutine. Re-apply what msatrace reads instead, undone in finally.
    parent = otel_context.get_current()
    fields = context.fields()

    @functools.wraps(fn)
    async def run_in_captured(*args: P.args, **kwargs: P.kwargs) -> R:
        otel_token = otel_context.attach(parent)
        fields_token = context.start_scope(fields)
        try:
            return await fn(*args, **kwargs)
        finally:
            context.end_scope(fields_token)
            otel_context.detach(otel_token)

    return run_in_captured


class TracedExecutor(Executor):
    """A ``concurrent.futures`` executor that runs each callable in its submitter's context.

    Wraps another executor (a ``ThreadPoolExecutor``): ``submit`` and ``map`` capture the
    caller's trace and bound fields, so the work logs the trace ID of the request that submitted
    it. Also usable as ``loop.run_in_executor(traced, fn)``. Shutting it down shuts down the
    wrapped executor.

    Args:
        executor: the executor that runs the work.
    """

    def __init__(self, executor: Executor) -> None:
        self.executor = executor

    def submit(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        """Schedule ``fn(*args, **kwargs)`` in the wrapped executor, in the caller's context."""
        return self.executor.submit(wrap(fn), *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Shut the wrapped executor down."""
        self.executor.shutdown(wait, cancel_futures=cancel_futures)


# --- one run of a task: span, attached context, bound fields ---


class TaskRun:
    """One run of a task, or one publish: made by a ``begin_*`` function, finished by ``end``."""

    __slots__ = (
        "_debug_token",
        "_ended",
        "_fields_token",
        "_otel_token",
        "_sinks",
        "destination",
        "error",
        "name",
        "operation",
        "request_id",
        "span",
        "start_ns",
        "system",
    )

    def __init__(
        self,
        rt: runtime.Runtime,
        name: str,
        kind: SpanKind,
        parent: Context | None,
        attributes: dict[str, Any],
        fields: Mapping[str, Any] | None,
        links: tuple[Link, ...] = (),
        trace_id: int = 0,
        system: str | None = None,
        operation: str | None = None,
        destination: str | None = None,
    ) -> None:
        attrs = attributes if rt.tracing.tracer is not None else None
        # A message's run: messaging.operation.name ("send", "process") and the queue (the
        # adapter may learn it later, while publishing); None for an @task run.
        self.operation = operation
        self.destination = destination
        self.start_ns = time.time_ns()
        self.span: Span = tracing.start_span(rt.tracing, name, kind, parent, attrs, links, trace_id)
        self.name = name
        self.system = system
        self.error: BaseException | None = None
        self._sinks = outcome.sinks_for(rt).task
        self._ended = False
        ctx = trace.set_span_in_context(self.span, parent)
        self._debug_token = None
        # A task run inside a request (eager, @task) shares the request's mode; one run by a
        # worker gets its own, from its message's baggage (``_core.debug``).
        if kind != SpanKind.PRODUCER and buffer.config.active and buffer.current() is None:
            ids = outcome.hex_ids(self.span)
            mode, _ = demand.for_context(ids[0] if ids is not None else None, None, ctx)
            self._debug_token = buffer.enter(mode)
        self._otel_token = otel_context.attach(ctx)
        self._fields_token: Token[Any] | None = (
            context.start_scope(fields) if fields is not None else None
        )
        self.request_id = context.current_request_id()

    def fail(self, exc: BaseException, *, log: bool = True) -> None:
        """The work raised: record it on the span and capture it; logged once (ERROR,
        structured) if ``log``, else the framework's own line (Celery's) is the one."""
        self.error = exc
        tracing.mark_error(self.span, exc)
        capture.capture(exc, logger=TASK_LOGGER, message="task failed", log=log)

    def retry(self, reason: object) -> None:
        """The work asked to be retried: an event on the span (the retry is a new message)."""
        if self.span.is_recording():
            self.span.add_event("retry", {"retry.reason": _short(reason)})

    def end(self, state: str | None = None) -> None:
        """Hand the run's :class:`~outcome.Outcome` to the sinks (end the span, ...) and restore
        the context from before ``begin``; idempotent, never raises."""
        if self._ended:
            return
        self._ended = True
        try:
            outcome.finish(
                self._sinks,
                kind=TASK,
                name=self.name,
                span=self.span,
                start_ns=self.start_ns,
                end_ns=time.time_ns(),
                error=self.error,
                request_id=self.request_id,
                system=self.system,
                state=state,
                operation=self.operation,
                destination=self.destination,
            )
        except Exception as exc:
            safety.failed("tasks.end", exc)
        finally:
            try:
                if self._fields_token is not None:
                    context.end_scope(self._fields_token)
                otel_context.detach(self._otel_token)
                buffer.leave(self._debug_token)
            except Exception as exc:  # a token of another context: nothing to restore
                safety.failed("tasks.end", exc)


def _short(value: object) -> str:
    try:
        text = str(value)
    except Exception:
        text = f"<unprintable {type(value).__qualname__}>"
    return text[:256]


# --- @task ---


def begin_task(name: str, function: str) -> TaskRun | None:
    """Start a run of an in-process task, child of the current trace; ``None`` before init()."""
    rt = runtime.current()
    if rt is None:
        return None
    attrs = {CODE_FUNCTION_NAME: function}
    return TaskRun(rt, name, SpanKind.INTERNAL, None, attrs, {**context.fields(), "task": name})


@overload
def task(fn: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def task(*, name: str | None = None) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def task(
    fn: Callable[P, R] | None = None, /, *, name: str | None = None
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Trace each run of a function (sync or async) as a task.

    Each call is a span named after the task, child of the trace current when it is called (in
    a ``threading.Thread`` or ``ThreadPoolExecutor``: the submitter's trace, setting
    ``propagate_threads``; elsewhere combine with :func:`wrap`). Its log lines carry that trace
    ID and ``task=<name>``. An exception is logged once (ERROR, structured, logger
    ``msatrace.task``), recorded on the span, and re-raised unchanged.
    Before ``msatrace.init()`` the function runs untouched.

    Args:
        name: the task's name; default: the function's qualified name.
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        task_name = name or fn.__qualname__
        function = f"{fn.__module__}.{fn.__qualname__}"
        if inspect.iscoroutinefunction(fn):
            return cast(Callable[P, R], _task_async(fn, task_name, function))

        @functools.wraps(fn)
        def run_task(*args: P.args, **kwargs: P.kwargs) -> R:
            run = begin_task(task_name, function)
            if run is None:
                return fn(*args, **kwargs)
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                run.fail(exc)
                raise  # the task's exception, as it was
            finally:
                run.end()

        return run_task

    return decorate if fn is None else decorate(fn)


def _task_async(
    fn: Callable[P, Awaitable[R]], task_name: str, function: str
) -> Callable[P, Awaitable[R]]:
    @functools.wraps(fn)
    async def run_task(*args: P.args, **kwargs: P.kwargs) -> R:
        run = begin_task(task_name, function)
        if run is None:
            return await fn(*args, **kwargs)
        try:
            return await fn(*args, **kwargs)
        except Exception as exc:
            run.fail(exc)
            raise  # the task's exception, as it was
        finally:
            run.end()

    return run_task
