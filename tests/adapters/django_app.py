"""A tiny Django project for in-process adapter tests: settings, views and URL patterns.

``configure()`` sets Django up once per test process (``settings.configure`` cannot run twice);
tests change ``MIDDLEWARE`` and friends with ``override_settings``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import django
from django.conf import settings
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.urls import path

import msatrace

MIDDLEWARE = [
    "msatrace.django.TraceMiddleware",  # first, and before AuthenticationMiddleware
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]


def configure() -> None:
    """Configure Django for these tests, once per process; later calls do nothing."""
    if settings.configured:
        return
    settings.configure(
        DEBUG=False,
        SECRET_KEY="msatrace-tests",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=MIDDLEWARE,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
        USE_TZ=True,
    )
    django.setup()


def order(request: HttpRequest, order_id: int) -> HttpResponse:
    msatrace.get_logger("handler").info("order", order_id=order_id)
    return JsonResponse({"trace_id": msatrace.current_trace_id()})


async def async_order(request: HttpRequest, order_id: int) -> HttpResponse:
    msatrace.get_logger("handler").info("async order", order_id=order_id)
    return JsonResponse({"trace_id": msatrace.current_trace_id()})


def boom(request: HttpRequest) -> HttpResponse:
    raise ValueError("boom")


async def async_boom(request: HttpRequest) -> HttpResponse:
    raise ValueError("async boom")


def missing(request: HttpRequest) -> HttpResponse:
    raise Http404("no such order")


def me(request: HttpRequest) -> HttpResponse:
    user = request.user
    return HttpResponse(str(user.pk) if user.is_authenticated else "anonymous")


def no_user(request: HttpRequest) -> HttpResponse:
    return HttpResponse("the user was never looked at")


def own_header(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("x")
    response["x-trace-id"] = "set-by-view"
    return response


def stream(request: HttpRequest) -> StreamingHttpResponse:
    def body() -> Iterator[bytes]:  # runs after the view (and the middleware) returned
        log = msatrace.get_logger("handler")
        for i in range(2):
            log.info("chunk", i=i)
            yield f"{msatrace.current_trace_id()}\n".encode()
        log.info("stream end")

    return StreamingHttpResponse(body(), content_type="text/plain")


async def async_stream(request: HttpRequest) -> StreamingHttpResponse:
    async def body() -> AsyncIterator[bytes]:
        log = msatrace.get_logger("handler")
        for i in range(2):
            log.info("chunk", i=i)
            yield f"{msatrace.current_trace_id()}\n".encode()
        log.info("stream end")

    return StreamingHttpResponse(body(), content_type="text/plain")


def unavailable(request: HttpRequest) -> HttpResponse:
    return HttpResponse("down", status=503)


urlpatterns = [
    path("orders/<int:order_id>", order),
    path("async/orders/<int:order_id>", async_order),
    path("boom", boom),
    path("async/boom", async_boom),
    path("missing", missing),
    path("me", me),
    path("no-user", no_user),
    path("own", own_header),
    path("unavailable", unavailable),
    path("stream", stream),
    path("async/stream", async_stream),
    path("health", unavailable),
]
