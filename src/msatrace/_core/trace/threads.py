"""Work handed to another thread keeps the trace of the code that handed it over.

With ``propagate_threads`` on (the default), ``init()`` patches the two standard-library places
where work leaves the current thread, as OpenTelemetry's threading instrumentation does: the
context current when the work is handed over (OpenTelemetry's context and msatrace's bound
fields, all ``contextvars``) is the one the work runs in.

- ``threading.Thread.start``: the thread's ``run()`` (a subclass's own ``run`` too) runs in a
  copy of the context current at ``start()``.
- ``concurrent.futures.ThreadPoolExecutor.submit``, which ``map`` and asyncio's
  ``loop.run_in_executor`` (the default executor is one) go through: each callable runs in a
  copy of the submitter's context.

Left alone: a callable that brings its own context (``msatrace.wrap``, ``TracedExecutor``,
``asyncio.to_thread``, ``ctx.run``), and a pool's worker threads, which ``submit`` starts for
the pool, not for the request that happened to submit first.

Imports: the standard library and ``msatrace._core`` (patching, safety).
"""

from __future__ import annotations

import contextvars
import functools
import threading
import types
from collections.abc import Callable
from contextvars import ContextVar
from types import ModuleType
from typing import Any

from msatrace._core import patching
from msatrace._core.safety import failed, guard

# Set on a function by msatrace.wrap(): it runs in a context it captured itself.
CARRIES_CONTEXT = "_msatrace_carries_context"
# True while ThreadPoolExecutor.submit runs: a thread started now is one of the pool's workers.
_pool_starting: ContextVar[bool] = ContextVar("msatrace_pool_starting", default=False)


def patch() -> None:
    """Carry the context into threads and thread pools; once; ``unpatch_all()`` undoes it."""
    with guard("patch.threading"):
        patching.wrap(threading.Thread, "start", _start)
    patching.when_imported("concurrent.futures.thread", _patch_pool)


def _patch_pool(module: ModuleType) -> None:
    patching.wrap(module.ThreadPoolExecutor, "submit", _submit)


def carries_context(fn: object) -> bool:
    """Whether ``fn`` already runs in a context of its own (``wrap``, ``ctx.run``, a partial)."""
    if isinstance(fn, functools.partial):
        fn = fn.func
    return isinstance(getattr(fn, "__self__", None), contextvars.Context) or bool(
        getattr(fn, CARRIES_CONTEXT, False)
    )


# Hooks Thread.start, not run: start() runs in the thread that hands the work over, where the
# context to carry is current; run() runs in the new thread, which (Python 3.10 to 3.13) starts
# with an empty context. This instance's run is shadowed for the thread's life, so a subclass's
# own run() is covered too, and put back as it was when it returns.
def _start(wrapped: Callable[..., Any], instance: threading.Thread, args: Any, kwargs: Any) -> Any:
    if _pool_starting.get():
        return wrapped(*args, **kwargs)
    try:
        own = vars(instance).get("run")  # set on the instance by the application: rare
        run = functools.partial(_run_in, contextvars.copy_context(), instance.run, own)
        # A bound method, as ``run`` normally is: a wrapper started after ours that calls
        # ``run.__func__(thread)`` (sentry-sdk's threading integration) gets what it expects.
        vars(instance)["run"] = types.MethodType(run, instance)
    except Exception as exc:
        failed("threads.start", exc)
        return wrapped(*args, **kwargs)
    try:
        return wrapped(*args, **kwargs)
    except BaseException:
        _put_back(instance, own)  # not started (started twice, no thread left): as it was
        raise


def _run_in(
    captured: contextvars.Context, run: Callable[[], Any], own: object, thread: threading.Thread
) -> Any:
    try:
        return captured.run(run)
    finally:
        _put_back(thread, own)


def _put_back(thread: threading.Thread, own: object) -> None:
    if own is None:
        vars(thread).pop("run", None)
    else:
        vars(thread)["run"] = own


# Hooks ThreadPoolExecutor.submit: every way into a thread pool (submit, map, asyncio's
# run_in_executor and default executor) calls it in the submitter's thread and context. Workers
# it starts are the pool's: _pool_starting keeps them out of _start.
def _submit(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    try:
        if args and not carries_context(args[0]):
            args = (functools.partial(contextvars.copy_context().run, args[0]), *args[1:])
        token = _pool_starting.set(True)
    except Exception as exc:
        failed("threads.submit", exc)
        return wrapped(*args, **kwargs)
    try:
        return wrapped(*args, **kwargs)
    finally:
        _pool_starting.reset(token)
