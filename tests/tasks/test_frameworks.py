"""Framework hand-offs keep the trace: Starlette/FastAPI BackgroundTasks, Django's asgiref."""

from __future__ import annotations

import asyncio
from typing import Any

from opentelemetry import trace

import msatrace
from tests.conftest import need
from tests.tasks.conftest import Captured

httpx = need("httpx")
asgiref_sync = need("asgiref.sync")
need("starlette")
fastapi = need("fastapi")
from starlette.applications import Starlette  # noqa: E402
from starlette.background import BackgroundTask  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import PlainTextResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

log = msatrace.get_logger("work")


def record_response_end(app: Any, order: list[str]) -> Any:
    """An outer ASGI layer noting when the response's last body chunk was sent."""

    async def outer(scope: Any, receive: Any, send: Any) -> None:
        async def noting_send(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                order.append("response sent")

        await app(scope, receive, noting_send)

    return outer


def call(app: Any, path: str) -> Any:
    async def go() -> Any:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            return await client.get(path)

    return asyncio.run(go())


def test_starlette_background_task_runs_after_the_response_in_its_trace(
    captured: Captured,
) -> None:
    """A Starlette BackgroundTask runs after the response is sent and logs the request's trace."""
    import msatrace.starlette

    order: list[str] = []

    def notify(order_id: str) -> None:
        order.append("background")
        log.info("notifying", order_id=order_id)

    async def create(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok", background=BackgroundTask(notify, "o-1"))

    app = msatrace.starlette.instrument(Starlette(routes=[Route("/orders", create)]))

    response = call(record_response_end(app, order), "/orders")

    (line,) = captured.logged("notifying")
    assert order == ["response sent", "background"]
    assert line["trace_id"] == response.headers["x-trace-id"]
    assert line["request_id"] == response.headers["x-request-id"]


def test_fastapi_background_tasks_run_in_the_request_trace(captured: Captured) -> None:
    """FastAPI's BackgroundTasks (sync and async) log the trace ID the response carried."""
    import msatrace.fastapi

    api = fastapi.FastAPI()

    def sync_job() -> None:
        log.info("sync job")

    async def async_job() -> None:
        await asyncio.sleep(0)
        log.info("async job")

    @api.post("/reports")
    def create(tasks: fastapi.BackgroundTasks) -> dict[str, str]:
        tasks.add_task(sync_job)
        tasks.add_task(async_job)
        return {"status": "queued"}

    msatrace.fastapi.instrument(api)

    async def go() -> Any:
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            return await client.post("/reports")

    response = asyncio.run(go())

    lines = captured.logged("sync job") + captured.logged("async job")
    assert len(lines) == 2
    assert {ln["trace_id"] for ln in lines} == {response.headers["x-trace-id"]}


def test_django_sync_to_async_carries_the_trace(captured: Captured) -> None:
    """asgiref's sync_to_async (Django's) runs the sync function in the caller's trace."""

    def lookup() -> str | None:
        log.info("lookup")
        return msatrace.current_trace_id()

    async def view() -> tuple[str | None, str | None]:
        with trace.get_tracer("test").start_as_current_span("request"):
            return await asgiref_sync.sync_to_async(lookup)(), msatrace.current_trace_id()

    inside, outside = asyncio.run(view())

    assert inside is not None
    assert inside == outside


def test_django_async_to_sync_carries_the_trace(captured: Captured) -> None:
    """asgiref's async_to_sync (Django's) runs the coroutine in the caller's trace."""

    async def fetch() -> str | None:
        await asyncio.sleep(0)
        log.info("fetch")
        return msatrace.current_trace_id()

    with trace.get_tracer("test").start_as_current_span("request") as span:
        inside = asgiref_sync.async_to_sync(fetch)()

    assert inside == f"{span.get_span_context().trace_id:032x}"
    assert captured.logged("fetch")[0]["trace_id"] == inside
