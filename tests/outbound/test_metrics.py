"""``http.client.request.duration`` for every httpx and requests hop, traced or not."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import httpx
import pytest
import requests

import msatrace
import msatrace.httpx
import msatrace.requests
from msatrace._core import runtime
from tests.conftest import need
from tests.outbound.conftest import EchoServer
from tests.outbound.helpers import traceparent_ids

need("prometheus_client")

# On the tracing-off runs the span path makes no difference: two paths are enough.
pytestmark = pytest.mark.span_paths("lean", "sdk")

CLIENT = "http.client.request.duration"


def _init(tracing: bool) -> None:
    msatrace.init(
        service_name="caller",
        log_format="json",
        access_log=False,
        tracing=tracing,
        metrics_exporter="prometheus",
    )


def _counts() -> dict[tuple[str, ...], int]:
    """Hops per (method, server.address, server.port, status, error.type) recorded so far."""
    rt = runtime.current()
    assert rt is not None
    assert rt.metrics is not None
    series = rt.metrics.collect().histograms.get(CLIENT, {})
    return {key: sum(s.counts) for key, s in series.items()}


def _requests_calls(url: str, port: int, closed: int) -> None:
    with requests.Session() as session:
        session.get(f"{url}/echo", timeout=10)
        session.post(f"{url}/status/404", data=b"x", timeout=10)
        session.get(f"{url}/status/503", timeout=10)
        session.get(f"{url}/redirect?to=/echo", timeout=10)  # two hops
        with session.get(f"{url}/stream?n=3", stream=True, timeout=10) as streamed:
            streamed.raw.read(1)
        with pytest.raises(requests.ConnectionError):
            session.get(f"http://127.0.0.1:{closed}/echo", timeout=10)


def _httpx_calls(url: str, port: int, closed: int) -> None:
    with httpx.Client() as client:
        client.get(f"{url}/echo")
        client.post(f"{url}/status/404", content=b"x")
        client.get(f"{url}/status/503")
        client.get(f"{url}/redirect?to=/echo", follow_redirects=True)  # two hops
        with client.stream("GET", f"{url}/stream?n=3") as streamed:
            next(streamed.iter_raw())
        with pytest.raises(httpx.ConnectError):
            client.get(f"http://127.0.0.1:{closed}/echo")


def _httpx_async_calls(url: str, port: int, closed: int) -> None:
    async def calls() -> None:
        async with httpx.AsyncClient() as client:
            await client.get(f"{url}/echo")
            await client.post(f"{url}/status/404", content=b"x")
            await client.get(f"{url}/status/503")
            await client.get(f"{url}/redirect?to=/echo", follow_redirects=True)
            async with client.stream("GET", f"{url}/stream?n=3") as streamed:
                await streamed.aiter_raw().__anext__()
            with pytest.raises(httpx.ConnectError):
                await client.get(f"http://127.0.0.1:{closed}/echo")

    asyncio.run(calls())


def _expected(port: int, closed: int, refused: str) -> dict[tuple[str, ...], int]:
    p = str(port)
    return {
        ("GET", "127.0.0.1", p, "200", ""): 3,  # /echo, the redirect's target, /stream
        ("POST", "127.0.0.1", p, "404", "404"): 1,
        ("GET", "127.0.0.1", p, "503", "503"): 1,
        ("GET", "127.0.0.1", p, "302", ""): 1,
        ("GET", "127.0.0.1", str(closed), "", refused): 1,
    }


CASES: list[Any] = [
    pytest.param(_requests_calls, "requests.exceptions.ConnectionError", id="requests"),
    pytest.param(_httpx_calls, "httpx.ConnectError", id="httpx"),
    pytest.param(_httpx_async_calls, "httpx.ConnectError", id="httpx-async"),
]


@pytest.mark.parametrize("tracing", [True, False], ids=["traced", "tracing-off"])
@pytest.mark.parametrize(("calls", "refused"), CASES)
def test_each_hop_is_counted_by_method_server_status_and_error(
    env: pytest.MonkeyPatch,
    echo: EchoServer,
    closed_port: int,
    calls: Any,
    refused: str,
    tracing: bool,
) -> None:
    """Every hop (each redirect counts, a streamed one when it closes, a refused one with its
    exception's class as ``error.type``, a 4xx/5xx with its status) is one measurement, with
    tracing on and off."""
    _init(tracing)

    calls(echo.url, echo.port, closed_port)

    assert _counts() == _expected(echo.port, closed_port, refused)


def test_metrics_off_hops_record_nothing_and_share_the_untraced_hop(
    env: pytest.MonkeyPatch, echo: EchoServer
) -> None:
    """Tracing and metrics off: a hop is the shared no-op one (nothing to record)."""
    from msatrace._core.lifecycle import outbound

    msatrace.init(service_name="caller", tracing=False, metrics_exporter="none", access_log=False)
    seen: list[object] = []
    real = outbound.Call.hop

    def spy(self: outbound.Call, *args: Any) -> Any:
        hop = real(self, *args)
        seen.append(hop)
        return hop

    env.setattr(outbound.Call, "hop", spy)

    httpx.get(echo.url + "/echo")

    assert seen == [outbound.UNTRACED]


def _exemplar_ids() -> list[tuple[str, str]]:
    """(trace ID, span ID) of every exemplar of the client metric, over all series."""
    rt = runtime.current()
    assert rt is not None
    assert rt.metrics is not None
    series = rt.metrics.collect().histograms.get(CLIENT, {})
    return [(e[0], e[1]) for s in series.values() for e in s.exemplars.values()]


@pytest.mark.parametrize("tracing", [True, False], ids=["traced", "tracing-off"])
def test_a_sampled_hop_is_the_exemplar_of_its_measurement(
    env: pytest.MonkeyPatch, echo: EchoServer, tracing: bool
) -> None:
    """A sampled hop's trace and span IDs (those its request carried) are its measurement's
    exemplar; a hop without a span (tracing off) gives none, though the callee got a trace."""
    _init(tracing)

    httpx.get(f"{echo.url}/echo")

    sent = traceparent_ids(echo.only().get("traceparent"))
    assert _counts() == {("GET", "127.0.0.1", str(echo.port), "200", ""): 1}
    assert _exemplar_ids() == ([sent] if tracing else [])


def _httpx_get(url: str) -> None:
    with httpx.Client() as client:
        client.get(url)


def _httpx_async_get(url: str) -> None:
    async def call() -> None:
        async with httpx.AsyncClient() as client:
            await client.get(url)

    asyncio.run(call())


def _requests_get(url: str) -> None:
    with requests.Session() as session:
        session.get(url, timeout=10)


@pytest.mark.parametrize("tracing", [True, False], ids=["traced", "tracing-off"])
@pytest.mark.parametrize(
    "get", [_httpx_get, _httpx_async_get, _requests_get], ids=["httpx", "httpx-async", "requests"]
)
def test_a_closed_response_leaves_no_hop_to_the_cyclic_collector(
    env: pytest.MonkeyPatch, echo: EchoServer, tracing: bool, get: Any
) -> None:
    """A hop is freed when its response closes. httpx's response and its stream refer to each
    other, and the body wrapper that ends a hop sits in that cycle: the hop (its span, an
    exception it holds) must not wait there for the collector."""
    from msatrace._core.lifecycle.hop import Hop

    _init(tracing)
    url = f"{echo.url}/echo"
    get(url)  # warm: imports, pools, the metric's series
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        get(url)
        gc.collect()
        left = [o for o in gc.garbage if isinstance(o, Hop)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()

    assert _counts() == {("GET", "127.0.0.1", str(echo.port), "200", ""): 2}
    assert left == []
