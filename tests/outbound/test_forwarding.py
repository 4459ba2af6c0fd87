"""A service forwards the trace it received (tracestate, baggage) on its own outgoing calls.

The service is a real WSGI server (wsgiref, in a thread) behind ``msatrace.wsgi.TraceMiddleware``;
on each request it calls the echo server with requests and with httpx.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest
import requests

import msatrace
import msatrace.wsgi
from tests.outbound.conftest import EchoServer
from tests.outbound.helpers import traceparent_ids

INCOMING_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING = f"00-{INCOMING_TRACE}-00f067aa0ba902b7-01"


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: part of the test harness."""


@pytest.fixture
def service(echo: EchoServer) -> Iterator[str]:
    """A traced WSGI service whose /call calls the echo server once with each client."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        requests.get(echo.url + "/echo", timeout=10)
        httpx.get(echo.url + "/echo")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    server: WSGIServer = make_server(
        "127.0.0.1", 0, msatrace.wsgi.TraceMiddleware(app), handler_class=_Quiet
    )
    # shutdown() waits for serve_forever's next poll: a short interval keeps each test short.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_tracestate_and_baggage_are_forwarded(
    env: pytest.MonkeyPatch, echo: EchoServer, service: str
) -> None:
    """tracestate and baggage received by a service go out on its requests and httpx calls."""
    msatrace.init(propagators="tracecontext,baggage", log_format="json", access_log=False)
    sent = {
        "traceparent": INCOMING,
        "tracestate": "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
        "baggage": "tenant=acme,region=eu-1",
    }

    with httpx.Client() as client:
        client.get(service + "/call", headers=sent)

    assert len(echo.received) == 2
    for received in echo.received:
        assert traceparent_ids(received.get("traceparent"))[0] == INCOMING_TRACE
        assert received.get("tracestate") == sent["tracestate"]
        assert received.get("baggage") == sent["baggage"]


def test_request_id_received_is_forwarded(
    env: pytest.MonkeyPatch, echo: EchoServer, service: str
) -> None:
    """The X-Request-ID a service received goes out on its outgoing calls."""
    msatrace.init(log_format="json", access_log=False)

    with httpx.Client() as client:
        client.get(service + "/call", headers={"traceparent": INCOMING, "X-Request-ID": "rq-7"})

    assert [r.get("x-request-id") for r in echo.received] == ["rq-7", "rq-7"]


TENANT_KEY = "t" * 200 + "@" + "s" * 55  # 256 characters, split as the old grammar forbade


@pytest.mark.parametrize(
    ("received", "forwarded"),
    [
        # keys by the current W3C grammar: a digit first, any tenant@system split, several "@"
        (f"1vendor=a,{TENANT_KEY}=b,x@y@z=c", f"1vendor=a,{TENANT_KEY}=b,x@y@z=c"),
        # empty members and optional whitespace
        (",rojo=1 ,\t, congo=2,", "rojo=1,congo=2"),
        # a duplicated key: the first member is kept, the others are discarded
        ("rojo=1,congo=2,rojo=3", "rojo=1,congo=2"),
        # an invalid tracestate is dropped; the traceparent it came with is still continued
        ("Rojo=1", None),
        (",".join(f"k{i}=v" for i in range(33)), None),
    ],
    ids=["current-grammar", "empty-members", "duplicate-key", "invalid", "33-members"],
)
def test_tracestate_by_the_current_w3c_grammar_is_forwarded(
    env: pytest.MonkeyPatch,
    echo: EchoServer,
    service: str,
    received: str,
    forwarded: str | None,
) -> None:
    """A service forwards the tracestate it received, parsed by the current W3C grammar."""
    msatrace.init(log_format="json", access_log=False)

    with httpx.Client() as client:
        client.get(service + "/call", headers={"traceparent": INCOMING, "tracestate": received})

    assert len(echo.received) == 2
    for request in echo.received:
        assert traceparent_ids(request.get("traceparent"))[0] == INCOMING_TRACE
        assert request.get("tracestate") == forwarded
