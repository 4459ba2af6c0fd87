"""The access line written from known fields is the line the general path writes."""

from __future__ import annotations

import io
from collections.abc import Iterator
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import msatrace
from msatrace._core.logs import access, builder, render
from msatrace._core.trace import context

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"
REQUEST_ID = "0af7651916cd43dd8448eb211c80319c"
ENDED_NS = 1_764_072_000_123_456_789  # 2025-11-25T12:00:00.123Z
# Any text a request can bring, including what JSON must escape and what orjson refuses.
TEXT = st.one_of(st.text(), st.sampled_from(['a"b', "a\\b", "\x00\n\r\x1b", "\u2028", "\ud800"]))


@pytest.fixture
def out(env: pytest.MonkeyPatch) -> Iterator[io.BytesIO]:
    """msatrace initialised for JSON lines into a buffer (the lines' time is ENDED_NS)."""
    msatrace.init(service_name="svc", service_version="1.0.0", patch="none")
    buffer = io.BytesIO()
    # A text stream over the buffer, as sys.stdout is: lines go to its .buffer as bytes.
    previous = builder.set_output(render.Output(stream=io.TextIOWrapper(buffer)))
    token = context._fields.set(MappingProxyType({"request_id": REQUEST_ID}))
    try:
        yield buffer
    finally:
        context._fields.reset(token)
        builder.set_output(previous)


def _write(request_id: str | None, args: tuple[Any, ...]) -> None:
    level, method, route, path, status, duration, client, agent = args
    event = f"{method} {route or path} {status}"
    ids = (TRACE_ID, SPAN_ID)
    access.write_access_line(
        "msatrace.access", level, event, ids, request_id, method, route, path, status, duration,
        client, agent, ENDED_NS,
    )  # fmt: skip


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=300)
@given(
    level=st.sampled_from(["info", "error"]),
    method=TEXT,
    route=st.none() | TEXT,
    path=TEXT,
    status=st.none() | st.integers(0, 999),
    duration=st.floats(min_value=0, max_value=1e12, allow_nan=False),
    client=st.none() | TEXT,
    agent=st.none() | TEXT,
)
def test_known_fields_give_the_general_line(
    out: io.BytesIO,
    level: str,
    method: str,
    route: str | None,
    path: str,
    status: int | None,
    duration: float,
    client: str | None,
    agent: str | None,
) -> None:
    """Byte for byte, with any request text: the request ID passed in, or read from the bound
    fields (the path an application's own bound fields take)."""
    args = (level, method, route, path, status, duration, client, agent)
    start = out.tell()
    _write(REQUEST_ID, args)
    _write(None, args)
    fast, general = out.getvalue()[start:].splitlines()
    assert fast == general
    assert fast.startswith(b'{"timestamp":"2025-11-25T12:00:00.123Z","level":"')


def test_fields_bound_by_the_application_are_on_the_line(out: io.BytesIO) -> None:
    """A field bound during the request goes on its access line (the caller passes no ID)."""
    with context.bound(tenant="acme"):
        _write(None, ("info", "GET", "/a/{id}", "/a/1", 200, 1.5, "10.0.0.1", "curl/8"))
    assert out.getvalue() == (
        b'{"timestamp":"2025-11-25T12:00:00.123Z","level":"info","logger":"msatrace.access",'
        b'"event":"GET /a/{id} 200","service":"svc","environment":"production",'
        b'"version":"1.0.0","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736",'
        b'"span_id":"00f067aa0ba902b7","request_id":"0af7651916cd43dd8448eb211c80319c",'
        b'"tenant":"acme","method":"GET","route":"/a/{id}","path":"/a/1","status":200,'
        b'"duration_ms":1.5,"client_address":"10.0.0.1","user_agent":"curl/8"}\n'
    )
