"""The access line is the line the general event builder writes from the same fields."""

from __future__ import annotations

import decimal
import io
from collections.abc import Iterator
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

import msatrace
from msatrace._core.logs import access, builder, render
from msatrace._core.trace import context

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"
REQUEST_ID = "0af7651916cd43dd8448eb211c80319c"
ENDED_NS = 1_764_072_000_123_456_789  # 2025-11-25T12:00:00.123Z
# Any text a request can bring, including what JSON must escape and what orjson refuses.
TEXT = st.one_of(
    st.text(),
    st.sampled_from(['a"b', "a\\b", "\x00\n\r\x1b", "\x7f\x85\x9b", "\u2028", "\ud800", "é漢🙂"]),
)
# Values of any type a caller could pass by mistake: both paths must still agree on them.
ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # beyond 64 bits too, which orjson refuses
    st.floats(),  # nan and infinities included
    st.binary(max_size=8),
    st.decimals(allow_nan=False),
    st.tuples(TEXT, st.integers()),
    st.dictionaries(st.integers() | TEXT, st.none() | TEXT, max_size=3),
    st.builds(object),
)
ANY = TEXT | ODD
FIELDS = ("method", "route", "path", "status", "duration_ms", "client_address", "user_agent")


@pytest.fixture(params=["json", "console"])
def out(request: pytest.FixtureRequest, env: pytest.MonkeyPatch) -> Iterator[io.BytesIO]:
    """msatrace initialised in each format, lines into a buffer, the request's ID bound."""
    msatrace.init(
        service_name="svc", service_version="1.0.0", patch="none", log_format=request.param
    )
    buffer = io.BytesIO()
    # A text stream over the buffer, as sys.stdout is: lines go to its .buffer as bytes.
    previous = builder.set_output(render.Output(stream=io.TextIOWrapper(buffer)))
    token = context._fields.set(MappingProxyType({"request_id": REQUEST_ID}))
    try:
        yield buffer
    finally:
        context._fields.reset(token)
        builder.set_output(previous)


def _fields(args: dict[str, Any]) -> dict[str, Any]:
    return {key: args[key] for key in FIELDS}


def _general_line(level: str, event: Any, args: dict[str, Any], traced: bool) -> None:
    """The line a user event with these fields gets: builder.write in the request's span."""
    sc = SpanContext(int(TRACE_ID, 16), int(SPAN_ID, 16), False, TraceFlags(1))
    span = NonRecordingSpan(sc) if traced else trace.INVALID_SPAN
    with trace.use_span(span):
        builder.write("msatrace.access", level, {"event": event, **_fields(args)}, ENDED_NS / 1e9)


def _access_line(level: str, event: Any, args: dict[str, Any], traced: bool) -> None:
    access.write(
        logger="msatrace.access",
        level=level,
        event=event,
        ids=(TRACE_ID, SPAN_ID) if traced else None,
        time_ns=ENDED_NS,
        **_fields(args),
    )


def _not_built(*args: object) -> dict[str, Any]:
    raise AssertionError("the access line took the general path")


# Names a request's bound fields may have: msatrace's request_id, the access line's own field
# names (which the line's values then replace in place), anything else but the schema's names.
BOUND_NAMES = st.one_of(
    st.sampled_from(["request_id", "tenant", *FIELDS]),
    st.text(max_size=8).filter(lambda name: name not in builder.SCHEMA),
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=300)
@given(
    level=st.sampled_from(["info", "error"]),
    event=TEXT,
    traced=st.booleans(),
    bound=st.dictionaries(BOUND_NAMES, ANY, max_size=4),
    args=st.fixed_dictionaries(dict.fromkeys(FIELDS, ANY)),
)
def test_the_shortcut_writes_the_general_builders_bytes(
    out: io.BytesIO,
    monkeypatch: pytest.MonkeyPatch,
    level: str,
    event: str,
    traced: bool,
    bound: dict[str, Any],
    args: dict[str, Any],
) -> None:
    """Byte for byte, in JSON and console, for any field values and any bound fields."""
    token = context._fields.set(MappingProxyType(bound))
    start = out.tell()
    try:
        _general_line(level, event, args, traced)
        with monkeypatch.context() as patch:
            patch.setattr(builder, "build", _not_built)  # the shortcut builds its own dict
            _access_line(level, event, args, traced)
    finally:
        context._fields.reset(token)

    general, shortcut = _two(out, start)
    assert shortcut == general


def _two(out: io.BytesIO, start: int) -> tuple[bytes, bytes]:
    """The two lines written since ``start`` (a console line may carry escaped breaks only)."""
    written = out.getvalue()[start:]
    first, second, rest = written.split(b"\n", 2)
    assert rest == b""
    return first, second


def _write(request_id: str | None, args: tuple[Any, ...]) -> None:
    level, method, route, path, status, duration, client, agent = args
    event = f"{method} {route or path} {status}"
    ids = (TRACE_ID, SPAN_ID)
    access.write_access_line(
        "msatrace.access", level, event, ids, request_id, method, route, path, status, duration,
        client, agent, ENDED_NS,
    )  # fmt: skip


@pytest.mark.parametrize("out", ["json"], indirect=True)
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


@pytest.mark.parametrize("out", ["json"], indirect=True)
def test_bound_fields_named_like_the_schema_do_not_replace_it(out: io.BytesIO) -> None:
    """A bound ``service`` or ``trace_id`` is kept as ``service_``, as on every other line."""
    with context.bound(service="spoofed", trace_id="x"):
        _write(None, ("info", "GET", None, "/", 200, 1.0, None, None))
    line = out.getvalue()
    assert b'"service":"svc",' in line
    assert b'"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736",' in line
    assert b'"service_":"spoofed","trace_id_":"x","method":"GET"' in line


@pytest.mark.parametrize("out", ["json"], indirect=True)
def test_the_keyword_entry_and_the_positional_one_write_the_same_line(out: io.BytesIO) -> None:
    """``write_access_line`` (by position) is ``access.write`` (by keyword)."""
    args = {
        "method": "GET",
        "route": "/a/{id}",
        "path": "/a/1",
        "status": 503,
        "duration_ms": 2.25,
        "client_address": "10.0.0.1",
        "user_agent": decimal.Decimal("1.5"),
    }
    _access_line("error", "GET /a/{id} 503", args, traced=True)
    _write(REQUEST_ID, ("error", *args.values()))

    first, second = _two(out, 0)
    assert first == second
    assert b'"level":"error"' in first
