"""Starlette: ``instrument(app)`` traces every request, named by its route template.

    import msatrace, msatrace.starlette
    msatrace.init()
    app = Starlette(routes=[...])
    msatrace.starlette.instrument(app)

Adds ``msatrace.asgi.TraceMiddleware`` outside Starlette's ``ServerErrorMiddleware`` (which
``add_middleware`` cannot reach: Starlette always puts it outermost), so the 500 it sends for an
unhandled exception carries ``X-Trace-ID`` and its handler runs inside the request's trace. Spans
and access lines are named by route template (``GET /orders/{order_id}``), mounts included.

Needs the ``starlette`` extra (``pip install 'msatrace[starlette]'``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

try:
    from starlette.applications import Starlette
    from starlette.routing import BaseRoute, Host, Mount
except ImportError:  # pragma: no cover - exercised by the bare test session
    raise ImportError(
        "msatrace.starlette needs Starlette: pip install 'msatrace[starlette]'"
    ) from None

from msatrace.asgi import ASGIApp, Scope, TraceMiddleware

__all__ = ["instrument"]

App = TypeVar("App", bound=Starlette)
_CACHE_LIMIT = 4096  # routes are few; a router that makes route objects per request must not leak


def instrument(app: App) -> App:
    """Trace every request of a Starlette application (FastAPI: use ``msatrace.fastapi``).

    Wraps the application's middleware stack in ``msatrace.asgi.TraceMiddleware``, outside the
    ``ServerErrorMiddleware``, and gives it the matched route template. Calling it twice (or
    after the application started serving) still leaves exactly one tracing middleware.

    Returns:
        The same application, for chaining.
    """
    build = app.build_middleware_stack
    if getattr(build, "msatrace", None):
        return app  # already instrumented (by this function or msatrace.fastapi's)
    templates = _RouteTemplates(app)

    # Starlette builds its middleware stack lazily, on the first request, as
    # ServerErrorMiddleware(user middleware(...(router))). Wrapping the builder of this one
    # application object is the only way to sit outside ServerErrorMiddleware and still be
    # rebuilt with the stack (older Starlette rebuilds it on add_middleware).
    def build_middleware_stack() -> ASGIApp:
        return TraceMiddleware(build(), route=templates)

    build_middleware_stack.msatrace = "starlette"  # type: ignore[attr-defined]  # idempotency marker
    setattr(app, "build_middleware_stack", build_middleware_stack)  # noqa: B010 - mypy: method-assign
    if app.middleware_stack is not None:  # instrumented after the first request
        app.middleware_stack = TraceMiddleware(app.middleware_stack, route=templates)
    return app


class _RouteTemplates:
    """The full route template of the route Starlette matched, mount prefixes included.

    Starlette's router leaves the matched route in ``scope["route"]`` (older versions only the
    endpoint, in ``scope["endpoint"]``); a route knows only its own part of the path, so its full
    template is found once by walking the application's routes, then cached.
    """

    __slots__ = ("_app", "_cache")

    def __init__(self, app: Starlette) -> None:
        self._app = app
        self._cache: dict[int, tuple[object, tuple[tuple[BaseRoute, str], ...]]] = {}

    def __call__(self, scope: Scope) -> str | None:
        target = scope.get("route")
        by_endpoint = target is None
        if by_endpoint:
            target = scope.get("endpoint")
            if target is None:
                return None  # nothing matched (404): no template, never the raw path
        hit = self._cache.get(id(target))
        if hit is None or hit[0] is not target:
            hit = (target, tuple(_find(self._app.routes, target, "")))
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[id(target)] = hit
        candidates = hit[1]
        if not candidates:
            return _own_path(target)
        if len(candidates) == 1 or not by_endpoint:
            return candidates[0][1]
        # Older Starlette, one endpoint behind several routes: the one whose own pattern matches
        # the path left after the mounts (root_path holds what they matched).
        path, root = scope.get("path", ""), scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        for route, template in candidates:
            regex = getattr(route, "path_regex", None)
            if regex is not None and regex.match(path):
                return template
        return candidates[0][1]


def _find(routes: list[BaseRoute], target: object, prefix: str) -> Iterator[tuple[BaseRoute, str]]:
    """Every (route, full template) whose route or endpoint is ``target``, in routing order."""
    for route in routes:
        if route is target or getattr(route, "endpoint", None) is target:
            yield route, prefix + (_own_path(route) or "")
        elif isinstance(route, Mount):
            if route.app is target:
                yield route, prefix + route.path + "/{path}"
            else:
                yield from _find(route.routes, target, prefix + route.path)
        elif isinstance(route, Host):
            yield from _find(route.routes, target, prefix)


def _own_path(route: Any) -> str | None:
    if isinstance(route, Mount):
        return route.path + "/{path}"  # a mounted application (static files, ...) matched
    # path_format drops converters: /items/{item_id:int} -> /items/{item_id}
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return path if isinstance(path, str) else None
