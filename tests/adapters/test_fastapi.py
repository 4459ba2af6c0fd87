"""msatrace.fastapi.instrument: one SERVER span per request, FastAPI's own tracing turned off."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, HTTPException, Request, Response
from fastapi.responses import PlainTextResponse
from opentelemetry import trace
from opentelemetry.trace import StatusCode

import msatrace
import msatrace.asgi
import msatrace.fastapi
import msatrace.starlette
from tests.adapters.asgi_kit import call, init

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
NATIVE_TELEMETRY = hasattr(FastAPI(), "_telemetry")


def make_app(**kwargs: Any) -> FastAPI:
    app = FastAPI(**kwargs)
    log = msatrace.get_logger("handler")

    @app.get("/orders/{order_id}")
    async def order(order_id: int) -> dict[str, Any]:
        log.info("order", order_id=order_id)
        return {"trace_id": msatrace.current_trace_id()}

    @app.get("/sync/{n}")
    def sync(n: int) -> dict[str, Any]:
        log.info("sync", n=n)
        return {"trace_id": msatrace.current_trace_id()}

    @app.get("/missing")
    async def missing() -> None:
        raise HTTPException(status_code=404, detail="no such order")

    @app.get("/boom")
    async def boom() -> None:
        raise KeyError("boom")

    router = APIRouter(prefix="/v1")

    @router.get("/items/{item_id}")
    async def item(item_id: str) -> dict[str, str]:
        return {"item": item_id}

    app.include_router(router)
    return app


@pytest.fixture
def app(env: pytest.MonkeyPatch) -> FastAPI:
    init()
    return msatrace.fastapi.instrument(make_app())


def test_one_server_span_in_the_requests_trace(app: FastAPI) -> None:
    """Exactly one span per request: msatrace's SERVER span, in the incoming trace."""

    result = call(app, "/orders/7", headers={"traceparent": TRACEPARENT})

    assert [(s.name, s.kind.name) for s in result.spans] == [("GET /orders/{order_id}", "SERVER")]
    assert format(result.spans[0].context.trace_id, "032x") == TRACE_ID
    assert result.response.json() == {"trace_id": TRACE_ID}


@pytest.mark.skipif(not NATIVE_TELEMETRY, reason="this FastAPI has no built-in tracing")
def test_without_instrument_fastapi_traces_itself(env: pytest.MonkeyPatch) -> None:
    """The control: with only add_middleware, FastAPI adds its own SERVER span in another trace."""
    init()
    app = make_app()
    app.add_middleware(msatrace.asgi.TraceMiddleware)

    result = call(app, "/orders/7", headers={"traceparent": TRACEPARENT})

    servers = [s for s in result.spans if s.kind.name == "SERVER"]
    assert len(servers) == 2
    assert {s.instrumentation_scope.name for s in servers if s.instrumentation_scope} == {
        "fastapi",
        "msatrace",
    }


@pytest.mark.skipif(not NATIVE_TELEMETRY, reason="this FastAPI has no built-in tracing")
def test_explicit_native_tracing_is_turned_off(env: pytest.MonkeyPatch) -> None:
    """Even FastAPI(telemetry={"tracing": True}) ends up with one SERVER span per request."""
    init()
    app = msatrace.fastapi.instrument(make_app(telemetry={"tracing": True}))

    result = call(app, "/orders/7")

    assert [s.name for s in result.spans] == ["GET /orders/{order_id}"]


def test_router_prefix_is_in_the_template(app: FastAPI) -> None:
    """A route from include_router(prefix=...) is named with its full template."""

    result = call(app, "/v1/items/abc")

    assert result.server_span().name == "GET /v1/items/{item_id}"


def test_mounted_fastapi_app_adds_no_span(env: pytest.MonkeyPatch) -> None:
    """A FastAPI sub-application mounted after instrument() does not trace itself."""
    init()
    app = msatrace.fastapi.instrument(make_app())
    sub = FastAPI()

    @sub.get("/reports/{report_id}")
    async def report(report_id: str) -> dict[str, str]:
        return {"report": report_id}

    app.mount("/admin", sub)

    result = call(app, "/admin/reports/r1")

    assert [s.name for s in result.spans] == ["GET /admin/reports/{report_id}"]


def test_sync_endpoint_logs_carry_trace(app: FastAPI) -> None:
    """A sync endpoint, run in FastAPI's thread pool, logs with the request's trace ID."""

    result = call(app, "/sync/3")

    trace_id = result.response.headers["x-trace-id"]
    assert result.response.json() == {"trace_id": trace_id}
    assert [e["trace_id"] for e in result.by_logger("handler")] == [trace_id]


def test_http_exception_is_not_an_error(app: FastAPI) -> None:
    """An HTTPException (404) is a normal response: no exception log, span not ERROR."""

    result = call(app, "/missing")

    span = result.server_span()
    assert result.response.status_code == 404
    assert span.status.status_code is StatusCode.UNSET
    assert [e for e in result.logs if "exception" in e] == []
    assert result.by_logger("msatrace.access")[0]["route"] == "/missing"


def test_validation_error_is_not_an_error(app: FastAPI) -> None:
    """A 422 from request validation is logged as an access line only."""

    result = call(app, "/orders/not-a-number")

    assert result.response.status_code == 422
    assert result.server_span().status.status_code is StatusCode.UNSET
    assert [e["level"] for e in result.logs] == ["info"]


def test_unhandled_exception_once_with_trace_on_500(app: FastAPI) -> None:
    """An unhandled exception: one ERROR line with the trace ID, which the 500 also carries."""

    result = call(app, "/boom")

    errors = [e for e in result.logs if "exception" in e]
    assert result.response.status_code == 500
    assert [e["trace_id"] for e in errors] == [result.response.headers["x-trace-id"]]
    assert errors[0]["exception"]["type"] == "KeyError"
    assert result.server_span().status.status_code is StatusCode.ERROR


def test_instrument_twice_is_one_middleware(app: FastAPI) -> None:
    """instrument() twice: still one span and one access line per request."""
    msatrace.fastapi.instrument(app)

    result = call(app, "/orders/1")

    assert len(result.spans) == 1
    assert len(result.by_logger("msatrace.access")) == 1


def test_fastapi_without_native_telemetry(env: pytest.MonkeyPatch) -> None:
    """An application without FastAPI's telemetry attributes (older FastAPI) is instrumented."""
    init()
    app = make_app()
    for name in ("_telemetry", "_native_telemetry"):
        if hasattr(app, name):
            delattr(app, name)

    instrumented = msatrace.fastapi.instrument(app)

    assert instrumented is app
    assert getattr(app.build_middleware_stack, "msatrace", None) == "fastapi"


def test_exception_logged_by_handler_is_not_logged_again(env: pytest.MonkeyPatch) -> None:
    """A 500 handler that logs the exception itself: that line is the one exception line."""
    init()
    app = make_app()

    @app.exception_handler(Exception)
    async def on_error(request: Request, exc: Exception) -> Response:
        logging.getLogger("app.errors").exception("request failed")
        return PlainTextResponse("sorry", status_code=500)

    msatrace.fastapi.instrument(app)

    result = call(app, "/boom")

    errors = [e for e in result.logs if "exception" in e]
    assert [e["logger"] for e in errors] == ["app.errors"]
    assert errors[0]["trace_id"] == result.response.headers["x-trace-id"]
    assert result.server_span().status.status_code is StatusCode.ERROR


@pytest.mark.skipif(not NATIVE_TELEMETRY, reason="this FastAPI has no built-in tracing")
def test_fastapi_instrument_after_starlette_instrument(env: pytest.MonkeyPatch) -> None:
    """msatrace.starlette.instrument first, msatrace.fastapi.instrument after: one SERVER span."""
    init()
    app = make_app()
    msatrace.starlette.instrument(app)
    msatrace.fastapi.instrument(app)

    result = call(app, "/orders/7")

    assert [s.name for s in result.spans] == ["GET /orders/{order_id}"]


@pytest.mark.skipif(not NATIVE_TELEMETRY, reason="this FastAPI has no built-in tracing")
def test_fastapi_auto_configure_adds_no_span_exporter(env: pytest.MonkeyPatch) -> None:
    """With FASTAPI_OTEL_AUTO_CONFIGURE=true, FastAPI's startup adds no exporter to our provider."""
    env.setenv("FASTAPI_OTEL_AUTO_CONFIGURE", "true")
    env.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:9/v1/traces")
    env.setenv("OTEL_METRICS_EXPORTER", "none")
    env.setenv("OTEL_LOGS_EXPORTER", "none")
    init(traces_exporter="none")
    provider = trace.get_tracer_provider()
    before = len(provider._active_span_processor._span_processors)  # type: ignore[attr-defined]  # SDK internals: no public count
    app = msatrace.fastapi.instrument(make_app())
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[Any] = []

    async def receive() -> Any:
        return messages.pop(0)

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))

    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert len(provider._active_span_processor._span_processors) == before  # type: ignore[attr-defined]  # as above
