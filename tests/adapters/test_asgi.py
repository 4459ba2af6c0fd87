"""msatrace.asgi.TraceMiddleware in process: headers, propagation, spans, logs, errors, streams."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

import msatrace
import msatrace.asgi
import msatrace.starlette
from msatrace import testing
from tests.adapters.asgi_kit import call, http_scope, init, is_trace_id, raw_call

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


async def order(request: Request) -> Response:
    msatrace.get_logger("handler").info("order", order_id=request.path_params["order_id"])
    return JSONResponse({"trace_id": msatrace.current_trace_id()})


async def boom(request: Request) -> Response:
    raise ValueError("boom")


async def unavailable(request: Request) -> Response:
    return PlainTextResponse("down", status_code=503)


async def own_header(request: Request) -> Response:
    return PlainTextResponse("x", headers={"X-Trace-ID": "set-by-app", "X-Other": "1"})


async def chat(websocket: WebSocket) -> None:
    await websocket.accept()
    msatrace.get_logger("handler").info("connected")
    await websocket.send_text(msatrace.current_trace_id() or "")
    await websocket.close()


def make_app() -> Starlette:
    app = Starlette(
        routes=[
            Route("/orders/{order_id}", order),
            Route("/boom", boom),
            Route("/unavailable", unavailable),
            Route("/own", own_header),
            Route("/health", unavailable),
            WebSocketRoute("/chat/{room}", chat),
        ]
    )
    return msatrace.starlette.instrument(app)


@pytest.fixture
def app(env: pytest.MonkeyPatch) -> Starlette:
    init()
    return make_app()


def test_response_carries_trace_and_request_id(app: Starlette) -> None:
    """A request without trace headers gets a fresh trace ID and request ID in its response."""

    result = call(app, "/orders/7")

    trace_id = result.response.headers["x-trace-id"]
    assert is_trace_id(trace_id)
    assert result.response.json() == {"trace_id": trace_id}
    assert format(result.server_span().context.trace_id, "032x") == trace_id
    assert len(result.response.headers["x-request-id"]) == 32


def test_span_has_http_semconv_attributes(app: Starlette) -> None:
    """The SERVER span is named by route template and carries the semconv HTTP attributes."""

    result = call(app, "/orders/7", headers={"user-agent": "probe/1.0"})

    span = result.server_span()
    assert span.name == "GET /orders/{order_id}"
    assert span.kind is SpanKind.SERVER
    assert dict(span.attributes or {}) == {
        "http.request.method": "GET",
        "url.path": "/orders/7",
        "url.scheme": "http",
        "http.route": "/orders/{order_id}",
        "http.response.status_code": 200,
        "server.address": "testserver",
        "server.port": 80,
        "client.address": "127.0.0.1",
        "user_agent.original": "probe/1.0",
        "network.protocol.version": "1.1",
    }
    assert span.status.status_code is StatusCode.UNSET


def test_unknown_method_is_other(app: Starlette) -> None:
    """A non-standard method is recorded as _OTHER with the original kept, span named HTTP."""

    result = call(app, "/orders/7", method="PURGE")

    span = result.server_span()
    assert span.name == "HTTP /orders/{order_id}"
    assert (span.attributes or {})["http.request.method"] == "_OTHER"
    assert (span.attributes or {})["http.request.method_original"] == "PURGE"


def test_log_lines_inside_handler_carry_trace(app: Starlette) -> None:
    """The handler's log line has the request's trace ID, span ID and request ID."""

    result = call(app, "/orders/7")

    (line,) = result.by_logger("handler")
    span = result.server_span()
    assert line["trace_id"] == result.response.headers["x-trace-id"]
    assert line["span_id"] == format(span.context.span_id, "016x")
    assert line["request_id"] == result.response.headers["x-request-id"]


def test_one_access_line_per_request(app: Starlette) -> None:
    """One access line with method, route, path, status, duration, client and trace fields."""

    result = call(app, "/orders/7", headers={"user-agent": "probe/1.0"})

    (line,) = result.by_logger("msatrace.access")
    assert line["level"] == "info"
    assert line["event"] == "GET /orders/{order_id} 200"
    assert (line["method"], line["route"], line["path"], line["status"]) == (
        "GET",
        "/orders/{order_id}",
        "/orders/7",
        200,
    )
    assert line["duration_ms"] >= 0
    assert (line["client_address"], line["user_agent"]) == ("127.0.0.1", "probe/1.0")
    assert line["trace_id"] == result.response.headers["x-trace-id"]


def test_incoming_traceparent_is_continued(app: Starlette) -> None:
    """A valid traceparent makes the server span its child, in the same trace."""

    result = call(app, "/orders/7", headers={"traceparent": TRACEPARENT})

    span = result.server_span()
    assert result.response.headers["x-trace-id"] == TRACE_ID
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == PARENT_ID


@pytest.mark.parametrize(
    "value",
    [TRACE_ID, TRACE_ID.upper(), str(uuid.UUID(TRACE_ID))],
    ids=["hex", "upper", "uuid"],
)
def test_x_trace_id_alone_is_continued(app: Starlette, value: str) -> None:
    """With only X-Trace-ID (hex or UUID form) the trace continues under that ID, normalised."""

    result = call(app, "/orders/7", headers={"x-trace-id": value})

    assert result.response.headers["x-trace-id"] == TRACE_ID
    assert format(result.server_span().context.trace_id, "032x") == TRACE_ID


def test_traceparent_wins_over_x_trace_id(app: Starlette) -> None:
    """When both arrive, the valid traceparent decides the trace."""
    other = "11111111111111111111111111111111"

    result = call(app, "/orders/7", headers={"traceparent": TRACEPARENT, "x-trace-id": other})

    assert result.response.headers["x-trace-id"] == TRACE_ID


def test_valid_request_id_is_echoed(app: Starlette) -> None:
    """A well-formed X-Request-ID is kept for the logs and echoed."""

    result = call(app, "/orders/7", headers={"x-request-id": "req-42.a:b"})

    assert result.response.headers["x-request-id"] == "req-42.a:b"
    assert result.by_logger("handler")[0]["request_id"] == "req-42.a:b"


BAD_VALUES: dict[str, bytes] = {
    "crlf": b"4bf92f3577b34da6a3ce929d0e0e4736\r\nSet-Cookie: a=b",
    "nul": b"4bf92f3577b34da6\x00a3ce929d0e0e4736",
    "control": b"\x1b[31m4bf92f3577b34da6a3ce929d0e0e\x07",
    "non_ascii": "4bf92f3577b34da6a3ce929d0e0e473\u00e9".encode(),
    "huge": b"a" * 9000,
}


@pytest.mark.parametrize("name", sorted(BAD_VALUES))
def test_bad_trace_header_gives_fresh_trace(app: Starlette, name: str) -> None:
    """A bad X-Trace-ID / X-Request-ID / traceparent is never echoed; a fresh valid ID is used."""
    bad = BAD_VALUES[name]
    headers = [(b"x-trace-id", bad), (b"x-request-id", bad), (b"traceparent", bad)]

    raw = raw_call(app, http_scope("/orders/7", headers))

    (trace_id,) = raw.header(b"x-trace-id")
    (request_id,) = raw.header(b"x-request-id")
    assert is_trace_id(trace_id)
    assert trace_id != bad
    assert request_id != bad
    assert len(request_id) == 32
    assert raw.start["status"] == 200


def test_all_zero_x_trace_id_is_ignored(app: Starlette) -> None:
    """An all-zero X-Trace-ID is invalid: a fresh trace ID is used instead."""
    zero = b"0" * 32

    raw = raw_call(app, http_scope("/orders/7", [(b"x-trace-id", zero)]))

    (trace_id,) = raw.header(b"x-trace-id")
    assert is_trace_id(trace_id)
    assert trace_id != zero


@pytest.mark.parametrize("name", ["x-trace-id", "traceparent", "x-request-id"])
def test_duplicated_trace_header_is_not_trusted(app: Starlette, name: str) -> None:
    """A trace header that arrives twice is invalid: neither value is used or echoed."""
    value = TRACEPARENT if name == "traceparent" else TRACE_ID
    headers = [(name.encode(), value.encode()), (name.encode(), value.encode())]

    raw = raw_call(app, http_scope("/orders/7", headers))

    assert raw.header(b"x-trace-id") != [TRACE_ID.encode()]
    assert is_trace_id(raw.header(b"x-trace-id")[0])
    assert raw.header(b"x-request-id") != [TRACE_ID.encode()]


@pytest.mark.parametrize(
    "value",
    [
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",  # flags missing
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # version ff
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # zero trace-id
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # uppercase
    ],
)
def test_malformed_traceparent_starts_fresh_trace(app: Starlette, value: str) -> None:
    """An invalid traceparent is ignored: a new trace with no parent."""

    result = call(app, "/orders/7", headers={"traceparent": value})

    span = result.server_span()
    assert span.parent is None
    assert result.response.headers["x-trace-id"] != TRACE_ID
    assert is_trace_id(result.response.headers["x-trace-id"])


def test_untrusted_incoming_starts_new_trace_with_link(env: pytest.MonkeyPatch) -> None:
    """With trust_incoming=False the incoming trace becomes a link, not the parent."""
    init(trust_incoming=False)
    app = make_app()

    result = call(app, "/orders/7", headers={"traceparent": TRACEPARENT})

    span = result.server_span()
    assert span.parent is None
    assert result.response.headers["x-trace-id"] != TRACE_ID
    (link,) = span.links
    assert format(link.context.trace_id, "032x") == TRACE_ID
    assert format(link.context.span_id, "016x") == PARENT_ID


def test_app_header_is_not_overwritten(app: Starlette) -> None:
    """A trace header the application set itself is left alone, and sent once."""

    result = call(app, "/own")

    assert result.response.headers.get_list("x-trace-id") == ["set-by-app"]
    assert result.response.headers["x-other"] == "1"
    assert len(result.response.headers["x-request-id"]) == 32


def test_response_start_message_is_not_mutated(env: pytest.MonkeyPatch) -> None:
    """The application's own message and header list come back unchanged (responses are reused)."""
    init()
    headers = [(b"content-type", b"text/plain")]
    start = {"type": "http.response.start", "status": 200, "headers": headers}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send(start)
        await send({"type": "http.response.body", "body": b"ok"})

    raw = raw_call(msatrace.asgi.TraceMiddleware(app), http_scope("/"))

    assert start["headers"] == [(b"content-type", b"text/plain")]
    assert [k for k, _ in raw.start["headers"]] == [b"content-type", b"x-trace-id", b"x-request-id"]


def test_excluded_path_is_not_traced(app: Starlette) -> None:
    """A health-check path gets no span, no access line and no trace headers."""

    result = call(app, "/health")

    assert result.spans == []
    assert result.by_logger("msatrace.access") == []
    assert "x-trace-id" not in result.response.headers


def test_not_initialised_passes_through(env: pytest.MonkeyPatch) -> None:
    """Before msatrace.init() the middleware changes nothing."""
    app = make_app()

    result = call(app, "/orders/7", spans=False)

    assert result.response.status_code == 200
    assert "x-trace-id" not in result.response.headers


def test_server_error_status_marks_span_error(app: Starlette) -> None:
    """A 5xx response without an exception: ERROR status, error.type is the code, ERROR line."""

    result = call(app, "/unavailable")

    span = result.server_span()
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "503"
    assert result.by_logger("msatrace.access")[0]["level"] == "error"


def test_exception_is_logged_once_and_500_carries_trace(app: Starlette) -> None:
    """An unhandled exception: one ERROR line with the trace, the 500 has X-Trace-ID."""

    result = call(app, "/boom")

    trace_id = result.response.headers["x-trace-id"]
    assert result.response.status_code == 500
    errors = [e for e in result.logs if "exception" in e]
    assert len(errors) == 1
    assert errors[0]["logger"] == "msatrace.error"
    assert errors[0]["trace_id"] == trace_id
    assert errors[0]["exception"]["type"] == "ValueError"
    assert result.by_logger("msatrace.access")[0]["status"] == 500


def test_exception_is_recorded_on_span(app: Starlette) -> None:
    """The span of a failed request is ERROR, with error.type and the exception event."""

    result = call(app, "/boom")

    span = result.server_span()
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "ValueError"
    assert (span.attributes or {})["http.response.status_code"] == 500
    assert [e.name for e in span.events] == ["exception"]


def test_exception_reraised_unchanged_and_server_log_dropped(app: Starlette) -> None:
    """The app's exception leaves unchanged; the server's own log of it adds no second line."""
    raised: list[BaseException] = []

    async def server() -> None:
        async def receive() -> Any:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            return None

        try:
            await app(http_scope("/boom"), receive, send)
        except ValueError as exc:  # what uvicorn does with it: log at ERROR with exc_info
            raised.append(exc)
            logging.getLogger("uvicorn.error").error("Exception in ASGI application", exc_info=exc)

    with msatrace.testing.capture_logs() as events:
        asyncio.run(server())

    assert [type(e) for e in raised] == [ValueError]
    assert str(raised[0]) == "boom"
    assert raised[0].__cause__ is None
    assert raised[0].__context__ is None
    assert [e["logger"] for e in events if "exception" in e] == ["msatrace.error"]


def test_streaming_span_covers_whole_body(app: Starlette) -> None:
    """A streamed response's span ends after its last chunk, not when the first is sent."""
    marks: dict[str, int] = {}

    async def chunks() -> Any:
        for i in range(3):
            await asyncio.sleep(0)
            yield f"data: {i}\n\n"
        marks["last_chunk"] = time.time_ns()

    async def events(request: Request) -> Response:
        return StreamingResponse(chunks(), media_type="text/event-stream")

    app.router.routes.append(Route("/events", events))

    result = call(app, "/events")

    span = result.server_span()
    assert result.response.text == "data: 0\n\ndata: 1\n\ndata: 2\n\n"
    assert span.end_time is not None
    assert span.end_time >= marks["last_chunk"]
    assert result.by_logger("msatrace.access")[0]["status"] == 200


def test_span_ends_before_background_task(app: Starlette) -> None:
    """The span ends with the response body; a background task runs after it, still traced."""
    marks: dict[str, Any] = {}

    async def task() -> None:
        marks["task_start"] = time.time_ns()
        marks["trace_id"] = msatrace.current_trace_id()

    async def with_task(request: Request) -> Response:
        return PlainTextResponse("ok", background=BackgroundTask(task))

    app.router.routes.append(Route("/task", with_task))

    result = call(app, "/task")

    span = result.server_span()
    assert span.end_time is not None
    assert span.end_time <= marks["task_start"]
    assert marks["trace_id"] == result.response.headers["x-trace-id"]


def websocket(app: Starlette, path: str) -> list[Any]:
    """Connect to a WebSocket route with raw ASGI messages; returns what the app sent."""
    sent: list[Any] = []
    incoming = [{"type": "websocket.connect"}, {"type": "websocket.disconnect", "code": 1000}]
    scope = {**http_scope(path), "type": "websocket", "scheme": "ws"}
    del scope["method"]

    async def receive() -> Any:
        return incoming.pop(0)

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_websocket_gets_one_span_and_trace(app: Starlette) -> None:
    """A WebSocket connection: the trace is current in the handler and has one span."""

    with msatrace.testing.capture_spans() as exporter, msatrace.testing.capture_logs() as logs:
        sent = websocket(app, "/chat/lobby")

    (span,) = exporter.get_finished_spans()
    seen = next(m["text"] for m in sent if m["type"] == "websocket.send")
    assert span.name == "WS /chat/{room}"
    assert format(span.context.trace_id, "032x") == seen
    assert (span.attributes or {})["http.response.status_code"] == 101
    assert (span.attributes or {})["network.protocol.name"] == "websocket"
    assert [e["trace_id"] for e in logs if e["logger"] == "handler"] == [seen]


def test_websocket_accept_carries_trace_header(app: Starlette) -> None:
    """The websocket.accept message gets X-Trace-ID like an HTTP response."""

    sent = websocket(app, "/chat/lobby")

    accept = next(m for m in sent if m["type"] == "websocket.accept")
    (value,) = [v for k, v in accept["headers"] if k == b"x-trace-id"]
    assert is_trace_id(value)


def test_lifespan_passes_through_unchanged(env: pytest.MonkeyPatch) -> None:
    """Lifespan scope and messages reach the app and the server as they were."""
    init()
    seen: list[Any] = []
    sent: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.extend([scope, await receive()])
        await send({"type": "lifespan.startup.complete"})

    async def receive() -> Any:
        return {"type": "lifespan.startup"}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
    asyncio.run(msatrace.asgi.TraceMiddleware(app)(scope, receive, send))

    assert seen == [{"type": "lifespan", "asgi": {"version": "3.0"}}, {"type": "lifespan.startup"}]
    assert sent == [{"type": "lifespan.startup.complete"}]


@pytest.mark.span_paths("lean", "sdk")  # the sampler or exporter msatrace installs
def test_lifespan_shutdown_exports_queued_spans_first(env: pytest.MonkeyPatch) -> None:
    """Spans still queued are at the collector before the server hears shutdown is complete."""
    env.setenv("OTEL_BSP_SCHEDULE_DELAY", "600000")  # nothing leaves the queue by itself
    at_complete: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "lifespan.shutdown.complete"})

    async def receive() -> Any:
        return {"type": "lifespan.shutdown"}

    with testing.OTLPReceiver() as receiver:
        init(otlp_endpoint=receiver.endpoint)
        trace.get_tracer("t").start_span("last request").end()

        async def send(message: Any) -> None:
            at_complete.append(len(receiver.spans))

        scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
        asyncio.run(msatrace.asgi.TraceMiddleware(app)(scope, receive, send))

    assert at_complete == [1]


def test_nested_middleware_traces_once(env: pytest.MonkeyPatch) -> None:
    """add_middleware(TraceMiddleware) plus instrument(app): still one span and one access line."""
    init()
    app = Starlette(routes=[Route("/orders/{order_id}", order)])
    app.add_middleware(msatrace.asgi.TraceMiddleware)
    msatrace.starlette.instrument(app)

    result = call(app, "/orders/7")

    assert len(result.spans) == 1
    assert len(result.by_logger("msatrace.access")) == 1
    assert result.response.headers.get_list("x-trace-id") == [
        result.by_logger("handler")[0]["trace_id"]
    ]


def test_tracing_off_still_gives_trace_ids(env: pytest.MonkeyPatch) -> None:
    """With tracing off, responses and log lines still carry one valid trace ID."""
    init(tracing=False)
    app = make_app()

    result = call(app, "/orders/7", spans=False)

    trace_id = result.response.headers["x-trace-id"]
    assert is_trace_id(trace_id)
    assert result.by_logger("handler")[0]["trace_id"] == trace_id
    assert result.by_logger("msatrace.access")[0]["trace_id"] == trace_id


@pytest.mark.span_paths("lean", "sdk")  # the sampler or exporter msatrace installs
def test_unsampled_request_still_has_trace_id(env: pytest.MonkeyPatch) -> None:
    """A request the sampler drops exports no span but still has its trace ID everywhere."""
    init(sampler="always_off")
    app = make_app()

    result = call(app, "/orders/7")

    trace_id = result.response.headers["x-trace-id"]
    assert result.spans == []
    assert is_trace_id(trace_id)
    assert result.by_logger("msatrace.access")[0]["trace_id"] == trace_id


def test_websocket_normal_disconnect_is_not_an_error(app: Starlette) -> None:
    """A handler ended by the client's normal close (1000) logs no exception; span not ERROR."""

    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive_text()  # the client goes away: WebSocketDisconnect(1000)

    app.router.routes.append(WebSocketRoute("/echo", echo))

    with (
        msatrace.testing.capture_spans() as exporter,
        msatrace.testing.capture_logs() as logs,
        pytest.raises(WebSocketDisconnect),
    ):
        websocket(app, "/echo")

    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.UNSET
    assert [e for e in logs if "exception" in e] == []


def test_cancelled_request_is_not_logged_as_exception(app: Starlette) -> None:
    """A request cancelled mid-flight (client gone) is on the span, but no exception line."""
    started = asyncio.Event()

    async def slow(request: Request) -> Response:
        started.set()
        await asyncio.sleep(3600)
        return PlainTextResponse("never")

    app.router.routes.append(Route("/slow", slow))

    async def server() -> None:
        async def receive() -> Any:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            return None

        task = asyncio.ensure_future(app(http_scope("/slow"), receive, send))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with msatrace.testing.capture_spans() as exporter, msatrace.testing.capture_logs() as logs:
        asyncio.run(server())

    (span,) = exporter.get_finished_spans()
    assert (span.attributes or {})["error.type"] == "asyncio.exceptions.CancelledError"
    assert [e for e in logs if "exception" in e] == []
    assert [e["logger"] for e in logs] == ["msatrace.access"]


def test_server_access_line_is_replaced(app: Starlette) -> None:
    """uvicorn's access line, logged inside the request, is dropped: one access line only."""

    async def logged(request: Request) -> Response:
        logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET /logged HTTP/1.1" 200')
        return PlainTextResponse("ok")

    app.router.routes.append(Route("/logged", logged))

    result = call(app, "/logged")

    assert [e["logger"] for e in result.logs] == ["msatrace.access"]
