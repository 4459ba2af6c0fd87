"""RED metrics of real servers: ``http.server.active_requests`` back to 0 whatever the ending."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable

import httpx

from msatrace.testing import OTLPReceiver
from tests.conftest import need
from tests.integration.servers import Server, start_uvicorn

need("prometheus_client")
need("fastapi")

_ACTIVE = re.compile(r"^http_server_active_requests\{([^}]*)\} (\S+)$", re.MULTILINE)


def _active(srv: Server) -> float:
    """The scrape's ``http_server_active_requests`` summed over its series (0 when none)."""
    text = httpx.get(srv.url + "/metrics", timeout=10).text
    return sum(float(value) for _, value in _ACTIVE.findall(text))


def _until_active(srv: Server, ok: Callable[[float], bool], timeout: float = 60) -> float:
    deadline = time.monotonic() + timeout
    value = _active(srv)
    while not ok(value) and time.monotonic() < deadline:
        time.sleep(0.2)
        value = _active(srv)
    return value


async def _mixed_load(url: str) -> tuple[int, int, int]:
    """200 concurrent requests: 120 answered, 40 failing in the app, 20 the client gives up
    waiting for, 20 streams the client closes after their first chunk. Returns (200s, 500s,
    client-side give-ups)."""
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def get(path: str) -> int:
            return (await client.get(path)).status_code

        async def give_up(path: str) -> int:
            try:
                await client.get(path, timeout=0.2)
            except httpx.TimeoutException:
                return -1
            return 0

        async def close_stream(path: str) -> int:
            async with client.stream("GET", path) as response:
                async for _ in response.aiter_raw():
                    break  # the first chunk, then the connection is closed mid-body
            return -2

        jobs = [get(f"/items/{i}") for i in range(120)]
        jobs += [get("/boom") for _ in range(40)]
        jobs += [give_up("/pid?pause=1.5") for _ in range(20)]
        jobs += [close_stream("/stream?chunks=400&pause=0.05") for _ in range(20)]
        results = await asyncio.gather(*jobs)
    return results.count(200), results.count(500), results.count(-1)


async def _held_streams(url: str, n: int) -> float:
    """Open ``n`` long streams, read one chunk of each, scrape while they are open, close them."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        streams = [client.stream("GET", "/stream?chunks=400&pause=0.05") for _ in range(n)]
        responses = [await s.__aenter__() for s in streams]
        # The iterators are kept: an abandoned one is closed by the loop, and the stream with it.
        bodies = [response.aiter_raw() for response in responses]
        for body in bodies:
            await body.__anext__()
        during = sum(float(v) for _, v in _ACTIVE.findall((await client.get("/metrics")).text))
        for s in streams:
            await s.__aexit__(None, None, None)
    return during


def test_active_requests_count_what_is_in_flight_and_return_to_zero() -> None:
    """uvicorn + FastAPI: 20 open streams show as 20 active requests; after 200 concurrent
    requests with failures, client time-outs and streams cut mid-body, the gauge is back to 0."""
    with start_uvicorn("fastapi_app:app", env={"MSATRACE_METRICS_EXPORTER": "prometheus"}) as srv:
        during = asyncio.run(_held_streams(srv.url, 20))
        ok, failed, gave_up = asyncio.run(_mixed_load(srv.url))
        after = _until_active(srv, lambda v: v == 0)
        counted = httpx.get(srv.url + "/metrics", timeout=10).text

    assert during == 20  # the scrape itself is not counted: only the 20 open streams
    assert (ok, failed, gave_up) == (120, 40, 20)
    assert after == 0
    assert 'http_server_active_requests{http_request_method="GET",url_scheme="http"}' in counted


def test_otlp_metrics_of_a_real_server_reach_the_receiver_by_its_exit(
    otlp_receiver: OTLPReceiver,
) -> None:
    """uvicorn + FastAPI with OTEL_METRICS_EXPORTER=otlp: after the server stops (SIGTERM), the
    receiver holds its request counts per route and status (the last export runs at exit)."""
    env = {
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.base_endpoint,
        "OTEL_SERVICE_NAME": "otlp-metrics-api",
    }
    with start_uvicorn("fastapi_app:app", env=env) as srv:
        for i in range(3):
            httpx.get(f"{srv.url}/items/{i}", timeout=10)
        httpx.get(f"{srv.url}/boom", timeout=10)
        scrape = httpx.get(f"{srv.url}/metrics", timeout=10)
        srv.stop()

    points = otlp_receiver.wait_for_metrics(
        lambda ps: any(p.service == "otlp-metrics-api" for p in ps), timeout=30
    )
    mine = [p for p in points if p.service == "otlp-metrics-api"]
    counts = {
        (p.attributes.get("http.route"), p.attributes.get("http.response.status_code")): p.count
        for p in mine
        if p.name == "http.server.request.duration"
    }
    # /metrics is the application's path with OTLP: a 404 without a route, measured as such.
    assert counts == {("/items/{item_id}", 200): 3, ("/boom", 500): 1, (None, 404): 1}
    assert scrape.status_code == 404
