"""Exceptions nothing caught, in threads, asyncio tasks and the main thread, to the capture point.

With ``error_excepthooks``, ``init()`` installs:

- ``threading.excepthook``: an exception that ends a thread;
- ``sys.excepthook``: one that ends the main thread (the process is about to exit: the report
  goes out within the shutdown bound, at exit);
- asyncio's ``BaseEventLoop.call_exception_handler``, wrapped: every loop (the default one and
  any custom handler set with ``loop.set_exception_handler``) reports through it "Task
  exception was never retrieved" and "Exception in callback". Errors of a transport or a
  protocol (a client resetting its connection) are the server's business, not a bug: skipped.
  Loops that do not derive from ``BaseEventLoop`` (uvloop) are not covered.

Each hands the exception to ``capture.capture`` (``log=False``: the hook that was there before
still runs after ours and writes what it always wrote), so it is reported once, grouped, like an
unhandled request error. ``unpatch_all()`` (``shutdown()``) puts the previous hooks back.

Imports: the standard library, ``_core.patching`` and this package.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from types import ModuleType, TracebackType
from typing import Any

from msatrace._core import patching
from msatrace._core.errors import capture

KEY = "errors.excepthooks"


def install() -> None:
    """Install the hooks, each chained to the one it replaces (once; undone by unpatch_all)."""
    if not patching.record(KEY, _uninstall):
        return
    previous_thread = threading.excepthook
    previous_sys = sys.excepthook

    def thread_hook(args: Any) -> None:
        if args.exc_value is not None and not isinstance(args.exc_value, SystemExit):
            name = getattr(args.thread, "name", None)
            _capture(args.exc_value, "unhandled exception in thread", thread=name)
        previous_thread(args)

    def sys_hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if isinstance(value, Exception):  # not KeyboardInterrupt: someone pressed Ctrl-C
            _capture(value, "unhandled exception")
        previous_sys(kind, value, tb)

    threading.excepthook = thread_hook
    sys.excepthook = sys_hook
    _installed[:] = [(thread_hook, previous_thread), (sys_hook, previous_sys)]
    patching.when_imported("asyncio", _patch_asyncio)


_installed: list[tuple[Any, Any]] = []  # (our hook, the one it replaced): thread, then sys


def _uninstall() -> None:
    if len(_installed) == 2:
        (thread_hook, previous_thread), (sys_hook, previous_sys) = _installed
        # Put back what was there, unless someone installed a hook over ours since: theirs
        # still calls ours, which calls the previous one.
        if threading.excepthook is thread_hook:
            threading.excepthook = previous_thread
        if sys.excepthook is sys_hook:
            sys.excepthook = previous_sys
    _installed.clear()


def _patch_asyncio(asyncio: ModuleType) -> None:
    patching.wrap(asyncio.base_events.BaseEventLoop, "call_exception_handler", _loop_handler)


# asyncio.BaseEventLoop.call_exception_handler: every exception a loop could not hand to anyone
# goes through it, whichever handler the application set (it is called by this method).
def _loop_handler(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    context = args[0] if args else kwargs.get("context")
    if isinstance(context, dict):
        error = context.get("exception")
        if (
            isinstance(error, Exception)
            and "transport" not in context
            and "protocol" not in context
        ):
            _capture(error, "unhandled exception in asyncio")
    return wrapped(*args, **kwargs)


def _capture(error: BaseException, message: str, **fields: Any) -> None:
    with contextlib.suppress(Exception):  # capture never raises; a hook must not either
        capture.capture(error, logger="msatrace.error", message=message, log=False, **fields)
