"""msatrace.django.TraceMiddleware in process: sync and async views, errors, users, headers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import iscoroutinefunction
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from tests.adapters import django_app

django_app.configure()

from django.contrib.auth.models import User  # noqa: E402  # needs configured settings
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import AsyncClient, Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

import msatrace  # noqa: E402
import msatrace.django  # noqa: E402
from msatrace import testing  # noqa: E402
from msatrace.wsgi import TraceMiddleware  # noqa: E402
from tests.adapters.wsgi_kit import call, init, is_trace_id  # noqa: E402

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.fixture(scope="module")
def database() -> None:
    """The auth tables in the in-memory SQLite database, created once for this module."""
    call_command("migrate", run_syncdb=True, verbosity=0)


@pytest.fixture
def user(database: None) -> Iterator[User]:
    """A user in the database for one test, deleted afterwards."""
    created = User.objects.create(username="ada")
    yield created
    created.delete()


@pytest.fixture
def traced(env: pytest.MonkeyPatch) -> Iterator[None]:
    """msatrace initialised and the test project's settings in force."""
    init()
    with override_settings(ROOT_URLCONF=django_app.__name__, MIDDLEWARE=django_app.MIDDLEWARE):
        yield


class Captured:
    """A response with the log events and spans of its request."""

    def __init__(self, response: Any, logs: list[dict[str, Any]], spans: list[ReadableSpan]):
        self.response = response
        self.logs = logs
        self.spans = spans

    def by_logger(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.logs if e["logger"] == name]

    def server_span(self) -> ReadableSpan:
        servers = [s for s in self.spans if s.kind is SpanKind.SERVER]
        assert len(servers) == 1, [s.name for s in self.spans]
        return servers[0]


def get(path: str, client: Client | None = None, **headers: str) -> Captured:
    client = client or Client(raise_request_exception=False)
    with testing.capture_spans() as exporter, testing.capture_logs() as events:
        response = client.get(path, headers=headers)
        response.close()
    return Captured(response, events, list(exporter.get_finished_spans()))


def aget(path: str, **headers: str) -> Captured:
    client = AsyncClient(raise_request_exception=False)
    with testing.capture_spans() as exporter, testing.capture_logs() as events:
        response = asyncio.run(client.get(path, headers=headers))
        response.close()
    return Captured(response, events, list(exporter.get_finished_spans()))


def test_middleware_is_sync_and_async_capable() -> None:
    """Django can use the middleware in both modes without adapting it."""

    capable = (
        msatrace.django.TraceMiddleware.sync_capable,
        msatrace.django.TraceMiddleware.async_capable,
    )

    assert capable == (True, True)


def test_middleware_is_a_coroutine_in_async_chain(traced: None) -> None:
    """Given an async get_response the middleware presents itself as a coroutine function."""

    async def get_response(request: Any) -> Any:
        return None

    middleware = msatrace.django.TraceMiddleware(get_response)

    assert iscoroutinefunction(middleware)


def test_sync_view_span_named_by_url_pattern(traced: None) -> None:
    """A sync view's span is named after its URL pattern, with a leading slash."""

    result = get("/orders/7")

    span = result.server_span()
    assert span.name == "GET /orders/<int:order_id>"
    assert (span.attributes or {})["http.route"] == "/orders/<int:order_id>"
    assert (span.attributes or {})["http.response.status_code"] == 200


def test_sync_view_logs_and_headers_share_the_trace(traced: None) -> None:
    """The view's log line, response body and X-Trace-ID carry the same trace ID."""

    result = get("/orders/7")

    trace_id = result.response["X-Trace-ID"]
    assert is_trace_id(trace_id)
    assert result.response.json()["trace_id"] == trace_id
    assert result.by_logger("handler")[0]["trace_id"] == trace_id
    assert result.by_logger("handler")[0]["request_id"] == result.response["X-Request-ID"]


def test_async_view_is_traced(traced: None) -> None:
    """An async view under Django's async handler is traced like a sync one."""

    result = aget("/async/orders/3")

    trace_id = result.response["X-Trace-ID"]
    assert result.response.json()["trace_id"] == trace_id
    assert result.by_logger("handler")[0]["trace_id"] == trace_id
    assert result.server_span().name == "GET /async/orders/<int:order_id>"


def test_traceparent_continued(traced: None) -> None:
    """A valid traceparent is continued."""

    result = get("/orders/1", traceparent=TRACEPARENT)

    assert result.response["X-Trace-ID"] == TRACE_ID
    assert format(result.server_span().context.trace_id, "032x") == TRACE_ID


def test_x_trace_id_uuid_continued(traced: None) -> None:
    """An X-Trace-ID in UUID form continues that trace, normalised."""

    result = get("/orders/1", **{"X-Trace-ID": "4bf92f35-77b3-4da6-a3ce-929d0e0e4736"})

    assert result.response["X-Trace-ID"] == TRACE_ID


def test_bad_trace_header_never_echoed(traced: None) -> None:
    """A malformed traceparent and X-Trace-ID give a fresh trace and are not echoed."""
    bad = "00-" + "g" * 32 + "-00f067aa0ba902b7-01\r\nX: y"
    client = Client(raise_request_exception=False, HTTP_TRACEPARENT=bad, HTTP_X_TRACE_ID=bad)

    result = get("/orders/1", client)

    trace_id = result.response["X-Trace-ID"]
    assert is_trace_id(trace_id)
    assert trace_id not in bad


def test_view_header_never_overwritten(traced: None) -> None:
    """An X-Trace-ID the view set is kept; X-Request-ID is still added."""

    result = get("/own")

    assert result.response["X-Trace-ID"] == "set-by-view"
    assert result.response["X-Request-ID"]


def test_exception_gives_500_with_trace_id(traced: None) -> None:
    """Django's 500 for a view's exception carries X-Trace-ID."""

    result = get("/boom")

    assert result.response.status_code == 500
    assert is_trace_id(result.response["X-Trace-ID"])


def test_exception_logged_once_by_django_request(traced: None) -> None:
    """The exception is logged once, by Django's django.request line, with the trace ID."""

    result = get("/boom")

    errors = [e for e in result.logs if "exception" in e]
    assert len(errors) == 1
    assert errors[0]["logger"] == "django.request"
    assert errors[0]["exception"]["type"] == "ValueError"
    assert errors[0]["trace_id"] == result.response["X-Trace-ID"]


def test_exception_recorded_on_span(traced: None) -> None:
    """The view's exception is recorded on the span, which has ERROR status."""

    result = get("/boom")

    span = result.server_span()
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "ValueError"
    assert [e.name for e in span.events] == ["exception"]


def test_async_exception_logged_once_with_trace(traced: None) -> None:
    """An async view's exception: a 500 with X-Trace-ID and one error line with the trace."""

    result = aget("/async/boom")

    assert result.response.status_code == 500
    errors = [e for e in result.logs if "exception" in e]
    assert [(e["logger"], e["trace_id"]) for e in errors] == [
        ("django.request", result.response["X-Trace-ID"])
    ]
    assert result.server_span().status.status_code is StatusCode.ERROR


def test_propagated_exception_logged_once_by_msatrace(traced: None) -> None:
    """With DEBUG_PROPAGATE_EXCEPTIONS the exception leaves Django, logged once by msatrace."""
    client = Client()

    with (
        override_settings(DEBUG_PROPAGATE_EXCEPTIONS=True),
        testing.capture_logs() as events,
        pytest.raises(ValueError, match="boom"),
    ):
        client.get("/boom")

    errors = [e for e in events if "exception" in e]
    assert [e["logger"] for e in errors] == ["msatrace.error"]


def test_http404_is_not_a_server_error(traced: None) -> None:
    """A view raising Http404 gives a 404 span that is not an error."""

    result = get("/missing")

    span = result.server_span()
    assert result.response.status_code == 404
    assert span.status.status_code is StatusCode.UNSET
    assert span.events == ()


@pytest.mark.parametrize("fetch", [get, aget], ids=["sync", "async"])
def test_django_not_found_line_carries_the_trace(traced: None, fetch: Any) -> None:
    """Django's own "Not Found" line is written once, inside the request's trace."""

    result = fetch("/no/such/path", **{"X-Trace-ID": TRACE_ID})

    lines = [e for e in result.by_logger("django.request") if e["event"].startswith("Not Found")]
    assert [(e["level"], e["trace_id"]) for e in lines] == [("warning", TRACE_ID)]


def test_503_marks_span_error(traced: None) -> None:
    """A 503 response sets ERROR status and an ERROR access line."""

    result = get("/unavailable")

    assert result.server_span().status.status_code is StatusCode.ERROR
    assert [a["level"] for a in result.by_logger("msatrace.access")] == ["error"]


def test_unresolved_path_named_by_method(traced: None) -> None:
    """A path no pattern matches is named by method only, never by its raw path."""

    result = get("/no/such/path")

    assert result.server_span().name == "GET"


def test_excluded_path_not_traced(traced: None) -> None:
    """A health-check path gets no span, no access line and no trace header."""

    result = get("/health")

    assert result.spans == []
    assert result.by_logger("msatrace.access") == []
    assert "X-Trace-ID" not in result.response


def test_user_picked_up_before_authentication_middleware(traced: None, user: User) -> None:
    """An authenticated request.user is recorded though the middleware runs before auth."""
    client = Client(raise_request_exception=False)
    client.force_login(user)

    result = get("/me", client)

    assert result.response.content == str(user.pk).encode()
    assert result.by_logger("msatrace.access")[0]["user_id"] == str(user.pk)
    assert (result.server_span().attributes or {})["user.id"] == str(user.pk)


def test_user_never_loaded_by_msatrace(traced: None, user: User) -> None:
    """A view that never touches request.user costs no query and records no user."""
    client = Client(raise_request_exception=False)
    client.force_login(user)

    with CaptureQueriesContext(connection) as queries:
        result = get("/no-user", client)

    assert len(queries.captured_queries) == 0
    assert "user_id" not in result.by_logger("msatrace.access")[0]


def test_anonymous_user_not_recorded(traced: None, database: None) -> None:
    """An anonymous request.user records no user."""

    result = get("/me")

    assert result.response.content == b"anonymous"
    assert "user_id" not in result.by_logger("msatrace.access")[0]


def test_untrusted_incoming_starts_fresh_trace(env: pytest.MonkeyPatch) -> None:
    """With trust_incoming=False a new trace starts and the incoming one is a link."""
    init(trust_incoming=False)

    with override_settings(ROOT_URLCONF=django_app.__name__, MIDDLEWARE=django_app.MIDDLEWARE):
        result = get("/orders/1", traceparent=TRACEPARENT)

    span = result.server_span()
    assert format(span.context.trace_id, "032x") != TRACE_ID
    assert [format(link.context.trace_id, "032x") for link in span.links] == [TRACE_ID]


def test_not_initialised_passes_through(env: pytest.MonkeyPatch) -> None:
    """Before msatrace.init() responses carry no trace header and nothing breaks."""

    with override_settings(ROOT_URLCONF=django_app.__name__, MIDDLEWARE=django_app.MIDDLEWARE):
        response = Client().get("/orders/1")

    assert response.status_code == 200
    assert "X-Trace-ID" not in response


def test_wrapped_in_wsgi_middleware_traces_once(traced: None) -> None:
    """Django behind msatrace.wsgi too: one span, named by Django's URL pattern."""

    result = call(TraceMiddleware(WSGIHandler()), "/orders/5")  # type: ignore[arg-type]  # a WSGI app

    assert [s.name for s in result.spans] == ["GET /orders/<int:order_id>"]
    assert len([k for k, _ in result.headers if k.lower() == "x-trace-id"]) == 1


def test_streamed_body_runs_in_the_request_context(traced: None) -> None:
    """A StreamingHttpResponse's generator logs with the trace; the access line comes last."""
    client = Client(raise_request_exception=False)

    with testing.capture_spans() as exporter, testing.capture_logs() as events:
        response = client.get("/stream")
        before = len(exporter.get_finished_spans())
        body = b"".join(response.streaming_content)
        response.close()

    trace_id = response["X-Trace-ID"]
    assert before == 0
    assert body.decode().split() == [trace_id, trace_id]
    assert [(e["event"], e["trace_id"]) for e in events][-2:] == [
        ("stream end", trace_id),
        ("GET /stream 200", trace_id),
    ]
    assert [s.name for s in exporter.get_finished_spans()] == ["GET /stream"]


def test_async_streamed_body_runs_in_the_request_context(traced: None) -> None:
    """An async streamed body under the async handler is covered to its end."""
    client = AsyncClient(raise_request_exception=False)

    async def fetch() -> tuple[Any, bytes]:
        response = await client.get("/async/stream")
        return response, b"".join([chunk async for chunk in response.streaming_content])

    with testing.capture_spans() as exporter, testing.capture_logs() as events:
        response, body = asyncio.run(fetch())

    trace_id = response["X-Trace-ID"]
    assert body.decode().split() == [trace_id, trace_id]
    assert [e["event"] for e in events if e["trace_id"] == trace_id][-2:] == [
        "stream end",
        "GET /async/stream 200",
    ]
    assert [s.name for s in exporter.get_finished_spans()] == ["GET /async/stream"]


def test_context_does_not_outlive_a_streamed_request(traced: None) -> None:
    """After a streamed response is returned, the caller's thread has no trace."""
    client = Client(raise_request_exception=False)

    with testing.capture_logs():
        response = client.get("/stream")
        during = msatrace.current_trace_id()
        b"".join(response.streaming_content)
        response.close()

    assert (during, msatrace.current_trace_id()) == (None, None)


def test_unhandled_exception_report_names_method_route_and_status(env: pytest.MonkeyPatch) -> None:
    """The error report of a view's exception carries the request's method, route and 500."""
    from tests.adapters.test_report_request_fields import Kept

    kept = Kept()
    msatrace.init(service_name="shop", patch="none", notifiers=[kept])
    with override_settings(ROOT_URLCONF=django_app.__name__, MIDDLEWARE=django_app.MIDDLEWARE):
        assert Client(raise_request_exception=False).post("/boom").status_code == 500
    msatrace.shutdown()  # sends what is pending

    assert [(r.event.method, r.event.route, r.event.status) for r in kept.reports] == [
        ("POST", "/boom", 500)
    ]
