"""Random header bytes through the WSGI and Django middleware, in process: no raise, no echo."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.adapters import django_app

django_app.configure()

from django.test import Client, override_settings  # noqa: E402
from tests.adapters.wsgi_kit import environ  # noqa: E402

import msatrace  # noqa: E402
from msatrace import testing  # noqa: E402
from msatrace._core.trace import headers as parse  # noqa: E402
from msatrace.wsgi import TraceMiddleware  # noqa: E402

TRACE_ID = re.compile(r"[0-9a-f]{32}")
REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
KEYS = ["HTTP_TRACEPARENT", "HTTP_TRACESTATE", "HTTP_X_TRACE_ID", "HTTP_X_REQUEST_ID", "HTTP_HOST"]
near_valid = st.sampled_from(
    [
        b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        b"4bf92f3577b34da6a3ce929d0e0e4736",
        b"4bf92f35-77b3-4da6-a3ce-929d0e0e4736",
        b"req-1",
    ]
)
value = st.one_of(
    st.binary(max_size=200),
    near_valid,
    st.builds(lambda v, junk: v + junk, near_valid, st.binary(min_size=1, max_size=4)),
    st.binary(min_size=8200, max_size=8300),
).map(lambda raw: raw.decode("latin-1"))  # how a WSGI server hands header bytes over (PEP 3333)
header_maps = st.dictionaries(
    st.one_of(
        st.sampled_from(KEYS),
        st.from_regex(r"HTTP_[A-Z_]{1,12}", fullmatch=True),
    ),
    value,
    max_size=6,
)


def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [(msatrace.current_trace_id() or "").encode()]


APP = TraceMiddleware(hello)


def check(trace_id: str, request_id: str, sent: dict[str, str]) -> None:
    """Our headers are well-formed, and only what parses as valid was echoed (normalised)."""
    assert TRACE_ID.fullmatch(trace_id)
    assert trace_id != "0" * 32
    assert REQUEST_ID.fullmatch(request_id)
    incoming_trace = sent.get("HTTP_X_TRACE_ID")
    if incoming_trace is not None and trace_id in incoming_trace:
        # Echoed only as the normalised form of a valid X-Trace-ID (or of a valid traceparent).
        parent = parse.parse_traceparent(sent.get("HTTP_TRACEPARENT"))
        assert trace_id in {
            parse.parse_trace_id(incoming_trace),
            format(parent.trace_id, "032x") if parent is not None else None,
        }
    incoming_rid = sent.get("HTTP_X_REQUEST_ID")
    if incoming_rid is not None and request_id in incoming_rid:
        assert parse.parse_request_id(incoming_rid) == request_id


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(header_maps)
def test_wsgi_random_headers_never_raise_or_echo(sent: dict[str, str]) -> None:
    """Any header bytes through the WSGI middleware: a 200 with a valid, non-echoed trace ID."""
    msatrace.init(service_name="prop", patch="none", log_format="json", environment="production")
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen.update(status=status, headers=dict(headers))

    with testing.capture_logs():
        body = APP(environ(**sent), start_response)
        data = b"".join(body)
        body.close()  # type: ignore[attr-defined]  # the middleware's body has close()

    assert seen["status"] == "200 OK"
    assert seen["headers"]["X-Trace-ID"] == data.decode()
    check(seen["headers"]["X-Trace-ID"], seen["headers"]["X-Request-ID"], sent)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(header_maps)
def test_django_random_headers_never_raise_or_echo(sent: dict[str, str]) -> None:
    """Any header bytes through the Django middleware: a response with a valid trace ID."""
    msatrace.init(service_name="prop", patch="none", log_format="json", environment="production")
    sent = {k: v for k, v in sent.items() if k != "HTTP_HOST"}  # Django rejects odd hosts (400)

    with (
        override_settings(ROOT_URLCONF=django_app.__name__, MIDDLEWARE=django_app.MIDDLEWARE),
        testing.capture_logs(),
    ):
        response = Client(raise_request_exception=False).get("/orders/1", **sent)
        response.close()

    assert response.status_code == 200
    assert response.json()["trace_id"] == response["X-Trace-ID"]
    check(response["X-Trace-ID"], response["X-Request-ID"], sent)
