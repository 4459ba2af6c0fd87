"""expose_headers: responses list the trace and request-ID headers in Access-Control-Expose-Headers.

A browser lets a page's script read only the response headers CORS exposes. Each adapter (ASGI,
WSGI, Django) adds the header when the option is on, merged with a list the application set.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import msatrace.asgi
import msatrace.starlette
import msatrace.wsgi
from tests.adapters import asgi_kit, django_app, wsgi_kit

django_app.configure()

from django.http import HttpRequest, HttpResponse  # noqa: E402  # needs configured settings
from django.test import Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402

EXPOSE = "Access-Control-Expose-Headers"


def exposed(value: str | bytes | None) -> list[str]:
    """The names a header value lists, as a browser reads them (lowercase, in order)."""
    if value is None:
        return []
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    return [part.strip().lower() for part in text.split(",") if part.strip()]


# --- ASGI ---------------------------------------------------------------------------------------


async def _plain(scope: Any, receive: Any, send: Callable[[Any], Awaitable[None]]) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def _own(scope: Any, receive: Any, send: Callable[[Any], Awaitable[None]]) -> None:
    headers = [(b"access-control-expose-headers", b"X-Custom, x-request-id")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})


def test_asgi_lists_the_trace_headers(env: pytest.MonkeyPatch) -> None:
    """ASGI with expose_headers: the response exposes X-Trace-ID and X-Request-ID."""
    asgi_kit.init(expose_headers=True)

    result = asgi_kit.call(msatrace.asgi.TraceMiddleware(_plain))

    assert exposed(result.response.headers.get(EXPOSE)) == ["x-trace-id", "x-request-id"]


def test_asgi_merges_with_the_applications_list(env: pytest.MonkeyPatch) -> None:
    """The application's own list is kept, and a name it lists already is not repeated."""
    asgi_kit.init(expose_headers=True)

    raw = asgi_kit.raw_call(msatrace.asgi.TraceMiddleware(_own), asgi_kit.http_scope())

    assert [exposed(v) for v in raw.header(b"access-control-expose-headers")] == [
        ["x-custom", "x-request-id", "x-trace-id"]
    ]


def test_asgi_merges_with_starlettes_cors_middleware(env: pytest.MonkeyPatch) -> None:
    """Starlette's CORSMiddleware exposing a header of its own: both lists reach the browser."""
    asgi_kit.init(expose_headers=True)

    async def home(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = msatrace.starlette.instrument(
        Starlette(
            routes=[Route("/", home)],
            middleware=[
                Middleware(CORSMiddleware, allow_origins=["*"], expose_headers=["X-Custom"]),
            ],
        )
    )
    result = asgi_kit.call(app, headers={"Origin": "https://app.example"})

    assert exposed(result.response.headers.get(EXPOSE)) == [
        "x-custom",
        "x-trace-id",
        "x-request-id",
    ]


def test_asgi_without_the_option_adds_nothing(env: pytest.MonkeyPatch) -> None:
    """The option is off by default: no Access-Control-Expose-Headers."""
    asgi_kit.init()

    result = asgi_kit.call(msatrace.asgi.TraceMiddleware(_plain))

    assert EXPOSE not in result.response.headers


# --- WSGI ---------------------------------------------------------------------------------------


def _wsgi(own: list[tuple[str, str]]) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain"), *own])
        return [b"ok"]

    return app


def test_wsgi_lists_the_trace_headers(env: pytest.MonkeyPatch) -> None:
    """WSGI with expose_headers: the response exposes X-Trace-ID and X-Request-ID."""
    wsgi_kit.init(expose_headers=True)

    result = wsgi_kit.call(msatrace.wsgi.TraceMiddleware(_wsgi([])))

    assert result.header(EXPOSE) == "X-Trace-ID, X-Request-ID"


def test_wsgi_merges_with_the_applications_list(env: pytest.MonkeyPatch) -> None:
    """The application's list keeps its names; only the missing one is appended."""
    wsgi_kit.init(expose_headers=True, trace_header="X-Correlation-ID")
    own = [("access-control-expose-headers", "X-Custom,X-TRACE-ID, x-correlation-id")]

    result = wsgi_kit.call(msatrace.wsgi.TraceMiddleware(_wsgi(own)))

    assert result.header(EXPOSE) == "X-Custom,X-TRACE-ID, x-correlation-id, X-Request-ID"


def test_wsgi_application_listing_both_is_left_alone(env: pytest.MonkeyPatch) -> None:
    """A list that names both headers already is passed on unchanged."""
    wsgi_kit.init(expose_headers=True)
    own = [(EXPOSE, "x-request-id , X-Trace-Id")]

    result = wsgi_kit.call(msatrace.wsgi.TraceMiddleware(_wsgi(own)))

    assert result.header(EXPOSE) == "x-request-id , X-Trace-Id"


def test_wsgi_without_the_option_adds_nothing(env: pytest.MonkeyPatch) -> None:
    """The option is off by default: no Access-Control-Expose-Headers."""
    wsgi_kit.init()

    result = wsgi_kit.call(msatrace.wsgi.TraceMiddleware(_wsgi([])))

    assert result.header(EXPOSE) is None


# --- Django -------------------------------------------------------------------------------------


def _django_plain(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def _django_own(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("ok")
    response[EXPOSE] = "X-Custom"
    return response


urlpatterns = [path("plain", _django_plain), path("own", _django_own)]


def _django_get(url: str) -> HttpResponse:
    with override_settings(ROOT_URLCONF=__name__, MIDDLEWARE=django_app.MIDDLEWARE):
        response: HttpResponse = Client().get(url)
    return response


def test_django_lists_the_trace_headers(env: pytest.MonkeyPatch) -> None:
    """Django with expose_headers: the response exposes X-Trace-ID and X-Request-ID."""
    wsgi_kit.init(expose_headers=True)

    response = _django_get("/plain")

    assert response[EXPOSE] == "X-Trace-ID, X-Request-ID"


def test_django_merges_with_the_views_list(env: pytest.MonkeyPatch) -> None:
    """A list the view set keeps its names, with ours appended."""
    wsgi_kit.init(expose_headers=True)

    response = _django_get("/own")

    assert response[EXPOSE] == "X-Custom, X-Trace-ID, X-Request-ID"


def test_django_without_the_option_adds_nothing(env: pytest.MonkeyPatch) -> None:
    """The option is off by default: no Access-Control-Expose-Headers."""
    wsgi_kit.init()

    response = _django_get("/plain")

    assert not response.has_header(EXPOSE)
