"""Hostile trace headers on the real servers: never echoed raw, never logged raw, never fatal.

httpx refuses to send most of these, so each request is written as raw bytes on a socket. A
request the HTTP server itself rejects as malformed (400 before the application runs: bare CR,
NUL, gunicorn's 8190-byte field limit) is fine; a request that reaches the application must
proceed normally with a fresh, valid trace ID and request ID. The marker ``EVIL`` sits in every
hostile value: it must come back in no response and appear in no line msatrace writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from tests.integration.inbound import ACCESS, access_lines, new_trace_id, raw_request, settle
from tests.integration.servers import Server

HEX32 = re.compile(r"^[0-9a-f]{32}$")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Control characters that must never reach the output raw (tab is allowed in text lines).
RAW_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
TRACE = "0af7651916cd43dd8448eb211c80319c"
OTHER = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "b7ad6b7169203331"


@dataclass(frozen=True)
class Case:
    """Header lines to send, whether plain HTTP allows them, and IDs that must not be continued."""

    id: str
    headers: bytes
    legal_http: bool  # False: the server may refuse it with 400 before the application runs
    not_continued: tuple[str, ...] = ()


CASES = [
    Case("nul", b"X-Trace-ID: " + TRACE.encode() + b"\x00EVIL", False, (TRACE,)),
    Case("control-chars", b"X-Trace-ID: \x01\x1b[31mEVIL\x07" + TRACE.encode(), False, (TRACE,)),
    Case("non-ascii", b"X-Trace-ID: \xff\xfeEVIL\xc3\xa9", True),
    Case(
        "non-ascii-traceparent",
        b"traceparent: 00-" + TRACE.encode() + b"-\xc3\xa9EVIL" + SPAN[:8].encode() + b"-01",
        True,
        (TRACE,),
    ),
    Case("bare-cr", b"X-Trace-ID: " + TRACE.encode() + b"\rX-Injected: EVIL", False, (TRACE,)),
    Case("bare-lf-request-id", b"X-Request-ID: abc\nX-Injected: EVIL", False),
    Case("obs-fold", b"X-Trace-ID: " + TRACE.encode() + b"\r\n EVIL", False, (TRACE,)),
    Case("8kb-trace-id", b"X-Trace-ID: EVIL" + b"a" * 9000, False),
    Case("8kb-request-id", b"X-Request-ID: EVIL" + b"b" * 9000, False),
    Case("8kb-traceparent", b"traceparent: 00-" + TRACE.encode() + b"-EVIL" + b"0" * 9000, False),
    Case(
        "duplicate-x-trace-id",
        b"X-Trace-ID: " + TRACE.encode() + b"\r\nX-Trace-ID: " + OTHER.encode(),
        True,
        (TRACE, OTHER),
    ),
    Case(
        "duplicate-traceparent",
        f"traceparent: 00-{TRACE}-{SPAN}-01\r\ntraceparent: 00-{OTHER}-{SPAN}-01".encode(),
        True,
        (TRACE, OTHER),
    ),
    Case("traceparent-garbage", b"traceparent: EVIL-not-a-traceparent", True),
    Case("traceparent-version-ff", f"traceparent: ff-{TRACE}-{SPAN}-01EVIL".encode(), True),
    Case("traceparent-zero-trace", f"traceparent: 00-{'0' * 32}-{SPAN}-01".encode(), True),
    Case(
        "traceparent-uppercase",
        f"traceparent: 00-{TRACE.upper()}-{SPAN}-01".encode(),
        True,
        (TRACE,),
    ),
    Case(
        "traceparent-extra-field-v00",
        f"traceparent: 00-{TRACE}-{SPAN}-01-EVIL".encode(),
        True,
        (TRACE,),
    ),
    Case("x-trace-id-zero", b"X-Trace-ID: " + b"0" * 32, True),
    Case("x-trace-id-short", b"X-Trace-ID: EVIL" + TRACE[:20].encode(), True),
    Case("request-id-markup", b"X-Request-ID: <script>EVIL</script>", True),
]


def request_bytes(case: Case, port: int) -> bytes:
    """A GET /items/7 with the case's header lines, asking the server to close afterwards."""
    return (
        b"GET /items/7 HTTP/1.1\r\nHost: 127.0.0.1:"
        + str(port).encode()
        + b"\r\nUser-Agent: it-raw/1.0\r\nConnection: close\r\n"
        + case.headers
        + b"\r\n\r\n"
    )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_header_is_never_echoed_and_request_proceeds(srv: Server, case: Case) -> None:
    """The response never carries the hostile value; if the app ran, it has fresh valid IDs."""
    status, headers, raw = raw_request(srv.port, request_bytes(case, srv.port))

    assert b"EVIL" not in raw
    assert "x-injected" not in headers
    assert status == 200 or (status in (400, 431) and not case.legal_http), raw[:300]
    if status == 200:
        (trace_id,) = (v.decode() for v in headers["x-trace-id"])
        (request_id,) = (v.decode() for v in headers["x-request-id"])
        assert HEX32.match(trace_id)
        assert trace_id not in case.not_continued
        assert REQUEST_ID.match(request_id)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_header_is_never_logged_raw(srv: Server, case: Case) -> None:
    """No line carries a raw control character, and msatrace's own lines never carry the value."""
    mark = srv.mark()

    status, headers, _ = raw_request(srv.port, request_bytes(case, srv.port))
    if status == 200:
        trace_id = headers["x-trace-id"][0].decode()
        srv.wait_for(lambda ls: bool(access_lines(ls, trace_id)), since=mark)
    settle(srv)

    records = srv.records(mark)
    assert [r.text for r in records if RAW_CONTROL.search(r.text)] == []
    ours = [
        r.text
        for r in records
        if r.data is not None and str(r.data.get("logger", "")).startswith(("msatrace", "app"))
    ]
    assert [t for t in ours if "EVIL" in t] == []
    if status == 200:
        (access,) = [
            r.data
            for r in records
            if r.data and r.data.get("trace_id") == trace_id and r.data.get("logger") == ACCESS
        ]
        assert (access["status"], access["path"]) == (200, "/items/7")


def test_raw_helper_sees_a_normal_request(srv: Server) -> None:
    """The raw-socket helper reads a well-formed request's response like any client would."""
    trace_id = new_trace_id()
    case = Case("valid", f"X-Trace-ID: {trace_id}".encode(), True)

    status, headers, _ = raw_request(srv.port, request_bytes(case, srv.port))

    assert (status, headers["x-trace-id"]) == (200, [trace_id.encode()])
