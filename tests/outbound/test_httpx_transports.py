"""httpx: the CLIENT span ends, exactly once, however the transport hands the body over.

A transport may return a response already read and closed (``MockTransport`` built from bytes,
a caching or retry transport that read the body), or a stream read later, closed unread, or
read by httpx itself (no ``stream=``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

import msatrace.httpx  # noqa: F401 - patched by init() in the traced fixture
from msatrace import testing
from tests.outbound.conftest import EchoServer
from tests.outbound.helpers import client_spans, hex_ids, traceparent_ids

URL = "http://service.test/items"


class Chunks(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that arrives in chunks, as from a network, for either client."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


def _read(request: httpx.Request) -> httpx.Response:
    return httpx.Response(503, text="busy")  # content=: httpx reads and closes it at once


def _streamed(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, stream=Chunks(b"a\n", b"b\n"))


def _only(spans: list[ReadableSpan]) -> ReadableSpan:
    (span,) = client_spans(spans)
    assert span.end_time is not None
    return span


def test_mock_transport_response_read_already_ends_its_span(traced: None) -> None:
    """A MockTransport response built from bytes ends its span at once, with the status."""
    with (
        testing.capture_spans() as exporter,
        httpx.Client(transport=httpx.MockTransport(_read)) as client,
    ):
        response = client.get(URL)
        response.close()

    span = _only(list(exporter.get_finished_spans()))
    assert span.attributes is not None
    assert span.attributes["http.response.status_code"] == 503
    assert span.status.status_code is StatusCode.ERROR


def test_async_mock_transport_response_read_already_ends_its_span(traced: None) -> None:
    """The same for AsyncClient: one ended span for a response built from bytes."""

    async def call() -> int:
        async with httpx.AsyncClient(transport=httpx.MockTransport(_read)) as client:
            response = await client.get(URL)
            await response.aclose()
            return response.status_code

    with testing.capture_spans() as exporter:
        status = asyncio.run(call())

    assert status == 503
    assert _only(list(exporter.get_finished_spans())).attributes == {
        "http.request.method": "GET",
        "url.full": URL,
        "server.address": "service.test",
        "server.port": 80,
        "http.response.status_code": 503,
        "error.type": "503",
        "network.protocol.version": "1.1",
    }


def test_mock_transport_streamed_response_ends_when_closed(traced: None) -> None:
    """A MockTransport stream read through client.stream() ends its span at close, once."""
    with (
        testing.capture_spans() as exporter,
        httpx.Client(transport=httpx.MockTransport(_streamed)) as client,
    ):
        with client.stream("GET", URL) as response:
            first = next(response.iter_lines())
            during = len(client_spans(exporter.get_finished_spans()))
        response.close()

    assert (first, during) == ("a", 0)
    span = _only(list(exporter.get_finished_spans()))
    assert (span.attributes or {})["http.response.status_code"] == 200


def test_async_mock_transport_streamed_response_ends_when_closed(traced: None) -> None:
    """AsyncClient: a stream from MockTransport ends its span when closed, once."""

    async def call() -> tuple[list[str], int]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(_streamed)) as client:
            async with client.stream("GET", URL) as response:
                during = len(client_spans(exporter.get_finished_spans()))
                lines = [line async for line in response.aiter_lines()]
            await response.aclose()
        return lines, during

    with testing.capture_spans() as exporter:
        lines, during = asyncio.run(call())

    assert lines == ["a", "b"]
    assert during == 0
    _only(list(exporter.get_finished_spans()))


@pytest.mark.parametrize("asynchronous", [False, True])
def test_mock_transport_stream_read_by_httpx_ends_its_span(
    traced: None, asynchronous: bool
) -> None:
    """Without stream=, httpx reads a streamed MockTransport body itself; the span ends then."""

    async def call_async() -> bytes:
        async with httpx.AsyncClient(transport=httpx.MockTransport(_streamed)) as client:
            return (await client.get(URL)).content

    def call() -> bytes:
        with httpx.Client(transport=httpx.MockTransport(_streamed)) as client:
            return client.get(URL).content

    with testing.capture_spans() as exporter:
        body = asyncio.run(call_async()) if asynchronous else call()

    assert body == b"a\nb\n"
    _only(list(exporter.get_finished_spans()))


def test_streamed_response_closed_unread_ends_its_span(traced: None) -> None:
    """A streamed response closed without reading its body ends its span, with the status."""
    body = Chunks(b"never read")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, stream=body)

    with (
        testing.capture_spans() as exporter,
        httpx.Client(transport=httpx.MockTransport(handler)) as client,
        client.stream("GET", URL) as response,
    ):
        status = response.status_code

    assert (status, body.closed) == (404, True)
    assert _only(list(exporter.get_finished_spans())).status.status_code is StatusCode.ERROR


class Caching(httpx.BaseTransport):
    """A caching transport: the first answer comes from the network, read, and is kept as bytes."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.kept: dict[str, tuple[int, list[tuple[bytes, bytes]], bytes]] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        key = str(request.url)
        if key not in self.kept:
            response = self.inner.handle_request(request)
            response.read()
            self.kept[key] = (response.status_code, response.headers.raw, response.content)
            return response  # read and closed
        status, headers, content = self.kept[key]
        return httpx.Response(status, headers=headers, content=content)

    def close(self) -> None:
        self.inner.close()


class AsyncCaching(httpx.AsyncBaseTransport):
    """Caching, for AsyncClient."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.kept: dict[str, tuple[int, list[tuple[bytes, bytes]], bytes]] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = str(request.url)
        if key not in self.kept:
            response = await self.inner.handle_async_request(request)
            await response.aread()
            self.kept[key] = (response.status_code, response.headers.raw, response.content)
            return response
        status, headers, content = self.kept[key]
        return httpx.Response(status, headers=headers, content=content)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_caching_transport_ends_each_span_once(traced: None, echo: EchoServer) -> None:
    """A transport that returns read responses (from the network, then from its cache) ends both."""
    with testing.capture_spans() as exporter, httpx.Client(transport=Caching()) as client:
        first = client.get(echo.url + "/echo")
        with client.stream("GET", echo.url + "/echo") as second:
            pass

    spans = client_spans(exporter.get_finished_spans())
    assert (first.status_code, second.status_code) == (200, 200)
    assert [(s.attributes or {})["http.response.status_code"] for s in spans] == [200, 200]
    assert all(s.end_time is not None for s in spans)
    assert traceparent_ids(echo.only().get("traceparent")) == hex_ids(spans[0])


def test_async_caching_transport_ends_each_span_once(traced: None, echo: EchoServer) -> None:
    """The same for AsyncClient."""

    async def call() -> None:
        async with httpx.AsyncClient(transport=AsyncCaching()) as client:
            await client.get(echo.url + "/echo")
            await client.get(echo.url + "/echo")

    with testing.capture_spans() as exporter:
        asyncio.run(call())

    spans = client_spans(exporter.get_finished_spans())
    assert len(spans) == 2
    assert all(s.end_time is not None for s in spans)
    assert len(echo.received) == 1
