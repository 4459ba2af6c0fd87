"""Streamed responses on the real servers: the request's trace covers the body to its last chunk.

The ``/stream`` handlers return a generator that logs before each chunk and once after the last.
On WSGI servers that generator runs after the view has returned, driven by gunicorn; on ASGI
servers it runs while the server sends the body. Its log lines must still carry the request's
trace, and the access line and span must end after the body did.
"""

from __future__ import annotations

import calendar
import time

import httpx

from msatrace.testing import OTLPReceiver
from tests.integration.inbound import access_lines, new_trace_id, server_spans
from tests.integration.servers import Server

CHUNKS = 3


def stream(srv: Server, client: httpx.Client, trace_id: str) -> str:
    """GET /stream with ``trace_id``; wait for its access line; return the body."""
    mark = srv.mark()
    r = client.get("/stream", params={"chunks": CHUNKS}, headers={"X-Trace-ID": trace_id})
    srv.wait_for(lambda ls: bool(access_lines(ls, trace_id)), since=mark)
    return r.text


def epoch_ns(timestamp: str) -> int:
    """A log line's RFC 3339 UTC timestamp (milliseconds, truncated) as nanoseconds."""
    seconds, _, millis = timestamp.rstrip("Z").partition(".")
    whole = calendar.timegm(time.strptime(seconds, "%Y-%m-%dT%H:%M:%S"))
    return whole * 1_000_000_000 + int(millis) * 1_000_000


def test_generator_body_logs_carry_the_trace(srv: Server, client: httpx.Client) -> None:
    """Lines logged while the body is generated carry the request's trace ID."""
    trace_id, mark = new_trace_id(), srv.mark()

    body = stream(srv, client, trace_id)

    events = [ln for ln in srv.lines(mark) if ln.get("event") in ("chunk", "stream end")]
    assert body == "".join(f"chunk {i}\n" for i in range(CHUNKS))
    assert [(ln["event"], ln["trace_id"]) for ln in events] == [
        *[("chunk", trace_id)] * CHUNKS,
        ("stream end", trace_id),
    ]


def test_access_line_follows_the_last_chunk(srv: Server, client: httpx.Client) -> None:
    """The access line is written after the generator's last line, not when the view returns."""
    trace_id, mark = new_trace_id(), srv.mark()

    stream(srv, client, trace_id)

    order = [
        ln.get("event") if ln.get("logger") != "msatrace.access" else "access"
        for ln in srv.lines(mark)
        if ln.get("trace_id") == trace_id
    ]
    assert order[-2:] == ["stream end", "access"]


def test_span_ends_after_the_body(
    srv: Server, client: httpx.Client, otlp_receiver: OTLPReceiver
) -> None:
    """The SERVER span ends no earlier than the generator's last log line."""
    trace_id, mark = new_trace_id(), srv.mark()

    stream(srv, client, trace_id)

    (span,) = server_spans(otlp_receiver, trace_id, srv.name)
    (end,) = [ln for ln in srv.lines(mark) if ln.get("event") == "stream end"]
    assert span.end_ns >= epoch_ns(end["timestamp"])
    assert span.attributes.get("http.response.status_code") == 200
