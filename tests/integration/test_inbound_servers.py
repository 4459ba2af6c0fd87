"""Inbound behaviour on four real servers: FastAPI/uvicorn, Flask/gunicorn, Django on both.

Every test talks HTTP to a server subprocess on 127.0.0.1 and checks what a user would see: the
response headers, the JSON lines the service wrote on its real stdout, and the spans it exported
over OTLP to the test's receiver. Each server starts once (session-scoped `srv` fixture).
Request-order questions ("exactly one access line") are settled with a sentinel request sent on
the same keep-alive connection, never with a sleep.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from msatrace.testing import OTLPReceiver
from tests.integration.inbound import (
    SERVER_ACCESS,
    Kind,
    access_lines,
    new_trace_id,
    server_spans,
    settle,
)
from tests.integration.servers import Server, ServerPool

HEX32 = re.compile(r"^[0-9a-f]{32}$")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
BOOM = "boom from the app"


# --- trace continuation -------------------------------------------------------------------------


def test_traceparent_continues_the_trace(
    srv: Server, client: httpx.Client, otlp_receiver: OTLPReceiver
) -> None:
    """A valid traceparent makes the request's span a child of the caller's span."""
    trace_id, parent = new_trace_id(), uuid.uuid4().hex[:16]

    r = client.get("/items/42", headers={"traceparent": f"00-{trace_id}-{parent}-01"})

    assert r.status_code == 200
    assert r.headers["x-trace-id"] == trace_id
    assert r.json()["trace_id"] == trace_id
    spans = server_spans(otlp_receiver, trace_id, srv.name)
    assert [s.parent_span_id for s in spans] == [parent]


@pytest.mark.parametrize(
    "form", [str.upper, lambda h: str(uuid.UUID(h))], ids=["hex-uppercase", "uuid"]
)
def test_x_trace_id_continues_the_trace(
    srv: Server, client: httpx.Client, form: Callable[[str], str]
) -> None:
    """An X-Trace-ID (32 hex in any case, or a UUID) is continued, normalised to lowercase hex."""
    trace_id = new_trace_id()

    r = client.get("/items/42", headers={"X-Trace-ID": form(trace_id)})

    assert r.headers["x-trace-id"] == trace_id
    assert r.json()["trace_id"] == trace_id


def test_x_trace_id_becomes_the_span_trace(
    srv: Server, client: httpx.Client, otlp_receiver: OTLPReceiver
) -> None:
    """With only X-Trace-ID the exported SERVER span is a root span of that trace."""
    trace_id = new_trace_id()

    client.get("/items/42", headers={"X-Trace-ID": trace_id})

    spans = server_spans(otlp_receiver, trace_id, srv.name)
    assert [s.parent_span_id for s in spans] == [None]


def test_valid_request_id_is_echoed(srv: Server, client: httpx.Client) -> None:
    """A valid incoming X-Request-ID comes back and is the request's request_id."""
    request_id = f"req-{uuid.uuid4().hex[:12]}"

    r = client.get("/items/42", headers={"X-Request-ID": request_id})

    assert r.headers["x-request-id"] == request_id
    assert r.json()["request_id"] == request_id


def test_fresh_ids_without_incoming_headers(srv: Server, client: httpx.Client) -> None:
    """Without trace headers the response carries a fresh valid trace ID and request ID."""
    r = client.get("/items/42")

    assert HEX32.match(r.headers["x-trace-id"])
    assert REQUEST_ID.match(r.headers["x-request-id"])
    assert r.json()["trace_id"] == r.headers["x-trace-id"]
    assert r.json()["request_id"] == r.headers["x-request-id"]


# --- span ---------------------------------------------------------------------------------------


def test_span_is_named_by_route_template(
    srv: Server, kind: Kind, client: httpx.Client, otlp_receiver: OTLPReceiver
) -> None:
    """The SERVER span is named ``GET <route template>``, never the raw path."""
    trace_id = new_trace_id()

    client.get("/items/42", headers={"X-Trace-ID": trace_id})

    (span,) = server_spans(otlp_receiver, trace_id, srv.name)
    assert (span.name, span.attributes.get("http.route")) == (
        f"GET {kind.item_route}",
        kind.item_route,
    )


def test_span_has_http_semconv_attributes(
    srv: Server, client: httpx.Client, otlp_receiver: OTLPReceiver
) -> None:
    """The SERVER span carries the stable HTTP server semantic-convention attributes."""
    trace_id = new_trace_id()

    client.get("/items/42", headers={"X-Trace-ID": trace_id, "User-Agent": "it-agent/1.0"})

    (span,) = server_spans(otlp_receiver, trace_id, srv.name)
    attrs = span.attributes
    assert {k: attrs.get(k) for k in EXPECTED_ATTRIBUTES} == {
        **EXPECTED_ATTRIBUTES,
        "server.port": srv.port,
    }
    assert span.status == "UNSET"


EXPECTED_ATTRIBUTES: dict[str, Any] = {
    "http.request.method": "GET",
    "url.path": "/items/42",
    "url.scheme": "http",
    "http.response.status_code": 200,
    "server.address": "127.0.0.1",
    "server.port": None,  # the server's port, filled in by the test
    "client.address": "127.0.0.1",
    "user_agent.original": "it-agent/1.0",
    "network.protocol.version": "1.1",
}


def test_unmatched_path_never_names_the_span(
    srv: Server, client: httpx.Client, otlp_receiver: OTLPReceiver
) -> None:
    """A 404 for a path no route matches gives a span named by the method alone, not the path."""
    trace_id = new_trace_id()

    r = client.get(f"/no/such/{uuid.uuid4().hex}", headers={"X-Trace-ID": trace_id})

    (span,) = server_spans(otlp_receiver, trace_id, srv.name)
    assert r.status_code == 404
    assert (span.name, span.attributes.get("http.route")) == ("GET", None)
    assert span.status == "UNSET"


def test_unknown_method_is_other(
    srv: Server, client: httpx.Client, otlp_receiver: OTLPReceiver
) -> None:
    """An unknown method is ``_OTHER`` on the span (original kept), and the span is ``HTTP ...``."""
    trace_id = new_trace_id()

    client.request("PURGE", "/items/42", headers={"X-Trace-ID": trace_id})

    (span,) = server_spans(otlp_receiver, trace_id, srv.name)
    assert span.name.split(" ")[0] == "HTTP"
    assert (
        span.attributes.get("http.request.method"),
        span.attributes.get("http.request.method_original"),
    ) == ("_OTHER", "PURGE")


def test_exactly_one_server_span_per_request(
    srv: Server, client: httpx.Client, otlp_receiver: OTLPReceiver
) -> None:
    """A request yields one SERVER span, in its own trace, and no span in another trace.

    (FastAPI >= 0.16x traces itself once a global SDK provider exists; msatrace turns that off.)
    """
    first, second, start_ns = new_trace_id(), new_trace_id(), time.time_ns()

    client.get("/items/42", headers={"X-Trace-ID": first})
    client.get("/items/43", headers={"X-Trace-ID": second})
    server_spans(otlp_receiver, second, srv.name)  # spans are exported in the order they end

    spans = [s for s in otlp_receiver.spans if s.service == srv.name and s.start_ns >= start_ns]
    assert sorted((s.trace_id, s.kind) for s in spans if s.kind == "SERVER") == sorted(
        [(first, "SERVER"), (second, "SERVER")]
    )
    assert {s.trace_id for s in spans} == {first, second}


# --- logs ---------------------------------------------------------------------------------------


def test_one_access_line_per_request(srv: Server, kind: Kind, client: httpx.Client) -> None:
    """A request produces exactly one access line: msatrace's, with the trace fields."""
    trace_id, mark = new_trace_id(), srv.mark()

    r = client.get("/items/42", headers={"X-Trace-ID": trace_id, "User-Agent": "it-agent/1.0"})
    settle(srv, client)

    lines = srv.lines(mark)
    (line,) = access_lines(lines, trace_id)
    assert {k: line.get(k) for k in ACCESS_FIELDS} == {
        "level": "info",
        "method": "GET",
        "path": "/items/42",
        "status": 200,
        "client_address": "127.0.0.1",
        "user_agent": "it-agent/1.0",
        "request_id": r.headers["x-request-id"],
        "route": kind.item_route,
    }
    assert HEX32.match(line["trace_id"])
    assert re.match(r"^[0-9a-f]{16}$", line["span_id"])
    assert isinstance(line["duration_ms"], (int, float))
    assert line["duration_ms"] >= 0


ACCESS_FIELDS = (
    "level",
    "method",
    "path",
    "status",
    "client_address",
    "user_agent",
    "request_id",
    "route",
)


def test_server_access_log_never_doubles_or_loses_the_id(srv: Server, client: httpx.Client) -> None:
    """The server's own access logger (uvicorn/gunicorn) adds no line without the trace ID."""
    trace_id, mark = new_trace_id(), srv.mark()

    client.get("/items/42", headers={"X-Trace-ID": trace_id})
    settle(srv, client)

    records = srv.records(mark)
    server_lines = [
        r.data for r in records if r.data is not None and r.data.get("logger") in SERVER_ACCESS
    ]
    raw_lines = [r.text for r in records if r.data is None and "/items/42" in r.text]
    assert [ln for ln in server_lines if ln.get("trace_id") is None] == []
    assert raw_lines == []
    per_request = [ln for ln in server_lines if ln.get("trace_id") == trace_id]
    assert len(per_request) + len(access_lines(srv.lines(mark), trace_id)) == 1


def test_app_log_lines_carry_the_trace(srv: Server, client: httpx.Client) -> None:
    """A line the application logs inside the request carries its trace and request IDs."""
    trace_id, mark = new_trace_id(), srv.mark()

    r = client.get("/items/42", headers={"X-Trace-ID": trace_id})
    lines = srv.wait_for(lambda ls: any(ln.get("event") == "item" for ln in ls), since=mark)

    (line,) = [ln for ln in lines if ln.get("event") == "item" and ln.get("item_id") == 42]
    assert (line["trace_id"], line["request_id"]) == (trace_id, r.headers["x-request-id"])


def test_excluded_path_is_neither_logged_nor_traced(
    srv: Server, client: httpx.Client, otlp_receiver: OTLPReceiver
) -> None:
    """The health check (excluded by default) writes no access line and exports no span."""
    mark, start_ns, sentinel = srv.mark(), time.time_ns(), new_trace_id()

    r = client.get("/health", headers={"X-Trace-ID": new_trace_id()})
    client.get("/items/0", headers={"X-Trace-ID": sentinel})
    server_spans(otlp_receiver, sentinel, srv.name)
    srv.wait_for(lambda ls: bool(access_lines(ls, sentinel)), since=mark)

    assert r.status_code == 200
    assert [ln for ln in srv.lines(mark) if "/health" in json.dumps(ln)] == []
    spans = [s for s in otlp_receiver.spans if s.service == srv.name and s.start_ns >= start_ns]
    assert [s.attributes.get("url.path") for s in spans] == ["/items/0"]


def test_set_user_reaches_logs_and_span(
    srv: Server, client: httpx.Client, otlp_receiver: OTLPReceiver
) -> None:
    """``msatrace.set_user()`` in a handler puts user_id on its lines and user.id on its span."""
    trace_id, mark = new_trace_id(), srv.mark()

    client.get("/me", headers={"X-Trace-ID": trace_id})
    settle(srv, client)

    (span,) = server_spans(otlp_receiver, trace_id, srv.name)
    who = [ln for ln in srv.lines(mark) if ln.get("event") == "who"]
    assert [(ln["trace_id"], ln.get("user_id")) for ln in who] == [(trace_id, "u-42")]
    assert span.attributes.get("user.id") == "u-42"


# --- errors -------------------------------------------------------------------------------------


def test_500_response_carries_the_trace_id(srv: Server, client: httpx.Client) -> None:
    """The framework's 500 response for an unhandled exception carries X-Trace-ID."""
    trace_id = new_trace_id()

    r = client.get("/boom", headers={"X-Trace-ID": trace_id})

    assert r.status_code == 500
    assert r.headers.get("x-trace-id") == trace_id


def test_unhandled_exception_is_logged_once_with_the_trace(
    srv: Server, client: httpx.Client
) -> None:
    """An unhandled exception is logged exactly once, as one JSON line with the trace ID."""
    trace_id, mark = new_trace_id(), srv.mark()

    client.get("/boom", headers={"X-Trace-ID": trace_id})
    settle(srv, client)

    records = srv.records(mark)
    with_exception = [r.data for r in records if r.data and "exception" in r.data]
    assert [(ln["trace_id"], ln["exception"]["message"]) for ln in with_exception] == [
        (trace_id, BOOM)
    ]
    assert with_exception[0]["level"] == "error"
    assert [r.text for r in records if r.data is None and "Traceback" in r.text] == []


def test_every_line_of_a_failing_request_carries_its_trace(
    srv: Server, client: httpx.Client
) -> None:
    """Every line written about a failing request (including the framework's) has its trace ID."""
    trace_id, mark = new_trace_id(), srv.mark()

    client.get("/boom", headers={"X-Trace-ID": trace_id})
    settle(srv, client)

    about_boom = [
        ln for ln in srv.lines(mark) if "/boom" in json.dumps(ln) or BOOM in json.dumps(ln)
    ]
    assert about_boom, "no line mentions the failing request"
    assert {ln.get("trace_id") for ln in about_boom} == {trace_id}
    (access,) = access_lines(about_boom, trace_id)
    assert (access["status"], access["level"]) == (500, "error")


def test_exception_is_recorded_on_the_span(
    srv: Server, client: httpx.Client, otlp_receiver: OTLPReceiver
) -> None:
    """The SERVER span of a failing request has ERROR status, error.type and status code 500."""
    trace_id = new_trace_id()

    client.get("/boom", headers={"X-Trace-ID": trace_id})

    (span,) = server_spans(otlp_receiver, trace_id, srv.name)
    assert span.status == "ERROR"
    assert span.attributes.get("error.type") == "RuntimeError"
    assert span.attributes.get("http.response.status_code") == 500
    exceptions = [attrs for name, attrs in span.events if name == "exception"]
    assert [(e.get("exception.type"), e.get("exception.message")) for e in exceptions] == [
        ("RuntimeError", BOOM)
    ]


# --- trust --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def untrusting(kind: Kind, servers: ServerPool) -> Iterator[Server]:
    """The same server with ``MSATRACE_TRUST_INCOMING=false`` (an internet-facing service)."""
    server = kind.start(servers, f"it-{kind.id}-untrusting", {"MSATRACE_TRUST_INCOMING": "false"})
    try:
        yield server
    finally:
        server.stop()


def test_untrusted_traceparent_starts_a_fresh_trace_with_a_link(
    untrusting: Server, otlp_receiver: OTLPReceiver
) -> None:
    """With trust_incoming off, a fresh trace starts and the incoming one is a span link."""
    trace_id, parent = new_trace_id(), uuid.uuid4().hex[:16]

    r = httpx.get(
        untrusting.url + "/items/42",
        headers={"traceparent": f"00-{trace_id}-{parent}-01"},
        timeout=30,
    )

    fresh = r.headers["x-trace-id"]
    assert HEX32.match(fresh)
    assert fresh != trace_id
    (span,) = server_spans(otlp_receiver, fresh, untrusting.name)
    assert (span.parent_span_id, span.links) == (None, [(trace_id, parent)])
