"""Many callers at once: every request the server receives carries its own caller's trace."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import requests
from opentelemetry import trace

from tests.outbound.conftest import EchoServer
from tests.outbound.helpers import traceparent_ids

CALLERS = 200


def _own_trace_id() -> str:
    return format(trace.get_current_span().get_span_context().trace_id, "032x")


def _assert_no_bleed(echo: EchoServer) -> None:
    assert len(echo.received) == CALLERS
    for received in echo.received:
        expected = received.get("x-expect")
        assert traceparent_ids(received.get("traceparent"))[0] == expected
        assert received.get("x-trace-id") == expected
    assert len({r.get("x-expect") for r in echo.received}) == CALLERS


def test_async_tasks_each_send_their_own_trace(traced: None, echo: EchoServer) -> None:
    """200 concurrent AsyncClient calls from 200 tasks, each in its own trace: zero bleed."""
    tracer = trace.get_tracer("tests")

    async def one(client: httpx.AsyncClient, i: int) -> None:
        with tracer.start_as_current_span(f"task-{i}"):
            await asyncio.sleep(0)  # interleave with the other tasks before sending
            await client.get(echo.url + "/echo", headers={"x-expect": _own_trace_id()})

    async def main() -> None:
        limits = httpx.Limits(max_connections=CALLERS)
        async with httpx.AsyncClient(limits=limits, timeout=60) as client:
            await asyncio.gather(*(one(client, i) for i in range(CALLERS)))

    asyncio.run(main())

    _assert_no_bleed(echo)


def test_threads_sharing_a_session_each_send_their_own_trace(
    traced: None, echo: EchoServer
) -> None:
    """200 threads using one shared requests.Session, each in its own trace: zero bleed."""
    tracer = trace.get_tracer("tests")
    start = threading.Barrier(CALLERS)
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=CALLERS))

    def one(i: int) -> None:
        with tracer.start_as_current_span(f"thread-{i}"):
            start.wait()
            session.get(echo.url + "/echo", headers={"x-expect": _own_trace_id()}, timeout=60)

    with session, ThreadPoolExecutor(CALLERS) as pool:
        list(pool.map(one, range(CALLERS)))

    _assert_no_bleed(echo)
