"""Django: one trace per request, under WSGI (gunicorn) and ASGI (uvicorn) alike.

    MIDDLEWARE = ["msatrace.django.TraceMiddleware", ...]   # first

Sync and async capable, so Django adds no thread hop for it. Per request: the incoming trace is
continued (or started) and current for everything inside (middleware, view, Django's logging); the
response gets ``X-Trace-ID`` and ``X-Request-ID`` (never replacing the view's; with
``expose_headers``, listed in ``Access-Control-Expose-Headers`` too); a SERVER span named
by the URL pattern (``GET /orders/<int:order_id>``) and one access line end the request when the
response leaves the middleware or, for a ``StreamingHttpResponse``, when its body (run in the
request's context) is exhausted or closed. A ``FileResponse`` sent with ``wsgi.file_wrapper``
ends when the middleware returns. Under ASGI the trace stays current in the request's own task
until Django has sent the response, so the server's access line (uvicorn's) carries it too.

- The user: an authenticated ``request.user`` becomes ``user_id`` / ``user.id``, read after the
  view ran (so this middleware may come before ``AuthenticationMiddleware``), and only if the
  request already loaded it: msatrace never evaluates the lazy user, so it adds no query.
- Errors: an exception Django turns into a 500 is recorded on the span (``process_exception``)
  and logged once, by Django's own ``django.request`` line, which runs inside the request and so
  carries the trace ID and the structured exception. With ``DEBUG_PROPAGATE_EXCEPTIONS`` Django
  re-raises; then msatrace's "unhandled exception" line is the one. The 500 has ``X-Trace-ID``.

Needs the ``django`` extra (``pip install 'msatrace[django]'``).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import Context
from functools import partial
from typing import Any

try:
    from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
    from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
    from django.core.handlers.asgi import ASGIRequest
    from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
    from django.utils import log as django_log
    from django.utils.functional import LazyObject
except ImportError:  # pragma: no cover - depends on the environment
    raise ImportError("msatrace.django needs Django: install 'msatrace[django]'") from None

from msatrace._core import safety, upstream
from msatrace._core.endpoint import Endpoint
from msatrace._core.lifecycle import environ as cgi
from msatrace._core.lifecycle import inbound, served
from msatrace._core.lifecycle.inbound import RequestFacts, RequestScope
from msatrace._core.logs import configure
from msatrace._core.trace import context
from msatrace._core.trace.headers import exposed_value

__all__ = ["TraceMiddleware"]

# Where the request's RequestScope is kept: the same key msatrace.wsgi puts in the environ, so a
# Django app also wrapped in msatrace.wsgi.TraceMiddleware is traced once (by the outer one).
SCOPE_KEY = "msatrace.request"
# Answered with a 4xx by Django (response_for_exception): not errors of the service.
_CLIENT_ERRORS = (Http404, PermissionDenied, BadRequest, SuspiciousOperation)
# Django's own response logger (undocumented; upstream entry django.log-response), or None.
_log_response = upstream.django_log_response(django_log)


class TraceMiddleware:
    """Trace every request Django serves; put it first in ``MIDDLEWARE``."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        configure.adopt_framework_loggers()  # Django configured its loggers in django.setup()

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        if isinstance(request, ASGIRequest):
            # Sync under ASGI (a sync-only middleware follows ours): Django runs the chain in a
            # thread through asgiref, in a copy of the request task's context that asgiref copies
            # back when the thread returns. Run in it, as _acall does in the task: the trace stays
            # current until Django has sent the response (uvicorn's access line).
            return self._call(None, request)
        ctx = contextvars.copy_context()  # the request's own context, entered again by _stream
        return ctx.run(self._call, ctx, request)

    def _call(self, ctx: contextvars.Context | None, request: HttpRequest) -> Any:
        req, outer = _begin(request)
        if req is None:
            endpoint = _own_endpoint(request, outer)
            if endpoint is not None:  # msatrace's own (a health probe): Django never sees it
                return _answer(endpoint, request)
            return _passed(outer, request, self.get_response(request))
        streamed = False
        try:
            response = self.get_response(request)
        except BaseException as exc:  # only with DEBUG_PROPAGATE_EXCEPTIONS, or cancelled
            req.raised(exc)
            raise
        else:
            streamed = _respond(req, request, response, ctx)
            return response
        finally:
            if not streamed:  # the trace stays in the request's own context (see __call__)
                _details(req, request, end=True, detach=False)  # never raises

    async def _acall(self, request: HttpRequest) -> Any:
        req, outer = _begin(request)
        if req is None:
            endpoint = _own_endpoint(request, outer)
            if endpoint is not None:
                if endpoint.blocking:
                    return await asyncio.to_thread(_answer, endpoint, request)
                return _answer(endpoint, request)
            return _passed(outer, request, await self.get_response(request))
        streamed = False
        try:
            response = await self.get_response(request)
        except BaseException as exc:  # only with DEBUG_PROPAGATE_EXCEPTIONS, or cancelled
            req.raised(exc)
            raise
        else:
            streamed = _respond(req, request, response, None)
            return response
        finally:
            if not streamed:
                # Django's ASGI handler sends the response after this returns, in this request's
                # own task: the trace stays current there, so what is logged while sending
                # (uvicorn's access line) carries it. The task's context ends with the request.
                _details(req, request, end=True, detach=False)  # never raises

    # Django calls process_exception (synchronously, in both modes) for an exception raised by
    # the view, before turning it into a 500 and logging it on "django.request".
    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        """Record a view's exception on the request's span; Django's own line logs it."""
        if isinstance(exception, _CLIENT_ERRORS):
            return
        req = request.META.get(SCOPE_KEY)
        if isinstance(req, RequestScope):
            # Django's own "django.request" line is the one exception line: record, don't log.
            route = getattr(request.resolver_match, "route", None)  # for the report
            if isinstance(route, str):
                req.facts.route = route if route.startswith("/") else "/" + route
            safety.call("django.exception", partial(req.fail, log=False), exception)


def _own_endpoint(request: HttpRequest, outer: RequestScope | None) -> Endpoint | None:
    if outer is not None or inbound.active is None:
        return None
    return served.lookup(request.method or "GET", request.path)


def _answer(endpoint: Endpoint, request: HttpRequest) -> HttpResponse:
    # Answered before any other middleware: ALLOWED_HOSTS, SSL and slash redirects do not apply.
    headers = {name.lower(): value for name, value in request.headers.items()}
    status, pairs, body = served.answer(endpoint, request.method or "GET", headers)
    response = HttpResponse(body, status=status)
    for name, value in pairs:
        response[name] = value
    return response


def _fill(request: HttpRequest, facts: RequestFacts) -> None:
    """The facts only a sampled span records (``RequestFacts.fill``)."""
    cgi.fill_server(request.META, facts)
    facts.scheme = request.scheme  # reads a setting: only for a sampled span
    if facts.protocol_version is None:  # ASGIRequest: no SERVER_PROTOCOL
        facts.protocol_version = getattr(request, "scope", {}).get("http_version")


def _begin(request: HttpRequest) -> tuple[RequestScope | None, RequestScope | None]:
    """(our scope, None), or (None, an outer msatrace.wsgi scope), or (None, None): untraced."""
    meta = request.META
    outer = meta.get(SCOPE_KEY)
    if isinstance(outer, RequestScope):
        return None, outer
    edge, path = inbound.active, request.path
    if edge is None or path in edge.exclude_paths:
        return None, None
    try:
        facts = cgi.request_facts(meta, edge, path)
        if facts.fill is not None:
            facts.fill, facts.source = _fill, request
        req = edge.begin(facts)
    except Exception as exc:
        safety.failed("django.begin", exc)
        return None, None
    meta[SCOPE_KEY] = req
    return req, None


def _passed(outer: RequestScope | None, request: HttpRequest, response: Any) -> Any:
    if outer is not None:  # traced by msatrace.wsgi further out: add what Django knows
        _details(outer, request)
    return response


def _respond(
    req: RequestScope, request: HttpRequest, response: HttpResponseBase, ctx: Context | None
) -> bool:
    """Add our headers; for a streamed body, hand the end of the request over to the body."""
    try:
        req.status = response.status_code
        headers = response.headers
        p = req.propagation
        # HttpResponse.setdefault: "Set a header unless it has already been set" (any case of
        # the name), so a header the view set is never replaced.
        response.setdefault(p.trace_header, req.trace_id_hex)
        response.setdefault(p.request_id_header, req.request_id)
        expose = p.expose
        if expose is not None:  # expose_headers: merged with the view's own list, if any
            exposed = exposed_value(headers.get(expose.name), expose)
            if exposed is not None:
                headers[expose.name] = exposed
        if response.status_code >= 400 and _log_response is not None:
            # Django writes its "Not Found: /path" line (BaseHandler.get_response) after the
            # response has left every middleware, outside the request's trace. Write that same
            # line here, inside it; log_response marks the response and Django skips its own.
            _log_response(
                "%s: %s", response.reason_phrase, request.path, response=response, request=request
            )
        # A FileResponse under WSGI goes to wsgi.file_wrapper, never through streaming_content.
        if not response.streaming or upstream.django_file_to_stream(response) is not None:
            return False
        content = response.streaming_content
        response.streaming_content = (
            _stream(ctx, req, request, content)
            if ctx is not None
            else _astream(req, request, content, response.is_async)
        )
        return True
    except Exception as exc:
        safety.failed("django.respond", exc)
        return False


# A WSGI server iterates the body after the middleware returned: each chunk runs in the request's
# context, and the request ends when the body is exhausted or closed (response.close()).
def _stream(ctx: Context, req: RequestScope, request: HttpRequest, content: Any) -> Iterator[Any]:
    iterator = iter(content)
    try:
        while True:
            try:
                chunk = ctx.run(next, iterator)
            except StopIteration:
                return
            except Exception as exc:
                ctx.run(safety.call, "django.fail", req.fail, exc)
                raise
            yield chunk
    finally:
        ctx.run(_end, req, request)


# Django's ASGI handler sends the body in the request's task after the middleware returned; the
# request ends there, when the body is exhausted or closed.
async def _astream(
    req: RequestScope, request: HttpRequest, content: Any, is_async: bool
) -> AsyncIterator[Any]:
    try:
        if is_async:
            async for chunk in content:
                yield chunk
        else:
            # What StreamingHttpResponse.__aiter__ does with a sync iterator under ASGI: consume
            # it in one thread hop (the thread gets a copy of this context, so logs keep the trace).
            for chunk in await sync_to_async(_consume)(content):
                yield chunk
    except Exception as exc:
        safety.call("django.fail", req.fail, exc)
        raise
    finally:
        _end(req, request)


def _consume(content: Any) -> list[Any]:  # sync_to_async(list) confuses mypy's overloads
    return list(content)


def _end(req: RequestScope, request: HttpRequest) -> None:
    """A streamed body's end: the request ends with it (the body runs in its context)."""
    _details(req, request, end=True)


def _details(
    req: RequestScope, request: HttpRequest, *, end: bool = False, detach: bool = True
) -> None:
    """What Django knows once the view ran: the URL pattern and the authenticated user.

    Then, with ``end``, the request ends (``req.end(detach=detach)``): one call per request for
    both, where the request ends. Never raises.
    """
    try:
        route = getattr(request.resolver_match, "route", None)
        if route is not None:
            req.facts.route = route if route.startswith("/") else "/" + route
        # The user's primary key if the request loaded an authenticated user:
        # AuthenticationMiddleware caches what it loads in _cached_user / _acached_user; Django
        # REST framework sets a plain request.user. A lazy user nobody evaluated is left alone
        # (evaluating it is a query).
        attrs = request.__dict__
        user = upstream.django_cached_user(request)
        if user is None:
            user = attrs.get("user")
            if isinstance(user, LazyObject):
                user = None
        if user is not None and getattr(user, "is_authenticated", False):
            pk = getattr(user, "pk", None)
            if pk is not None:
                context.set_user(str(pk))
    except Exception as exc:
        safety.failed("django.details", exc)
    if end:
        req.end(detach=detach)
