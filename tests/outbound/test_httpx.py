"""httpx: headers, client spans, redirects, streaming, errors and patch bookkeeping, for real."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode

import msatrace
import msatrace.httpx
from msatrace import testing
from tests.outbound.conftest import EchoServer
from tests.outbound.helpers import client_spans, hex_ids, parent_hex, traceparent_ids


def _tracer() -> trace.Tracer:
    return trace.get_tracer("tests")


def test_request_carries_the_client_spans_trace_headers(traced: None, echo: EchoServer) -> None:
    """The server receives traceparent naming the client span, a child of the current span."""
    with testing.capture_spans() as exporter, _tracer().start_as_current_span("work") as work:
        httpx.get(echo.url + "/echo")

    (span,) = client_spans(exporter.get_finished_spans())
    trace_id, parent_id = traceparent_ids(echo.only().get("traceparent"))
    assert (trace_id, parent_id) == hex_ids(span)
    assert parent_hex(span) == format(work.get_span_context().span_id, "016x")
    assert echo.only().get("x-trace-id") == trace_id


def test_client_span_has_http_client_attributes(traced: None, echo: EchoServer) -> None:
    """The client span is named after the method and carries the semconv client attributes."""
    with testing.capture_spans() as exporter, httpx.Client() as client:
        client.post(echo.url + "/echo?q=1", content=b"x")

    (span,) = client_spans(exporter.get_finished_spans())
    assert span.name == "POST"
    assert dict(span.attributes or {}) == {
        "http.request.method": "POST",
        "url.full": f"{echo.url}/echo?q=1",
        "server.address": "127.0.0.1",
        "server.port": echo.port,
        "http.response.status_code": 200,
        "network.protocol.version": "1.1",
    }


def test_url_full_has_no_credentials_or_signatures(traced: None, echo: EchoServer) -> None:
    """User and password, and signature query values, are REDACTED in url.full."""
    url = f"http://user:secret@127.0.0.1:{echo.port}/echo?sig=abc&q=1&X-Goog-Signature=z"

    with testing.capture_spans() as exporter:
        httpx.get(url)

    (span,) = client_spans(exporter.get_finished_spans())
    assert (span.attributes or {})["url.full"] == (
        f"http://REDACTED:REDACTED@127.0.0.1:{echo.port}/echo?sig=REDACTED&q=1"
        "&X-Goog-Signature=REDACTED"
    )


def test_request_id_of_the_current_request_is_sent(traced: None, echo: EchoServer) -> None:
    """X-Request-ID carries the request ID bound to the current request."""
    with msatrace.bound(request_id="req-42"):
        httpx.get(echo.url + "/echo")

    assert echo.only().get("x-request-id") == "req-42"


def test_caller_headers_are_never_overwritten(traced: None, echo: EchoServer) -> None:
    """A trace header the caller set arrives once, with the caller's value."""
    mine = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    httpx.get(echo.url + "/echo", headers={"TraceParent": mine, "X-Request-ID": "caller-id"})

    assert echo.only().get("traceparent") == mine
    assert echo.only().get("x-request-id") == "caller-id"


@pytest.mark.parametrize("pattern", ["127.0.0.*", "re:127\\.0\\.0\\.\\d+", "*.internal,127.*"])
def test_matching_host_gets_headers(
    env: pytest.MonkeyPatch, echo: EchoServer, pattern: str
) -> None:
    """A host matching a propagate_to glob or regex receives the trace headers."""
    msatrace.init(propagate_to=pattern, log_format="json")

    httpx.get(echo.url + "/echo")

    assert echo.only().get("traceparent") is not None


@pytest.mark.parametrize("pattern", ["*.internal", "re:10\\..*", "127.0.0.2"])
def test_other_host_gets_no_headers_but_a_span(
    env: pytest.MonkeyPatch, echo: EchoServer, pattern: str
) -> None:
    """A host outside propagate_to receives no trace header at all, and still gets a span."""
    msatrace.init(propagate_to=pattern, log_format="json")

    with testing.capture_spans() as exporter, msatrace.bound(request_id="r1"):
        httpx.get(echo.url + "/echo")

    names = {k.lower() for k, _ in echo.only().headers}
    assert names.isdisjoint({"traceparent", "tracestate", "baggage", "x-trace-id", "x-request-id"})
    assert len(client_spans(exporter.get_finished_spans())) == 1


def test_each_redirect_hop_has_its_span_and_headers(traced: None, echo: EchoServer) -> None:
    """Each hop of a followed redirect is its own client span, named in that hop's traceparent."""
    with testing.capture_spans() as exporter, _tracer().start_as_current_span("work") as work:
        httpx.get(echo.url + "/redirect?to=/echo", follow_redirects=True)

    spans = client_spans(exporter.get_finished_spans())
    assert [traceparent_ids(r.get("traceparent")) for r in echo.received] == [
        hex_ids(s) for s in spans
    ]
    assert [parent_hex(s) for s in spans] == [format(work.get_span_context().span_id, "016x")] * 2
    assert [(s.attributes or {}).get("http.request.resend_count") for s in spans] == [None, 1]
    assert [(s.attributes or {})["http.response.status_code"] for s in spans] == [302, 200]


def test_redirect_to_a_host_outside_propagate_to_drops_headers(
    env: pytest.MonkeyPatch, echo: EchoServer
) -> None:
    """A redirect to a host outside propagate_to does not carry the first hop's trace headers."""
    msatrace.init(propagate_to="127.0.0.1", log_format="json")
    target = f"http://localhost:{echo.port}/echo"

    httpx.get(f"{echo.url}/redirect?to={target}", follow_redirects=True)

    first, second = echo.received
    assert first.get("traceparent") is not None
    assert second.get("traceparent") is None
    assert second.get("x-trace-id") is None


def test_streamed_response_is_covered_until_closed(traced: None, echo: EchoServer) -> None:
    """A streamed response's span stays open while the body is read and ends at close."""
    with testing.capture_spans() as exporter, httpx.Client() as client:
        with client.stream("GET", echo.url + "/stream?n=3") as response:
            first = next(response.iter_lines())
            open_spans = client_spans(exporter.get_finished_spans())
        closed_spans = client_spans(exporter.get_finished_spans())

    assert first == "chunk0"
    assert open_spans == []
    assert len(closed_spans) == 1


def test_async_streamed_response_is_covered_until_closed(traced: None, echo: EchoServer) -> None:
    """An AsyncClient streamed response's span ends when the response is closed."""

    async def call() -> tuple[int, int]:
        async with (
            httpx.AsyncClient() as client,
            client.stream("GET", echo.url + "/stream?n=2") as response,
        ):
            during = len(client_spans(exporter.get_finished_spans()))
            await response.aread()
        return during, len(client_spans(exporter.get_finished_spans()))

    with testing.capture_spans() as exporter:
        during, after = asyncio.run(call())

    assert (during, after) == (0, 1)


def test_connection_refused_reaches_caller_and_marks_span(traced: None, closed_port: int) -> None:
    """Connection refused: the caller gets httpx's ConnectError, the span error.type names it."""
    url = f"http://127.0.0.1:{closed_port}/"
    msatrace.httpx.unpatch()
    with pytest.raises(httpx.ConnectError) as unpatched:
        httpx.get(url)
    msatrace.httpx.patch()

    with testing.capture_spans() as exporter, pytest.raises(httpx.ConnectError) as patched:
        httpx.get(url)

    assert str(patched.value) == str(unpatched.value)
    (span,) = client_spans(exporter.get_finished_spans())
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "httpx.ConnectError"


def test_timeout_reaches_caller_and_marks_span(traced: None, echo: EchoServer) -> None:
    """A read timeout reaches the caller as httpx.ReadTimeout and is the span's error.type."""
    with testing.capture_spans() as exporter, pytest.raises(httpx.ReadTimeout):
        httpx.get(echo.url + "/sleep?s=2", timeout=0.2)

    (span,) = client_spans(exporter.get_finished_spans())
    assert (span.attributes or {})["error.type"] == "httpx.ReadTimeout"


def test_transport_exception_is_the_same_object(traced: None) -> None:
    """The exception a transport raises is the very object the caller catches."""
    error = httpx.ConnectError("refused by test")

    class Refusing(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            raise error

    with httpx.Client(transport=Refusing()) as client, pytest.raises(httpx.ConnectError) as got:
        client.get("http://service.test/")

    assert got.value is error


def test_client_error_status_marks_span(traced: None, echo: EchoServer) -> None:
    """A 4xx response sets the client span's error status with error.type the status code."""
    with testing.capture_spans() as exporter:
        httpx.get(echo.url + "/status/404")

    (span,) = client_spans(exporter.get_finished_spans())
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "404"


def test_custom_transport_and_mounts_are_covered(traced: None, echo: EchoServer) -> None:
    """Requests through a mounted transport and a custom transport carry trace headers."""

    class Custom(httpx.BaseTransport):
        def __init__(self) -> None:
            self.inner = httpx.HTTPTransport()

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            return self.inner.handle_request(request)

        def close(self) -> None:
            self.inner.close()

    with httpx.Client(mounts={"http://127.0.0.1": httpx.HTTPTransport()}) as mounted:
        mounted.get(echo.url + "/echo")
    with httpx.Client(transport=Custom()) as custom:
        custom.get(echo.url + "/echo")

    assert [r.get("traceparent") is not None for r in echo.received] == [True, True]


def test_async_client_carries_headers(traced: None, echo: EchoServer) -> None:
    """AsyncClient requests carry traceparent naming their client span."""

    async def call() -> None:
        async with httpx.AsyncClient() as client:
            await client.get(echo.url + "/echo")

    with testing.capture_spans() as exporter:
        asyncio.run(call())

    (span,) = client_spans(exporter.get_finished_spans())
    assert traceparent_ids(echo.only().get("traceparent")) == hex_ids(span)


def test_patch_twice_sends_one_set_of_headers(traced: None, echo: EchoServer) -> None:
    """A second patch() changes nothing: one span and one traceparent per request."""
    msatrace.httpx.patch()
    msatrace.httpx.patch()

    with testing.capture_spans() as exporter:
        httpx.get(echo.url + "/echo")

    assert len(echo.only().all("traceparent")) == 1
    assert len(client_spans(exporter.get_finished_spans())) == 1


def test_unpatch_restores_the_original_methods(env: pytest.MonkeyPatch, echo: EchoServer) -> None:
    """unpatch() puts httpx's own methods back; requests then carry no trace header."""
    originals = (httpx.Client.send, httpx.AsyncClient._send_single_request)
    msatrace.init(log_format="json")

    msatrace.httpx.unpatch()
    httpx.get(echo.url + "/echo")

    assert (httpx.Client.send, httpx.AsyncClient._send_single_request) == originals
    assert echo.only().get("traceparent") is None


def test_tracing_off_still_sends_the_current_trace(
    env: pytest.MonkeyPatch, echo: EchoServer
) -> None:
    """With tracing off there is no client span, and the headers carry the current trace."""
    msatrace.init(tracing=False, log_format="json")
    parent = trace.SpanContext(0x1234, 0x5678, is_remote=True)

    with trace.use_span(trace.NonRecordingSpan(parent)):
        httpx.get(echo.url + "/echo")

    assert traceparent_ids(echo.only().get("traceparent")) == (
        format(0x1234, "032x"),
        format(0x5678, "016x"),
    )


def test_async_redirect_hops_each_carry_their_span(traced: None, echo: EchoServer) -> None:
    """AsyncClient: each redirect hop is its own client span, named in that hop's traceparent."""

    async def call() -> None:
        async with httpx.AsyncClient(follow_redirects=True) as client:
            await client.get(echo.url + "/redirect?to=/echo")

    with testing.capture_spans() as exporter:
        asyncio.run(call())

    spans = client_spans(exporter.get_finished_spans())
    assert [traceparent_ids(r.get("traceparent")) for r in echo.received] == [
        hex_ids(s) for s in spans
    ]


def test_async_connection_refused_reaches_caller(traced: None, closed_port: int) -> None:
    """AsyncClient: connection refused reaches the caller as httpx.ConnectError, span marked."""

    async def call() -> None:
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{closed_port}/")

    with testing.capture_spans() as exporter, pytest.raises(httpx.ConnectError):
        asyncio.run(call())

    (span,) = client_spans(exporter.get_finished_spans())
    assert (span.status.status_code, (span.attributes or {})["error.type"]) == (
        StatusCode.ERROR,
        "httpx.ConnectError",
    )


def test_unknown_method_is_other(traced: None, echo: EchoServer) -> None:
    """A method outside the semconv list is span "HTTP", method "_OTHER" plus the original."""
    with testing.capture_spans() as exporter:
        httpx.request("PURGE", echo.url + "/echo")

    (span,) = client_spans(exporter.get_finished_spans())
    attrs = span.attributes or {}
    assert (span.name, attrs["http.request.method"], attrs["http.request.method_original"]) == (
        "HTTP",
        "_OTHER",
        "PURGE",
    )


def test_caller_x_trace_id_alone_is_not_contradicted(
    env: pytest.MonkeyPatch, echo: EchoServer
) -> None:
    """httpx: a caller that names the trace with X-Trace-ID only gets no conflicting traceparent."""
    msatrace.init(log_format="json")
    mine = "4bf92f3577b34da6a3ce929d0e0e4736"

    with httpx.Client() as client:
        client.get(echo.url + "/echo", headers={"x-trace-id": mine})

    assert echo.only().get("x-trace-id") == mine
    assert echo.only().get("traceparent") is None


def test_caller_traceparent_is_not_contradicted_with_tracing_off(
    env: pytest.MonkeyPatch, echo: EchoServer
) -> None:
    """httpx with tracing off: a caller's own traceparent gets no X-Trace-ID of another trace."""
    msatrace.init(tracing=False, log_format="json")
    mine = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    with httpx.Client() as client:
        client.get(echo.url + "/echo", headers={"Traceparent": mine})

    assert echo.only().get("traceparent") == mine
    assert echo.only().get("x-trace-id") is None
