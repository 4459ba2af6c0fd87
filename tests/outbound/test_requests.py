"""requests: headers, client spans, redirects, streaming, errors and patch bookkeeping, for real."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry import trace
from opentelemetry.trace import StatusCode

import msatrace
import msatrace.requests
from msatrace import testing
from tests.conftest import need
from tests.outbound.conftest import EchoServer
from tests.outbound.helpers import client_spans, hex_ids, parent_hex, traceparent_ids


def _tracer() -> trace.Tracer:
    return trace.get_tracer("tests")


def _stable(exc: BaseException) -> str:
    """An exception's message without the object addresses urllib3 puts in it."""
    return re.sub(r" at 0x[0-9a-f]+", "", str(exc))


def test_module_function_carries_client_span_headers(traced: None, echo: EchoServer) -> None:
    """requests.get sends traceparent naming its client span, a child of the current span."""
    with testing.capture_spans() as exporter, _tracer().start_as_current_span("work") as work:
        requests.get(echo.url + "/echo", timeout=10)

    (span,) = client_spans(exporter.get_finished_spans())
    assert traceparent_ids(echo.only().get("traceparent")) == hex_ids(span)
    assert parent_hex(span) == format(work.get_span_context().span_id, "016x")
    assert echo.only().get("x-trace-id") == hex_ids(span)[0]


def test_client_span_has_http_client_attributes(traced: None, echo: EchoServer) -> None:
    """The client span is named after the method and carries the semconv client attributes."""
    with testing.capture_spans() as exporter, requests.Session() as session:
        session.put(echo.url + "/echo?q=1", data=b"x", timeout=10)

    (span,) = client_spans(exporter.get_finished_spans())
    assert span.name == "PUT"
    assert dict(span.attributes or {}) == {
        "http.request.method": "PUT",
        "url.full": f"{echo.url}/echo?q=1",
        "server.address": "127.0.0.1",
        "server.port": echo.port,
        "http.response.status_code": 200,
        "network.protocol.version": "1.1",
    }


def test_session_created_before_init_is_covered(env: pytest.MonkeyPatch, echo: EchoServer) -> None:
    """A Session made before msatrace.init() sends trace headers afterwards."""
    session = requests.Session()
    msatrace.init(log_format="json")

    with session:
        session.get(echo.url + "/echo", timeout=10)

    assert echo.only().get("traceparent") is not None


def test_caller_headers_are_never_overwritten(traced: None, echo: EchoServer) -> None:
    """A trace header the caller set arrives once, with the caller's value."""
    mine = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    requests.get(echo.url + "/echo", headers={"traceparent": mine, "x-trace-id": "x"}, timeout=10)

    assert echo.only().get("traceparent") == mine
    assert echo.only().get("x-trace-id") == "x"


def test_other_host_gets_no_headers_but_a_span(env: pytest.MonkeyPatch, echo: EchoServer) -> None:
    """A host outside propagate_to receives no trace header, and still gets a client span."""
    msatrace.init(propagate_to="*.svc.cluster.local", log_format="json")

    with testing.capture_spans() as exporter:
        requests.get(echo.url + "/echo", timeout=10)

    names = {k.lower() for k, _ in echo.only().headers}
    assert names.isdisjoint({"traceparent", "tracestate", "baggage", "x-trace-id"})
    assert len(client_spans(exporter.get_finished_spans())) == 1


def test_each_redirect_hop_has_its_span_and_headers(traced: None, echo: EchoServer) -> None:
    """Each hop of a followed redirect is a sibling client span, named in its traceparent."""
    with testing.capture_spans() as exporter, _tracer().start_as_current_span("work") as work:
        response = requests.get(echo.url + "/redirect?to=/redirect%3Fto%3D/echo", timeout=10)

    spans = client_spans(exporter.get_finished_spans())
    assert response.status_code == 200
    assert [traceparent_ids(r.get("traceparent")) for r in echo.received] == [
        hex_ids(s) for s in spans
    ]
    assert [parent_hex(s) for s in spans] == [format(work.get_span_context().span_id, "016x")] * 3
    assert [(s.attributes or {}).get("http.request.resend_count") for s in spans] == [None, 1, 2]
    assert [(s.attributes or {})["http.response.status_code"] for s in spans] == [302, 302, 200]


def test_redirect_to_a_host_outside_propagate_to_drops_headers(
    env: pytest.MonkeyPatch, echo: EchoServer
) -> None:
    """A redirect to a host outside propagate_to does not carry the first hop's trace headers."""
    msatrace.init(propagate_to="127.0.0.1", log_format="json")
    target = f"http://localhost:{echo.port}/echo"

    requests.get(f"{echo.url}/redirect?to={target}", timeout=10)

    first, second = echo.received
    assert first.get("traceparent") is not None
    assert (second.get("traceparent"), second.get("x-trace-id")) == (None, None)


def test_streamed_response_is_covered_until_closed(traced: None, echo: EchoServer) -> None:
    """With stream=True the span stays open until the response is closed."""
    with testing.capture_spans() as exporter:
        with requests.get(echo.url + "/stream?n=3", stream=True, timeout=10) as response:
            first = next(response.iter_lines())
            during = client_spans(exporter.get_finished_spans())
        after = client_spans(exporter.get_finished_spans())

    assert first == b"chunk0"
    assert (len(during), len(after)) == (0, 1)


def test_streamed_response_read_to_the_end_is_finished(traced: None, echo: EchoServer) -> None:
    """A streamed response whose body is read to the end ends its span without close()."""
    with testing.capture_spans() as exporter, requests.Session() as session:
        response = session.get(echo.url + "/stream?n=3", stream=True, timeout=10)
        during = client_spans(exporter.get_finished_spans())
        body = response.content
        after = client_spans(exporter.get_finished_spans())

    assert body == b"chunk0\nchunk1\nchunk2\n"
    assert (len(during), len(after)) == (0, 1)


def test_connection_refused_reaches_caller_and_marks_span(traced: None, closed_port: int) -> None:
    """Connection refused: the caller gets requests' ConnectionError; the span's error.type."""
    url = f"http://127.0.0.1:{closed_port}/"
    msatrace.requests.unpatch()
    with pytest.raises(requests.ConnectionError) as unpatched:
        requests.get(url, timeout=10)
    msatrace.requests.patch()

    with testing.capture_spans() as exporter, pytest.raises(requests.ConnectionError) as patched:
        requests.get(url, timeout=10)

    assert (
        str(patched.value).split(" object at ")[0] == str(unpatched.value).split(" object at ")[0]
    )
    (span,) = client_spans(exporter.get_finished_spans())
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "requests.exceptions.ConnectionError"


def test_timeout_reaches_caller_and_marks_span(traced: None, echo: EchoServer) -> None:
    """A read timeout reaches the caller as requests' ReadTimeout, the span's error.type."""
    with testing.capture_spans() as exporter, pytest.raises(requests.ReadTimeout):
        requests.get(echo.url + "/sleep?s=2", timeout=0.2)

    (span,) = client_spans(exporter.get_finished_spans())
    assert (span.attributes or {})["error.type"] == "requests.exceptions.ReadTimeout"


def test_adapter_exception_is_the_same_object(traced: None) -> None:
    """The exception an adapter raises is the very object the caller catches."""
    error = requests.ConnectionError("refused by test")

    class Refusing(requests.adapters.BaseAdapter):
        def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
            raise error

        def close(self) -> None:
            pass

    with requests.Session() as session:
        session.mount("http://", Refusing())
        with pytest.raises(requests.ConnectionError) as got:
            session.get("http://service.test/")

    assert got.value is error


def test_patch_twice_sends_one_set_of_headers(traced: None, echo: EchoServer) -> None:
    """A second patch() changes nothing: one span and one traceparent per request."""
    msatrace.requests.patch()
    msatrace.requests.patch()

    with testing.capture_spans() as exporter:
        requests.get(echo.url + "/echo", timeout=10)

    assert len(echo.only().all("traceparent")) == 1
    assert len(client_spans(exporter.get_finished_spans())) == 1


def test_unpatch_restores_the_original_methods(env: pytest.MonkeyPatch, echo: EchoServer) -> None:
    """msatrace.unpatch() puts requests' own methods back; requests then carry no trace header."""
    originals = (requests.Session.send, requests.Response.close, requests.Response.iter_content)
    msatrace.init(log_format="json")

    msatrace.unpatch()
    requests.get(echo.url + "/echo", timeout=10)

    assert (
        requests.Session.send,
        requests.Response.close,
        requests.Response.iter_content,
    ) == originals
    assert echo.only().get("traceparent") is None


def test_tracing_and_metrics_off_leave_response_methods_alone(env: pytest.MonkeyPatch) -> None:
    """With tracing and metrics off only Session.send is patched: no hop has an end to report.

    Compared by identity: a wrapt wrapper compares equal to the function it wraps.
    """
    send = requests.Session.send
    originals = (vars(requests.Response)["close"], vars(requests.Response)["iter_content"])

    msatrace.init(tracing=False, log_format="json", metrics_exporter="none")

    patched = (vars(requests.Response)["close"], vars(requests.Response)["iter_content"])
    assert all(p is o for p, o in zip(patched, originals, strict=True))
    assert vars(requests.Session)["send"] is not send  # patched: calls still carry the trace


def test_tracing_off_metrics_on_patch_response_methods(env: pytest.MonkeyPatch) -> None:
    """With tracing off and metrics on a streamed hop ends when its response closes: the
    Response hooks are installed."""
    need("prometheus_client")
    originals = (vars(requests.Response)["close"], vars(requests.Response)["iter_content"])

    msatrace.init(tracing=False, log_format="json", metrics_exporter="prometheus")

    patched = (vars(requests.Response)["close"], vars(requests.Response)["iter_content"])
    assert not any(p is o for p, o in zip(patched, originals, strict=True))


def test_tracing_off_streamed_response_still_carries_the_trace(
    env: pytest.MonkeyPatch, echo: EchoServer
) -> None:
    """With tracing off a streamed call sends the trace headers and reads back normally."""
    msatrace.init(tracing=False, log_format="json")

    with (
        msatrace.bound(request_id="off-1"),
        requests.get(echo.url + "/stream?n=3", stream=True, timeout=10) as response,
    ):
        chunks = list(response.iter_content(None))

    assert b"".join(chunks)
    assert echo.only().get("x-request-id") == "off-1"
    assert echo.only().get("traceparent") is not None


@pytest.mark.span_paths("lean")  # the client runs in a child process: one span path
@pytest.mark.parametrize("library", ["requests", "httpx"])
def test_library_imported_after_init_is_patched(echo: EchoServer, library: str) -> None:
    """A client library imported only after msatrace.init() is patched by the import hook."""
    script = textwrap.dedent(
        f"""
        import sys
        import msatrace
        msatrace.init(service_name="late", log_format="json", access_log=False)
        assert "{library}" not in sys.modules
        import {library}
        with msatrace.bound(request_id="late-1"):
            {library}.get("{echo.url}/echo", timeout=10)
        """
    )

    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    assert echo.only().get("x-request-id") == "late-1"
    assert echo.only().get("traceparent") is not None


def test_streamed_redirect_covers_each_hop(traced: None, echo: EchoServer) -> None:
    """A streamed call that is redirected: the first hop ends at once, the last one at close."""
    with testing.capture_spans() as exporter:
        response = requests.get(echo.url + "/redirect?to=/stream", stream=True, timeout=10)
        during = client_spans(exporter.get_finished_spans())
        response.close()
        after = client_spans(exporter.get_finished_spans())

    assert [(s.attributes or {})["http.response.status_code"] for s in during] == [302]
    assert [(s.attributes or {})["http.response.status_code"] for s in after] == [302, 200]


def test_tracing_off_outside_a_trace_sends_a_fresh_one(
    env: pytest.MonkeyPatch, echo: EchoServer
) -> None:
    """With tracing off and no current trace, a call still carries a trace ID of its own."""
    msatrace.init(tracing=False, log_format="json")

    requests.get(echo.url + "/echo", timeout=10)

    trace_id, _ = traceparent_ids(echo.only().get("traceparent"))
    assert echo.only().get("x-trace-id") == trace_id
    assert trace_id != "0" * 32


@pytest.mark.parametrize(("tracing", "name"), [(True, "X-Trace-ID"), (False, "x-trace-id")])
def test_caller_x_trace_id_alone_is_not_contradicted(
    env: pytest.MonkeyPatch, echo: EchoServer, tracing: bool, name: str
) -> None:
    """A caller that names the trace with X-Trace-ID only gets no traceparent of another trace."""
    msatrace.init(tracing=tracing, log_format="json")
    mine = "4bf92f3577b34da6a3ce929d0e0e4736"

    requests.get(echo.url + "/echo", headers={name: mine}, timeout=10)

    assert echo.only().get("x-trace-id") == mine
    assert echo.only().get("traceparent") is None


def test_caller_traceparent_alone_gets_no_other_x_trace_id(
    env: pytest.MonkeyPatch, echo: EchoServer
) -> None:
    """A caller that sets traceparent by hand gets no X-Trace-ID naming a different trace."""
    msatrace.init(log_format="json")
    mine = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    with _tracer().start_as_current_span("work"):
        requests.get(echo.url + "/echo", headers={"traceparent": mine}, timeout=10)

    assert echo.only().get("traceparent") == mine
    assert echo.only().get("x-trace-id") is None


hosts = st.sampled_from(["orders.internal", "Orders.Internal", "10.0.3.7", "[::1]", "[FE80::1]"])
ports = st.sampled_from(["", ":80", ":8080", ":65535", ":0", ":99999", ":x1", ":"])
userinfo = st.sampled_from(["", "user@", "user:pw@", "u@x:1@"])


@given(st.sampled_from(["http", "https", "HTTP"]), userinfo, hosts, ports, st.text(max_size=12))
def test_target_is_what_urlsplit_says(
    scheme: str, user: str, host: str, port: str, path: str
) -> None:
    """The (scheme, host, port) of a URL, parsed once per netloc, equals urlsplit's every time."""
    url = f"{scheme}://{user}{host}{port}/{path}"
    parts = urlsplit(url)
    try:
        expected: object = (parts.scheme, parts.hostname or "", parts.port)
    except ValueError:
        expected = ValueError

    seen = [_outcome(url), _outcome(url)]  # the second read comes from the cache

    assert seen == [expected, expected]


def _outcome(url: str) -> object:
    try:
        return msatrace.requests._target(url)
    except ValueError:
        return ValueError
