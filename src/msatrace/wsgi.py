"""WSGI: one trace per request, for any WSGI application.

    app = msatrace.wsgi.TraceMiddleware(app)

Per request: the incoming trace is continued (or a fresh one started) and made current for the
application and for the iteration of its response body; the response gets ``X-Trace-ID`` and
``X-Request-ID`` (never replacing a header the application set); a SERVER span and one access-log
line cover the request until the server calls the body's ``close()``. An exception is logged once,
recorded on the span and re-raised unchanged. Excluded paths (``MSATRACE_EXCLUDE_PATHS``) and
requests before ``msatrace.init()`` pass through untouched.

Each request runs in its own copy of the thread's ``contextvars`` context, entered again for each
chunk of the body and for ``close()``: the trace is current while a generator response runs, and
nothing of it stays behind on the server's thread, even if a server never calls ``close()``.

For Flask prefer ``msatrace.flask.instrument(app)`` (route templates, Flask-Login users). No extra
needed; this module imports only ``msatrace._core``.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any

from msatrace._core import context, inbound, logs, safety
from msatrace._core import environ as cgi
from msatrace._core.inbound import RequestScope

__all__ = ["SCOPE_KEY", "TraceMiddleware"]

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
Lookup = Callable[[dict[str, Any]], "str | None"]

# The request's RequestScope in the environ, for framework adapters (msatrace.flask) and for an
# inner TraceMiddleware, which then passes the request through instead of tracing it twice.
SCOPE_KEY = "msatrace.request"


class TraceMiddleware:
    """Trace every request that passes through a WSGI application.

    Args:
        app: the WSGI application to wrap.
        route: called with the environ when the application starts its response (its
            framework state is still there); returns the matched route template or ``None``.
        user: called likewise; returns the authenticated user's ID (recorded as with
            ``msatrace.set_user``) or ``None``. ``msatrace.flask`` passes both.
    """

    def __init__(
        self, app: WSGIApp, *, route: Lookup | None = None, user: Lookup | None = None
    ) -> None:
        self.app = app
        self.route = route
        self.user = user
        logs.adopt_framework_loggers()  # gunicorn set up its loggers before loading the app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        edge = inbound.current()
        if edge is None or SCOPE_KEY in environ:
            return self.app(environ, start_response)  # not initialised, or traced further out
        path = cgi.wsgi_path(environ)
        if path in edge.exclude_paths:
            return self.app(environ, start_response)
        ctx = contextvars.copy_context()
        return ctx.run(self._traced, ctx, edge, environ, path, start_response)

    def _traced(
        self,
        ctx: contextvars.Context,
        edge: inbound.Inbound,
        environ: dict[str, Any],
        path: str,
        start_response: StartResponse,
    ) -> Iterable[bytes]:
        try:
            req = edge.begin(cgi.request_facts(environ, edge, path))
        except Exception as exc:
            safety.failed("wsgi.begin", exc)
            return self.app(environ, start_response)
        environ[SCOPE_KEY] = req
        route, user = self.route, self.user

        def traced_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
        ) -> Callable[[bytes], object]:
            try:
                req.status = int(status[:3])
                headers = headers + req.response_headers([name.lower() for name, _ in headers])
                if route is not None or user is not None:
                    _details(req, route, user, environ)
            except Exception as exc:
                safety.failed("wsgi.start_response", exc)
            return start_response(status, headers, exc_info)

        try:
            body = self.app(environ, traced_start_response)
        except Exception as exc:
            safety.call("wsgi.fail", req.fail, exc)
            safety.call("wsgi.end", req.end)
            raise
        except BaseException as exc:  # the worker is stopping (SystemExit, KeyboardInterrupt)
            safety.call("wsgi.abort", req.abort, exc)
            safety.call("wsgi.end", req.end)
            raise
        return _cover(body, req, ctx, environ)


def _details(req: RequestScope, route: Lookup | None, user: Lookup | None, environ: Any) -> None:
    if route is not None:
        req.set_route(route(environ))
    user_id = user(environ) if user is not None else None
    if user_id is not None:
        context.set_user(user_id)


def _cover(
    body: Iterable[bytes], req: RequestScope, ctx: contextvars.Context, environ: dict[str, Any]
) -> Iterable[bytes]:
    """The body, arranged so the request ends when the server closes it."""
    file_wrapper = environ.get("wsgi.file_wrapper")
    if (
        file_wrapper is not None
        and isinstance(file_wrapper, type)
        and isinstance(body, file_wrapper)
    ):
        # Returned unwrapped, so the server still recognises it and can use sendfile (PEP 3333
        # "Optional Platform-Specific File Handling"); only its close() is hooked.
        original = getattr(body, "close", None)

        def close() -> None:
            try:
                if original is not None:
                    ctx.run(original)
            finally:
                ctx.run(safety.call, "wsgi.end", req.end)

        with contextlib.suppress(Exception):  # __slots__: then wrapped like any other body
            body.close = close  # type: ignore[attr-defined]  # an instance attribute, as gunicorn's
            return body
    return _Body(body, req, ctx)


class _Body:
    """The application's response iterable, run inside the request's context until ``close()``."""

    __slots__ = ("_body", "_closed", "_ctx", "_iterator", "_req")

    def __init__(self, body: Iterable[bytes], req: RequestScope, ctx: contextvars.Context) -> None:
        self._body = body
        self._req = req
        self._ctx = ctx
        self._iterator: Iterator[bytes] | None = None
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        self._iterator = self._ctx.run(iter, self._body)
        return self

    def __next__(self) -> bytes:
        iterator = self._iterator
        if iterator is None:
            iterator = self._iterator = self._ctx.run(iter, self._body)
        try:
            return self._ctx.run(next, iterator)
        except StopIteration:
            raise
        except Exception as exc:
            self._ctx.run(safety.call, "wsgi.fail", self._req.fail, exc)
            raise

    def close(self) -> None:
        """Close the application's iterable (PEP 3333), then end the request's span and log."""
        if self._closed:
            return
        self._closed = True
        ctx = self._ctx
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                ctx.run(close)
        except Exception as exc:
            ctx.run(safety.call, "wsgi.fail", self._req.fail, exc)
            raise
        finally:
            ctx.run(safety.call, "wsgi.end", self._req.end)
