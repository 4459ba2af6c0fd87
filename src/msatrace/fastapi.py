"""FastAPI: ``instrument(app)`` traces every request, with exactly one SERVER span each.

    import msatrace, msatrace.fastapi
    msatrace.init()
    app = FastAPI()
    msatrace.fastapi.instrument(app)

Everything ``msatrace.starlette.instrument`` does (outside ``ServerErrorMiddleware``, route
templates), plus: FastAPI 0.16x traces itself as soon as a global SDK ``TracerProvider`` exists
(which ``msatrace.init()`` installs), in a trace of its own. ``instrument`` turns that tracing off
for this application (``telemetry={"tracing": False}``) from ``init()`` to ``shutdown()``, so each
request has one SERVER span, in its own trace (outside that time msatrace's middleware passes
requests through, and FastAPI's own tracing is as the application set it); with
``FASTAPI_OTEL_AUTO_CONFIGURE=true`` FastAPI then adds no second span exporter to msatrace's
provider either. FastAPI's metrics and logs settings are left as they are. Older
FastAPI, without built-in telemetry, needs nothing more.

Needs the ``fastapi`` extra (``pip install 'msatrace[fastapi]'``).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TypeVar

try:
    from fastapi import FastAPI
    from starlette.routing import BaseRoute, Mount
except ImportError:  # pragma: no cover - exercised by the bare test session
    raise ImportError("msatrace.fastapi needs FastAPI: pip install 'msatrace[fastapi]'") from None

from msatrace import starlette
from msatrace._core import runtime, safety, upstream
from msatrace.asgi import ASGIApp

__all__ = ["instrument"]

App = TypeVar("App", bound=FastAPI)


def instrument(app: App) -> App:
    """Trace every request of a FastAPI application, and turn FastAPI's own tracing off.

    Calling it twice, or after the application started serving, leaves one tracing middleware.

    Returns:
        The same application, for chaining.
    """
    _native_tracing_off(app)
    if getattr(app.build_middleware_stack, "msatrace", None) == "fastapi":
        return app  # already instrumented
    starlette.instrument(app)
    build = app.build_middleware_stack

    # Mounted FastAPI sub-applications trace themselves too, each in a new trace. They are
    # usually mounted after instrument(); the stack is built on the first request, after that.
    def build_middleware_stack() -> ASGIApp:
        _mounted_tracing_off(app.routes)
        return build()

    build_middleware_stack.msatrace = "fastapi"  # type: ignore[attr-defined]  # idempotency marker
    setattr(app, "build_middleware_stack", build_middleware_stack)  # noqa: B010 - method-assign
    if app.middleware_stack is not None:  # instrumented after the first request
        _mounted_tracing_off(app.routes)
    return app


def _mounted_tracing_off(routes: list[BaseRoute]) -> None:
    for route in routes:
        if isinstance(route, Mount):
            if isinstance(route.app, FastAPI):
                _native_tracing_off(route.app)
            _mounted_tracing_off(route.routes)


# FastAPI >= 0.16x reads "tracing" from its telemetry settings on every request; the public
# switch exists only at construction (FastAPI(telemetry={"tracing": False})), so the settings are
# changed in place (upstream entry fastapi.telemetry). Only while msatrace runs: its middleware
# passes requests through before init() and after shutdown(), and FastAPI's own tracing then has
# the application back. Instrumented applications -> the undo of that change (None: not changed).
_followed: weakref.WeakKeyDictionary[FastAPI, Callable[[], None] | None] = (
    weakref.WeakKeyDictionary()
)


def _native_tracing_off(app: FastAPI) -> None:
    if app not in _followed:
        _followed[app] = None
        _follow(app, runtime.current())


def _follow(app: FastAPI, rt: runtime.Runtime | None) -> None:
    with safety.guard("fastapi.telemetry"):
        undo = _followed.get(app)
        if rt is not None and undo is None:
            _followed[app] = upstream.fastapi_tracing_off(app)
        elif rt is None and undo is not None:
            _followed[app] = None
            undo()


def _on_runtime(rt: runtime.Runtime | None) -> None:
    for app in list(_followed):
        _follow(app, rt)


runtime.watch(_on_runtime)
