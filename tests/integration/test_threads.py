"""A request's work in a thread pool, asyncio's executor or a thread it starts keeps its trace.

Real uvicorn serving ``tests/apps/threads_app.py``: each request runs an ``@msatrace.task`` in an
application ``ThreadPoolExecutor``, through ``loop.run_in_executor`` and in a
``threading.Thread``, with no ``msatrace.wrap``. Every ``job`` line and task span is checked
against the request that caused it, for hundreds of concurrent requests; with
``MSATRACE_PROPAGATE_THREADS=false`` the work starts traces of its own, as before.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from msatrace.testing import OTLPReceiver
from tests.integration.servers import Server, ServerPool

N = 200
VIAS = ("pool", "executor", "thread")


def hand_off(srv: Server, count: int) -> dict[int, str]:
    """Send ``count`` concurrent requests (request n has X-Request-ID hand-n); n -> trace ID."""

    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=32)
        async with httpx.AsyncClient(base_url=srv.url, limits=limits, timeout=120) as client:
            return await asyncio.gather(
                *(
                    client.get(f"/hand-off/{n}", headers={"X-Request-ID": f"hand-{n}"})
                    for n in range(count)
                )
            )

    responses = asyncio.run(run())
    assert [r.status_code for r in responses] == [200] * count
    return {r.json()["n"]: r.headers["x-trace-id"] for r in responses}


def job_lines(srv: Server, since: int, count: int) -> list[dict[str, Any]]:
    """The ``job`` lines since ``since``, once all ``count`` x 3 of them are written."""
    lines = srv.wait_for(
        lambda ls: sum(ln.get("event") == "job" for ln in ls) >= count * len(VIAS), since=since
    )
    return [ln for ln in lines if ln.get("event") == "job"]


def test_each_requests_threads_keep_its_trace(
    servers: ServerPool, otlp_receiver: OTLPReceiver
) -> None:
    """200 concurrent requests: every job line and task span carries its own request's trace."""
    srv = servers.uvicorn("threads_app:app", name="threads-on")
    since = srv.mark()

    traces = hand_off(srv, N)

    lines = job_lines(srv, since, N)
    assert sorted((ln["n"], ln["via"]) for ln in lines) == [
        (n, v) for n in range(N) for v in sorted(VIAS)
    ]
    for ln in lines:
        assert (ln["trace_id"], ln["request_id"], ln["task"]) == (
            traces[ln["n"]],
            f"hand-{ln['n']}",
            "job",
        ), ln
    spans = otlp_receiver.wait_for(
        lambda ss: sum(s.name == "job" and s.service == "threads-on" for s in ss) >= N * 3
    )
    jobs = [s for s in spans if s.name == "job" and s.service == "threads-on"]
    assert sorted(s.trace_id for s in jobs) == sorted(t for t in traces.values() for _ in VIAS)
    assert all(s.parent_span_id is not None for s in jobs)


def test_switched_off_threads_start_traces_of_their_own(servers: ServerPool) -> None:
    """With MSATRACE_PROPAGATE_THREADS=false the work runs outside the request's trace."""
    srv = servers.uvicorn(
        "threads_app:app", name="threads-off", env={"MSATRACE_PROPAGATE_THREADS": "false"}
    )
    since = srv.mark()

    traces = hand_off(srv, 3)

    lines = job_lines(srv, since, 3)
    assert len(lines) == 9
    for ln in lines:
        assert ln["trace_id"] not in traces.values(), ln
        assert ln["request_id"] is None, ln
