"""Random header bytes through the ASGI middleware, in process: never a raise, never an echo."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

import msatrace
import msatrace.starlette
from msatrace import testing

TRACE_ID = re.compile(rb"[0-9a-f]{32}")
REQUEST_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")
NAMES = [b"traceparent", b"tracestate", b"x-trace-id", b"x-request-id", b"baggage", b"host"]
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
)
header_lists = st.lists(
    st.tuples(st.one_of(st.sampled_from(NAMES), st.binary(max_size=20)), value), max_size=8
)


async def hello(request: Request) -> Response:
    return PlainTextResponse(msatrace.current_trace_id() or "")


APP = msatrace.starlette.instrument(Starlette(routes=[Route("/", hello)]))


def run(headers: list[tuple[bytes, bytes]]) -> tuple[dict[str, Any], bytes]:
    messages: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    asyncio.run(APP(scope, receive, send))
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return start, body


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(header_lists)
def test_random_headers_never_raise_or_echo(headers: list[tuple[bytes, bytes]]) -> None:
    """Any header bytes: a 200 whose X-Trace-ID is 32 lowercase hex and no raw input is echoed."""
    msatrace.init(service_name="prop", patch="none", log_format="json", environment="production")

    with testing.capture_logs():
        start, body = run(headers)

    ours = {k: v for k, v in start["headers"] if k in (b"x-trace-id", b"x-request-id")}
    assert start["status"] == 200
    assert TRACE_ID.fullmatch(ours[b"x-trace-id"])
    assert ours[b"x-trace-id"] == body
    assert REQUEST_ID.fullmatch(ours[b"x-request-id"])
    incoming_ids = [v.strip(b" \t") for n, v in headers if n == b"x-request-id"]
    if ours[b"x-request-id"] in incoming_ids:  # echoed only when it arrived once, and valid
        assert incoming_ids == [ours[b"x-request-id"]]
