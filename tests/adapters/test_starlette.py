"""msatrace.starlette.instrument: route templates, placement outside ServerErrorMiddleware, once."""

from __future__ import annotations

import logging

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Host, Mount, Route, Router

import msatrace
import msatrace.asgi
import msatrace.starlette
from tests.adapters.asgi_kit import call, init


async def ok(request: Request) -> Response:
    return PlainTextResponse("ok")


async def boom(request: Request) -> Response:
    raise RuntimeError("boom")


async def static(scope: object, receive: object, send: object) -> None:
    response = PlainTextResponse("file")
    await response(scope, receive, send)  # type: ignore[arg-type]  # a bare ASGI app


def tracing_layers(app: Starlette) -> int:
    """How many TraceMiddleware wrap the application's built middleware stack."""
    layer, count = app.middleware_stack, 0
    while layer is not None:
        count += isinstance(layer, msatrace.asgi.TraceMiddleware)
        layer = getattr(layer, "app", None)
    return count


@pytest.fixture
def app(env: pytest.MonkeyPatch) -> Starlette:
    init()
    app = Starlette(
        routes=[
            Route("/items/{item_id:int}", ok),
            Route("/boom", boom),
            Mount(
                "/api/{version}",
                routes=[Route("/users/{user_id}", ok), Mount("/deep", routes=[Route("/x", ok)])],
            ),
            Mount("/sub", app=Starlette(routes=[Route("/things/{thing}", ok)])),
            Mount("/static", app=static),
            Host("admin.example.com", app=Router(routes=[Route("/panel/{section}", ok)])),
        ]
    )
    return msatrace.starlette.instrument(app)


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/items/42", "/items/{item_id}"),
        ("/api/v2/users/ann", "/api/{version}/users/{user_id}"),
        ("/api/v2/deep/x", "/api/{version}/deep/x"),
        ("/sub/things/lamp", "/sub/things/{thing}"),
        ("/static/css/site.css", "/static/{path}"),
    ],
)
def test_route_template_names_span_and_access_line(
    app: Starlette, path: str, template: str
) -> None:
    """The span, http.route and the access line use the full template, mount prefixes included."""

    result = call(app, path)

    span = result.server_span()
    assert result.response.status_code == 200
    assert span.name == f"GET {template}"
    assert (span.attributes or {})["http.route"] == template
    assert result.by_logger("msatrace.access")[0]["route"] == template


def test_host_route_template(app: Starlette) -> None:
    """A route under a Host router is named by its path template."""

    result = call(app, "/panel/billing", headers={"host": "admin.example.com"})

    assert result.server_span().name == "GET /panel/{section}"


def test_unmatched_path_has_no_route(app: Starlette) -> None:
    """A 404 is named by method only: the raw path never becomes a span name."""

    result = call(app, "/no/such/page")

    span = result.server_span()
    assert result.response.status_code == 404
    assert span.name == "GET"
    assert "http.route" not in (span.attributes or {})
    assert result.by_logger("msatrace.access")[0]["event"] == "GET /no/such/page 404"


def test_middleware_is_outside_server_error_middleware(app: Starlette) -> None:
    """The built stack starts with TraceMiddleware, then Starlette's ServerErrorMiddleware."""

    call(app, "/items/1")

    outer = app.middleware_stack
    assert isinstance(outer, msatrace.asgi.TraceMiddleware)
    assert type(outer.app).__name__ == "ServerErrorMiddleware"


def test_instrument_twice_gives_one_middleware(app: Starlette) -> None:
    """Calling instrument() again leaves exactly one tracing middleware."""
    msatrace.starlette.instrument(app)

    result = call(app, "/items/1")

    assert tracing_layers(app) == 1
    assert len(result.spans) == 1


def test_instrument_after_first_request(env: pytest.MonkeyPatch) -> None:
    """An application instrumented after it started serving is traced from then on."""
    init()
    app = Starlette(routes=[Route("/items/{item_id}", ok)])
    call(app, "/items/1", spans=False)
    msatrace.starlette.instrument(app)

    result = call(app, "/items/2")

    assert result.server_span().name == "GET /items/{item_id}"
    assert tracing_layers(app) == 1


def test_500_handler_runs_inside_the_trace(env: pytest.MonkeyPatch) -> None:
    """A custom 500 handler's log line and its response carry the request's trace ID."""
    init()

    async def on_error(request: Request, exc: Exception) -> Response:
        logging.getLogger("app.errors").warning("handled %s", type(exc).__name__)
        return PlainTextResponse("sorry", status_code=500)

    app = msatrace.starlette.instrument(
        Starlette(routes=[Route("/boom", boom)], exception_handlers={500: on_error})
    )

    result = call(app, "/boom")

    trace_id = result.response.headers["x-trace-id"]
    assert result.response.text == "sorry"
    assert [e["trace_id"] for e in result.by_logger("app.errors")] == [trace_id]
    assert len([e for e in result.logs if "exception" in e]) == 1


def test_default_500_carries_trace_header(app: Starlette) -> None:
    """Starlette's own 500 page for an unhandled exception has X-Trace-ID and X-Request-ID."""

    result = call(app, "/boom")

    assert result.response.status_code == 500
    assert (
        result.response.headers["x-trace-id"] == result.by_logger("msatrace.error")[0]["trace_id"]
    )
    assert "x-request-id" in result.response.headers


def test_add_middleware_500_has_no_trace_header(env: pytest.MonkeyPatch) -> None:
    """Documented limit: added with add_middleware it sits inside ServerErrorMiddleware."""
    init()
    app = Starlette(routes=[Route("/boom", boom)])
    app.add_middleware(msatrace.asgi.TraceMiddleware)

    result = call(app, "/boom")

    assert result.response.status_code == 500
    assert "x-trace-id" not in result.response.headers
    assert len(result.by_logger("msatrace.error")) == 1
