"""Django: one trace per request, under WSGI (gunicorn) and ASGI (uvicorn) alike.

    MIDDLEWARE = [
        "msatrace.django.TraceMiddleware",   # first
        ...
    ]

The middleware is sync and async capable, so Django never adds a thread hop for it. Per request:
the incoming trace is continued (or a fresh one started) and made current for everything inside
(other middleware, the view, Django's own logging); the response gets ``X-Trace-ID`` and
``X-Request-ID`` (never replacing a header the view set); a SERVER span named by the URL pattern
(``GET /orders/<int:order_id>``) and one access-log line are written when the response leaves the
middleware. For a streaming response that is before its body is sent: the body is not covered.

- The user: an authenticated ``request.user`` becomes ``user_id`` / ``user.id``, read after the
  view ran, so it works with this middleware placed before ``AuthenticationMiddleware``. Only a
  user the request already loaded is used (by the view, ``login_required``, DRF, ...): msatrace
  never evaluates the lazy ``request.user`` itself, so it adds no session or user query.
- Errors: an exception Django turns into a 500 is recorded on the span (``process_exception``)
  and logged once: by Django's own ``django.request`` line ("Internal Server Error: /path"),
  which runs inside the request and so carries the trace ID and the exception as structured
  fields. With ``DEBUG_PROPAGATE_EXCEPTIONS`` Django re-raises instead; then msatrace's
  "unhandled exception" line is the one. The 500 response carries ``X-Trace-ID`` either way.

Needs the ``django`` extra (``pip install 'msatrace[django]'``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

try:
    from asgiref.sync import iscoroutinefunction, markcoroutinefunction
    from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
    from django.http import Http404, HttpRequest, HttpResponseBase
    from django.utils.functional import LazyObject
except ImportError:  # pragma: no cover - depends on the environment
    raise ImportError("msatrace.django needs Django: install 'msatrace[django]'") from None

from msatrace._core import context, inbound, logs
from msatrace._core import environ as cgi
from msatrace._core.inbound import RequestScope
from msatrace._core.safety import guard

__all__ = ["TraceMiddleware"]

# Where the request's RequestScope is kept: the same key msatrace.wsgi puts in the environ, so a
# Django app also wrapped in msatrace.wsgi.TraceMiddleware is traced once (by the outer one).
SCOPE_KEY = "msatrace.request"
# Exceptions Django answers with a 4xx (django.core.handlers.exception.response_for_exception):
# not errors of the service, so not recorded on the span.
_CLIENT_ERRORS = (Http404, PermissionDenied, BadRequest, SuspiciousOperation)

GetResponse = Callable[[HttpRequest], Any]


class TraceMiddleware:
    """Trace every request Django serves; put it first in ``MIDDLEWARE``.

    Args:
        get_response: the next handler, given by Django.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        logs.adopt_framework_loggers()  # Django configured its loggers in django.setup()

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        req, outer = _begin(request)
        if req is None:
            response = self.get_response(request)
            if outer is not None:  # traced by msatrace.wsgi further out: add what Django knows
                _safely("django.details", _details, outer, request)
            return response
        try:
            response = self.get_response(request)
        except Exception as exc:  # only with DEBUG_PROPAGATE_EXCEPTIONS: Django logged nothing
            _safely("django.fail", req.fail, exc)
            raise
        except BaseException as exc:  # the worker is stopping
            _safely("django.abort", req.abort, exc)
            raise
        else:
            _safely("django.respond", _respond, req, response)
            return response
        finally:
            _safely("django.end", _end, req, request)

    async def _acall(self, request: HttpRequest) -> Any:
        req, outer = _begin(request)
        if req is None:
            response = await self.get_response(request)
            if outer is not None:
                _safely("django.details", _details, outer, request)
            return response
        try:
            response = await self.get_response(request)
        except Exception as exc:  # only with DEBUG_PROPAGATE_EXCEPTIONS: Django logged nothing
            _safely("django.fail", req.fail, exc)
            raise
        except BaseException as exc:  # cancelled: the client went away or the server stops
            _safely("django.abort", req.abort, exc)
            raise
        else:
            _safely("django.respond", _respond, req, response)
            return response
        finally:
            _safely("django.end", _end, req, request)

    # Django calls process_exception (synchronously, in both modes) for an exception raised by
    # the view, before turning it into a 500 and logging it on "django.request".
    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        """Record a view's exception on the request's span; Django's own line logs it."""
        if isinstance(exception, _CLIENT_ERRORS):
            return
        req = request.META.get(SCOPE_KEY)
        if isinstance(req, RequestScope):
            _safely("django.exception", _record, req, exception)


def _begin(request: HttpRequest) -> tuple[RequestScope | None, RequestScope | None]:
    """(our scope, None), or (None, an outer msatrace.wsgi scope), or (None, None): untraced."""
    meta = request.META
    outer = meta.get(SCOPE_KEY)
    if isinstance(outer, RequestScope):
        return None, outer
    edge = inbound.current()
    if edge is None:
        return None, None
    path = request.path
    if path in edge.exclude_paths:
        return None, None
    try:
        facts = cgi.request_facts(meta, edge, path, request.scheme)
        if facts.protocol_version is None:
            facts.protocol_version = _asgi_http_version(request)
        req = edge.begin(facts)
    except Exception as exc:
        _internal("django.begin", exc)
        return None, None
    meta[SCOPE_KEY] = req
    return req, None


def _respond(req: RequestScope, response: HttpResponseBase) -> None:
    req.status = response.status_code
    headers = response.headers
    for name, value in req.response_headers(()):
        if name not in headers:  # case-insensitive: never replace a header the view set
            headers[name] = value


def _end(req: RequestScope, request: HttpRequest) -> None:
    _details(req, request)
    req.end()


def _details(req: RequestScope, request: HttpRequest) -> None:
    """What Django knows once the view ran: the URL pattern and the authenticated user."""
    match = request.resolver_match
    if match is not None and match.route is not None:
        route = match.route
        req.set_route(route if route.startswith("/") else "/" + route)
    user_id = _user_id(request)
    if user_id is not None:
        context.set_user(user_id)


def _user_id(request: HttpRequest) -> str | None:
    """The authenticated user's primary key if this request already loaded the user.

    AuthenticationMiddleware caches the user it loads in ``_cached_user`` (sync) or
    ``_acached_user`` (``await request.auser()``); a framework that set a plain user object
    (Django REST framework) leaves it in ``request.user``. A lazy user nobody evaluated is left
    alone: evaluating it would cost a session and a user query.
    """
    attrs = request.__dict__
    user = attrs.get("_cached_user") or attrs.get("_acached_user")
    if user is None:
        user = attrs.get("user")
        if user is None or isinstance(user, LazyObject):
            return None
    if not getattr(user, "is_authenticated", False):
        return None
    pk = getattr(user, "pk", None)
    return None if pk is None else str(pk)


def _record(req: RequestScope, exception: Exception) -> None:
    req.fail(exception, log=False)  # Django's "django.request" line is the one exception line


def _asgi_http_version(request: HttpRequest) -> str | None:
    scope = getattr(request, "scope", None)  # ASGIRequest: META has no SERVER_PROTOCOL
    return scope.get("http_version") if isinstance(scope, dict) else None


def _internal(site: str, exc: Exception) -> None:
    # guard() only on the rare failure path: entering it costs about a microsecond per use.
    with guard(site):
        raise exc


def _safely(site: str, fn: Callable[..., object], *args: Any) -> None:
    try:
        fn(*args)
    except Exception as exc:
        _internal(site, exc)
