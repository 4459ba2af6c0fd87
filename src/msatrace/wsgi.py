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
from http import HTTPStatus
from types import TracebackType
from typing import Any

from msatrace._core import safety
from msatrace._core.endpoint import Endpoint
from msatrace._core.lifecycle import environ as cgi
from msatrace._core.lifecycle import inbound, served
from msatrace._core.lifecycle.inbound import RequestScope
from msatrace._core.logs import configure
from msatrace._core.trace import context

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
        configure.adopt_framework_loggers()  # gunicorn set up its loggers before loading the app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        edge = inbound.active
        if edge is None or SCOPE_KEY in environ:
            return self.app(environ, start_response)  # not initialised, or traced further out
        # cgi.wsgi_path, whose decoding is needed only for a path that is not ASCII (or empty)
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        if not path.isascii() or not path:
            path = cgi.wsgi_path(environ)
        if path in edge.exclude_paths:
            endpoint = served.lookup(environ.get("REQUEST_METHOD", "GET"), path)
            if endpoint is not None:  # msatrace's own (a health probe): the app never sees it
                return _answer(endpoint, environ, start_response)
            return self.app(environ, start_response)
        ctx = contextvars.copy_context()  # the request's own context (module docstring)
        return ctx.run(_Call.start, self, ctx, environ, start_response, edge, path)


def _answer(
    endpoint: Endpoint, environ: dict[str, Any], start_response: StartResponse
) -> Iterable[bytes]:
    headers = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_") and isinstance(value, str)
    }
    status, pairs, body = served.answer(endpoint, environ.get("REQUEST_METHOD", "GET"), headers)
    start_response(f"{status} {HTTPStatus(status).phrase}", pairs)
    return [body]


# next(iterator, _DONE): the end of the body without a StopIteration passing through ctx.run.
_DONE: Any = object()
# "200 OK" -> 200 by a dict lookup; int() (whose parser is cold code in a request) for the rest.
_CODES = {str(code): code for code in range(100, 600)}


class _Call:
    """One request: wraps ``start_response``, then is the response body the server iterates.

    The request ends when the server closes the body. One object (rather than a closure and a
    body wrapper) because every request makes one.
    """

    __slots__ = (
        "_close_body",
        "_closed",
        "_iterator",
        "_start_response",
        "ctx",
        "environ",
        "mw",
        "req",
    )
    req: RequestScope
    _close_body: Callable[[], object] | None
    _iterator: Iterator[bytes]

    def __init__(
        self,
        mw: TraceMiddleware,
        ctx: contextvars.Context,
        environ: dict[str, Any],
        start_response: StartResponse,
    ) -> None:
        self.mw = mw
        self.ctx = ctx
        self.environ = environ
        self._start_response = start_response
        self._closed = False

    @staticmethod
    def start(
        mw: TraceMiddleware,
        ctx: contextvars.Context,
        environ: dict[str, Any],
        start_response: StartResponse,
        edge: inbound.Inbound,
        path: str,
    ) -> Iterable[bytes]:
        """Begin the request and call the application, inside ``ctx``."""
        call = _Call(mw, ctx, environ, start_response)
        app = mw.app
        try:
            req = call.req = edge.begin(cgi.request_facts(environ, edge, path))
        except Exception as exc:
            safety.failed("wsgi.begin", exc)
            return app(environ, start_response)
        environ[SCOPE_KEY] = req
        try:
            body = app(environ, call.start_response)
            call._iterator = iter(body)  # as the server would, but in the request's context
            call._close_body = getattr(body, "close", None)
        except BaseException as exc:  # an error, or the worker stopping (SystemExit, ...)
            req.raised(exc)
            req.end(detach=False)  # never raises; ctx is the request's own, dropped after it
            raise
        file_wrapper = environ.get("wsgi.file_wrapper")
        if (
            file_wrapper is not None
            and isinstance(file_wrapper, type)
            and isinstance(body, file_wrapper)
        ):
            # Returned unwrapped, so the server still recognises it and can use sendfile (PEP
            # 3333 "Optional Platform-Specific File Handling"); only its close() is hooked.
            with contextlib.suppress(Exception):  # __slots__: then wrapped like any other body
                body.close = call.close  # type: ignore[attr-defined]  # an instance attribute, as gunicorn's
                return body
        return call

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Callable[[bytes], object]:
        """The server's ``start_response``, with our headers added to the application's."""
        req = self.req
        try:
            req.status = _CODES.get(status[:3]) or int(status[:3])
            headers = req.with_response_headers(headers)
            mw = self.mw
            if mw.route is not None:
                req.facts.route = mw.route(self.environ) or req.facts.route
            if mw.user is not None:
                user_id = mw.user(self.environ)
                if user_id is not None:
                    context.set_user(user_id)
        except Exception as exc:
            safety.failed("wsgi.start_response", exc)
        return self._start_response(status, headers, exc_info)

    def __iter__(self) -> Iterator[bytes]:
        # A generator: the server's loop resumes it directly, and it ends without raising
        # StopIteration (a __next__ method is looked up per chunk and raises one per request).
        ctx, fail, iterator = self.ctx, self.req.fail, self._iterator
        while True:
            try:
                chunk = ctx.run(next, iterator, _DONE)
            except Exception as exc:
                ctx.run(safety.call, "wsgi.fail", fail, exc)
                raise
            if chunk is _DONE:
                return
            yield chunk

    def close(self) -> None:
        """Close the application's iterable (PEP 3333), then end the request's span and log.

        Both in the request's context: what the application's ``close()`` logs has the trace.
        """
        if self._closed:
            return
        self._closed = True
        ctx, req, close = self.ctx, self.req, self._close_body
        try:
            if close is not None:
                ctx.run(close)
        except Exception as exc:
            ctx.run(safety.call, "wsgi.fail", req.fail, exc)
            raise
        finally:
            # Never raises. The trace is left in ctx (the request's own, dropped with it).
            ctx.run(req.end, None, detach=False)
