"""msatrace.wsgi.TraceMiddleware in process: headers, propagation, spans, logs, errors, bodies."""

from __future__ import annotations

import datetime
import io
import types
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from wsgiref.util import FileWrapper

import pytest
from opentelemetry.trace import SpanKind, StatusCode

import msatrace
from msatrace import testing
from msatrace._core import safety
from msatrace._core.lifecycle import inbound
from msatrace._core.logs import access
from msatrace.wsgi import TraceMiddleware
from tests.adapters.wsgi_kit import call, environ, init, is_trace_id

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"
StartResponse = Callable[..., Any]


def hello(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    msatrace.get_logger("handler").info("hello")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [(msatrace.current_trace_id() or "").encode()]


def streamed(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    log = msatrace.get_logger("handler")
    try:
        for i in range(3):
            log.info("chunk", i=i)
            yield f"{msatrace.current_trace_id()}\n".encode()
    finally:
        log.info("closed")


def status(code: str) -> Callable[[dict[str, Any], StartResponse], list[bytes]]:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        start_response(code, [("Content-Type", "text/plain")])
        return [b"x"]

    return app


def own_headers(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    start_response("200 OK", [("x-trace-id", "set-by-app"), ("X-Other", "1")])
    return [b"x"]


class Boom(Exception):
    """The application's own exception."""


def boom(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    raise Boom("boom")


def boom_in_body(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
    start_response("200 OK", [])
    yield b"first"
    raise Boom("late")


@pytest.fixture
def traced(env: pytest.MonkeyPatch) -> None:
    """msatrace initialised for the test."""
    init()


def test_fresh_request_gets_trace_and_request_id(traced: None) -> None:
    """A request without trace headers is answered with a fresh X-Trace-ID and X-Request-ID."""

    result = call(TraceMiddleware(hello))

    trace_id = result.header("X-Trace-ID")
    assert is_trace_id(trace_id)
    assert result.body.decode() == trace_id
    request_id = result.header("X-Request-ID")
    assert request_id
    assert result.by_logger("handler")[0]["request_id"] == request_id


def test_server_span_has_http_semconv_attributes(traced: None) -> None:
    """The SERVER span carries the OpenTelemetry HTTP server attributes of the request."""

    result = call(
        TraceMiddleware(hello), env=environ("/a/b", {"User-Agent": "probe/1", "Host": "svc:8080"})
    )

    span = result.server_span()
    assert span.kind is SpanKind.SERVER
    assert span.name == "GET"
    assert dict(span.attributes or {}) == {
        "http.request.method": "GET",
        "url.path": "/a/b",
        "url.scheme": "http",
        "server.address": "svc",
        "server.port": 8080,
        "client.address": "127.0.0.1",
        "user_agent.original": "probe/1",
        "network.protocol.version": "1.1",
        "http.response.status_code": 200,
    }


def test_traceparent_is_continued(traced: None) -> None:
    """A valid traceparent becomes the parent of the server span."""

    result = call(TraceMiddleware(hello), headers={"traceparent": TRACEPARENT})

    span = result.server_span()
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == PARENT_ID
    assert result.header("X-Trace-ID") == TRACE_ID


def test_x_trace_id_uuid_is_continued_normalised(traced: None) -> None:
    """An X-Trace-ID given as a UUID continues that trace, echoed as 32 lowercase hex."""
    incoming = uuid.uuid4()

    result = call(TraceMiddleware(hello), headers={"X-Trace-ID": str(incoming).upper()})

    assert result.header("X-Trace-ID") == incoming.hex
    assert format(result.server_span().context.trace_id, "032x") == incoming.hex


def test_valid_request_id_is_kept(traced: None) -> None:
    """A valid incoming X-Request-ID is kept, echoed and bound to the request's log lines."""

    result = call(TraceMiddleware(hello), headers={"X-Request-ID": "req-42.a:b"})

    assert result.header("X-Request-ID") == "req-42.a:b"
    assert result.by_logger("handler")[0]["request_id"] == "req-42.a:b"


@pytest.mark.parametrize(
    "bad",
    [
        "4bf92f3577b34da6a3ce929d0e0e4736\r\nSet-Cookie: a=b",
        "4bf92f3577b34da6a3ce929d0e0e473\x00",
        "00000000000000000000000000000000",
        "\xe9" * 32,
        "a" * 9000,
    ],
)
def test_bad_trace_header_is_never_echoed(traced: None, bad: str) -> None:
    """A malformed X-Trace-ID or traceparent starts a fresh trace and is never echoed."""

    result = call(TraceMiddleware(hello), env=environ(HTTP_X_TRACE_ID=bad, HTTP_TRACEPARENT=bad))

    trace_id = result.header("X-Trace-ID")
    assert is_trace_id(trace_id)
    assert trace_id != bad
    assert trace_id not in bad


def test_bad_request_id_is_replaced(traced: None) -> None:
    """An X-Request-ID with a CR/LF is replaced by a fresh one, never echoed."""
    bad = "abc\r\nSet-Cookie: x=1"

    result = call(TraceMiddleware(hello), env=environ(HTTP_X_REQUEST_ID=bad))

    request_id = result.header("X-Request-ID")
    assert request_id
    assert "\n" not in request_id
    assert request_id != "abc"


def test_application_headers_are_never_overwritten(traced: None) -> None:
    """A header the application set keeps its value; only the missing one is added."""

    result = call(TraceMiddleware(own_headers))

    assert result.header("X-Trace-ID") == "set-by-app"
    assert result.header("X-Other") == "1"
    assert result.header("X-Request-ID")


def test_generator_body_runs_in_the_request_context(traced: None) -> None:
    """Log lines written while a generator body is iterated and closed carry the trace."""

    result = call(TraceMiddleware(streamed))

    trace_id = result.header("X-Trace-ID")
    lines = result.by_logger("handler")
    assert [e["event"] for e in lines] == ["chunk", "chunk", "chunk", "closed"]
    assert {e["trace_id"] for e in lines} == {trace_id}
    assert result.body.decode().split() == [trace_id] * 3


def test_span_ends_only_when_the_body_is_closed(traced: None) -> None:
    """The span and the access line wait for close(), after the last chunk."""
    app = TraceMiddleware(streamed)

    with testing.capture_spans() as exporter, testing.capture_logs() as events:
        body = app(environ(), lambda status, headers, exc_info=None: None)
        chunks = list(body)
        before = (len(exporter.get_finished_spans()), [e["logger"] for e in events])
        body.close()  # type: ignore[attr-defined]  # the middleware's body has close()

    assert len(chunks) == 3
    assert before == (0, ["handler"] * 4)
    assert len(exporter.get_finished_spans()) == 1
    assert [e["logger"] for e in events][-1] == "msatrace.access"


def test_context_does_not_outlive_the_request(traced: None) -> None:
    """After the call returns, the caller's thread has no trace, even before close()."""
    app = TraceMiddleware(streamed)

    body = app(environ(), lambda status, headers, exc_info=None: None)
    during = msatrace.current_trace_id()
    next(iter(body))
    after_chunk = msatrace.current_trace_id()
    body.close()  # type: ignore[attr-defined]  # the middleware's body has close()

    assert (during, after_chunk, msatrace.current_trace_id()) == (None, None, None)


def test_file_wrapper_body_is_returned_unwrapped(traced: None) -> None:
    """A wsgi.file_wrapper body reaches the server as is (sendfile) and close() ends the span."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> Any:
        start_response("200 OK", [])
        return environ["wsgi.file_wrapper"](io.BytesIO(b"file"))

    with testing.capture_spans() as exporter, testing.capture_logs():
        body = TraceMiddleware(app)(environ(**{"wsgi.file_wrapper": FileWrapper}), lambda *a: None)
        data = b"".join(body)
        body.close()  # type: ignore[attr-defined]  # FileWrapper has close()

    assert isinstance(body, FileWrapper)
    assert data == b"file"
    assert len(exporter.get_finished_spans()) == 1


def test_exception_is_logged_once_recorded_and_reraised(traced: None) -> None:
    """An exception from the application is logged once with the trace and re-raised as is."""

    with (
        testing.capture_spans() as exporter,
        testing.capture_logs() as events,
        pytest.raises(Boom) as raised,
    ):
        TraceMiddleware(boom)(environ(), lambda *a: None)

    span = exporter.get_finished_spans()[0]
    errors = [e for e in events if "exception" in e]
    assert len(errors) == 1
    assert errors[0]["level"] == "error"
    assert errors[0]["trace_id"] == format(span.context.trace_id, "032x")
    assert errors[0]["exception"]["type"] == f"{Boom.__module__}.Boom"
    assert span.status.status_code is StatusCode.ERROR
    assert [ev.name for ev in span.events] == ["exception"]
    assert raised.value.__cause__ is None
    assert raised.value.__context__ is None


def test_exception_while_iterating_is_recorded(traced: None) -> None:
    """An exception raised by the body after the first chunk is recorded and re-raised."""

    with testing.capture_spans() as exporter, testing.capture_logs() as events:
        body = TraceMiddleware(boom_in_body)(environ(), lambda *a: None)
        with pytest.raises(Boom):
            list(body)
        body.close()  # type: ignore[attr-defined]  # the middleware's body has close()

    span = exporter.get_finished_spans()[0]
    assert span.status.status_code is StatusCode.ERROR
    assert len([e for e in events if "exception" in e]) == 1


def test_5xx_status_marks_span_error_and_access_line_error(traced: None) -> None:
    """A 503 sets ERROR status and error.type on the span and an ERROR access line."""

    result = call(TraceMiddleware(status("503 Service Unavailable")))

    span = result.server_span()
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "503"
    access = result.by_logger("msatrace.access")
    assert [(a["level"], a["status"]) for a in access] == [("error", 503)]


def test_4xx_status_is_not_a_server_error(traced: None) -> None:
    """A 404 leaves the span status unset and logs the access line at INFO."""

    result = call(TraceMiddleware(status("404 Not Found")))

    assert result.server_span().status.status_code is StatusCode.UNSET
    assert [a["level"] for a in result.by_logger("msatrace.access")] == ["info"]


def test_access_line_has_request_fields(traced: None) -> None:
    """One access line: method, path, status, duration, client, user agent and trace fields."""

    result = call(TraceMiddleware(hello), env=environ("/x", {"User-Agent": "probe/1"}))

    (line,) = result.by_logger("msatrace.access")
    assert line["method"] == "GET"
    assert line["path"] == "/x"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0
    assert line["client_address"] == "127.0.0.1"
    assert line["user_agent"] == "probe/1"
    assert line["trace_id"] == result.header("X-Trace-ID")


def test_access_line_times_are_the_spans(traced: None) -> None:
    """The line's duration is the span's, to the microsecond, and its timestamp the span's end."""

    result = call(TraceMiddleware(streamed))

    (line,) = result.by_logger("msatrace.access")
    span = result.server_span()
    start, end = span.start_time, span.end_time
    assert start is not None
    assert end is not None
    assert line["duration_ms"] == (end - start + 500) // 1000 / 1000
    ended = datetime.datetime.fromtimestamp(end // 1_000_000 / 1000, datetime.timezone.utc)
    assert line["timestamp"] == ended.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def test_access_line_duration_is_never_negative(
    traced: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wall clock stepping back mid-request gives 0 ms, not a negative duration."""
    readings = iter([2_000_000_000_000_000_000, 1_999_999_999_000_000_000])
    monkeypatch.setattr(inbound, "time", types.SimpleNamespace(time_ns=lambda: next(readings)))

    result = call(TraceMiddleware(hello))

    (line,) = result.by_logger("msatrace.access")
    assert line["duration_ms"] == 0


def test_excluded_path_is_not_traced(traced: None) -> None:
    """A health-check path gets no span, no access line and no trace headers."""

    result = call(TraceMiddleware(hello), "/health")

    assert result.spans == []
    assert result.by_logger("msatrace.access") == []
    assert result.header("X-Trace-ID") is None


def test_middleware_follows_reinit_and_shutdown(env: pytest.MonkeyPatch) -> None:
    """The settings of the latest init() apply to the next request; none after shutdown()."""
    app = TraceMiddleware(hello)
    init(exclude_paths=["/a"])
    assert call(app, "/a").header("X-Trace-ID") is None
    assert is_trace_id(call(app, "/b").header("X-Trace-ID"))

    init(exclude_paths=["/b"])  # new settings: adapters see the new runtime without a restart

    assert is_trace_id(call(app, "/a").header("X-Trace-ID"))
    assert call(app, "/b").header("X-Trace-ID") is None

    msatrace.shutdown()

    seen: list[Any] = []
    body = app(environ("/a"), lambda status, headers, exc_info=None: seen.extend(headers))
    assert b"".join(body) == b""  # no trace ID current in the application either
    assert "x-trace-id" not in {name.lower() for name, _ in seen}
    assert inbound.active is None


def test_untrusted_incoming_starts_fresh_trace_with_link(env: pytest.MonkeyPatch) -> None:
    """With trust_incoming=False the incoming trace becomes a link, not the parent."""
    init(trust_incoming=False)

    result = call(TraceMiddleware(hello), headers={"traceparent": TRACEPARENT})

    span = result.server_span()
    assert format(span.context.trace_id, "032x") != TRACE_ID
    assert span.parent is None
    assert [format(link.context.trace_id, "032x") for link in span.links] == [TRACE_ID]


def test_not_initialised_passes_through(env: pytest.MonkeyPatch) -> None:
    """Before msatrace.init() the application's response is returned untouched."""
    body = [b"x"]

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [])
        return body

    result = TraceMiddleware(app)(environ(), lambda *a: None)

    assert result is body


def test_nested_middleware_traces_once(traced: None) -> None:
    """Wrapping twice still gives one span and one pair of headers."""

    result = call(TraceMiddleware(TraceMiddleware(hello)))

    assert len(result.spans) == 1
    assert len([k for k, _ in result.headers if k.lower() == "x-trace-id"]) == 1


@pytest.mark.span_paths("lean", "sdk")  # the sampler or exporter msatrace installs
def test_unsampled_request_still_has_trace_id(env: pytest.MonkeyPatch) -> None:
    """With a sampler that drops everything, logs and headers still carry one trace ID."""
    init(sampler="always_off")

    result = call(TraceMiddleware(hello))

    trace_id = result.header("X-Trace-ID")
    assert is_trace_id(trace_id)
    assert result.by_logger("handler")[0]["trace_id"] == trace_id
    assert result.spans == []


def test_user_lookup_records_user(traced: None) -> None:
    """A user lookup given to the middleware sets user_id on the access line and user.id."""
    app = TraceMiddleware(hello, user=lambda environ: environ.get("REMOTE_USER"))

    result = call(app, env=environ(REMOTE_USER="u-1"))

    assert result.by_logger("msatrace.access")[0]["user_id"] == "u-1"
    assert (result.server_span().attributes or {})["user.id"] == "u-1"


def test_internal_failure_never_reaches_the_application(traced: None) -> None:
    """Outside the test suite's strict mode, a failure inside msatrace only logs a warning."""

    def broken_lookup(environ: dict[str, Any]) -> str | None:
        raise RuntimeError("lookup failed")

    previous = safety.set_strict(False)
    safety.reset()
    try:
        result = call(TraceMiddleware(hello, user=broken_lookup))
    finally:
        safety.set_strict(previous)

    assert result.status == "200 OK"
    assert is_trace_id(result.header("X-Trace-ID"))
    warnings = [e for e in result.logs if e["logger"] == "msatrace" and e["level"] == "warning"]
    assert len(warnings) == 1
    assert "wsgi.start_response" in warnings[0]["event"]


def test_failure_while_ending_leaves_nothing_behind(
    traced: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error writing the access line: the response completes, the span ends, the request's
    trace is no longer current afterwards, and one warning names where it happened."""

    def broken_line(**fields: Any) -> None:
        raise RuntimeError("line failed")

    monkeypatch.setattr(access, "write", broken_line)
    previous = safety.set_strict(False)
    safety.reset()
    try:
        result = call(TraceMiddleware(hello))
    finally:
        safety.set_strict(previous)

    assert result.status == "200 OK"
    assert result.body.decode() == result.header("X-Trace-ID")
    assert len(result.spans) == 1
    assert msatrace.current_trace_id() is None
    warnings = [e for e in result.logs if e["logger"] == "msatrace" and e["level"] == "warning"]
    assert [w["event"] for w in warnings] == [
        "msatrace: internal error in outcome.write_access_line; the request goes on"
    ]


def test_route_lookup_names_the_span(traced: None) -> None:
    """A route lookup given to the middleware names the span and fills http.route."""
    app = TraceMiddleware(hello, route=lambda environ: "/items/{id}")

    result = call(app, "/items/7")

    assert result.server_span().name == "GET /items/{id}"
    assert (result.server_span().attributes or {})["http.route"] == "/items/{id}"
    assert result.by_logger("msatrace.access")[0]["route"] == "/items/{id}"
