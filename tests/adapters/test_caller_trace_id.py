"""A FastAPI app's own tests name the trace with X-Trace-ID and get that trace back.

The test clients run the application in process, inside the caller's context; with httpx patched
by msatrace that context's current span is the caller's CLIENT span, of another trace. The
request's headers decide the trace, never that context.
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry import trace

import msatrace
import msatrace.fastapi

MINE = "4bf92f3577b34da6a3ce929d0e0e4736"
OTHER = "0af7651916cd43dd8448eb211c80319c"


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/")
    async def root() -> dict[str, Any]:
        return {"trace_id": msatrace.current_trace_id()}

    return msatrace.fastapi.instrument(app)


@pytest.fixture
def app(env: pytest.MonkeyPatch) -> FastAPI:
    """An instrumented app, with msatrace patching httpx (the default) as in a user's tests."""
    msatrace.init(service_name="svc", log_format="json", access_log=False)
    return make_app()


# Starlette 0.36 (the minimum) uses an anyio name that newer anyio releases deprecate.
@pytest.mark.filterwarnings("ignore:The anyio.abc.BlockingPortal alias is deprecated")
def test_testclient_gets_the_x_trace_id_it_sent(app: FastAPI) -> None:
    """TestClient(app) with X-Trace-ID: the handler and the response name that trace."""
    with warnings.catch_warnings():
        # Starlette asks for httpx2 instead of httpx; this test is about httpx.
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient

    with TestClient(app) as client:
        response = client.get("/", headers={"X-Trace-ID": MINE})

    assert response.headers["X-Trace-ID"] == MINE
    assert response.json() == {"trace_id": MINE}


def test_asgi_transport_gets_the_x_trace_id_it_sent(app: FastAPI) -> None:
    """httpx.AsyncClient over ASGITransport with X-Trace-ID: the app continues that trace."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.get("/", headers={"X-Trace-ID": MINE})

    response = asyncio.run(go())

    assert response.headers["X-Trace-ID"] == MINE
    assert response.json() == {"trace_id": MINE}


def test_asgi_transport_inside_a_trace_gets_the_x_trace_id_it_sent(app: FastAPI) -> None:
    """A caller inside a span of another trace still gets the trace its X-Trace-ID names."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            with trace.get_tracer("test").start_as_current_span("caller"):
                return await c.get("/", headers={"X-Trace-ID": MINE})

    response = asyncio.run(go())

    assert response.json() == {"trace_id": MINE}


def test_asgi_transport_without_header_continues_the_callers_trace(app: FastAPI) -> None:
    """Without a header of the caller's, the app continues the caller's trace (traceparent)."""

    async def go() -> tuple[httpx.Response, str | None]:
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            with trace.get_tracer("test").start_as_current_span("caller"):
                return await c.get("/"), msatrace.current_trace_id()

    response, caller = asyncio.run(go())

    assert caller is not None
    assert response.json() == {"trace_id": caller}


def test_disagreeing_headers_traceparent_wins(app: FastAPI) -> None:
    """Both headers, naming different traces: the app continues traceparent's (documented)."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            headers = {"X-Trace-ID": MINE, "traceparent": f"00-{OTHER}-b7ad6b7169203331-01"}
            return await c.get("/", headers=headers)

    response = asyncio.run(go())

    assert response.json() == {"trace_id": OTHER}
    assert response.headers["X-Trace-ID"] == OTHER
