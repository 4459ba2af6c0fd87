"""A WebSocket on real uvicorn (FastAPI): the connection is one traced request.

The handshake continues the client's trace (``X-Trace-ID`` here), answers with ``X-Trace-ID`` and
``X-Request-ID``, makes the trace current for the handler's logs, and exports one SERVER span for
the whole connection. Needs the ``websockets`` client library (uvicorn's WebSocket support).
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator

import pytest

from msatrace.testing import OTLPReceiver
from tests.conftest import require
from tests.integration.inbound import new_trace_id, server_spans
from tests.integration.servers import Server, ServerPool


@pytest.fixture(scope="module")
def api(servers: ServerPool) -> Iterator[Server]:
    """The FastAPI test app on uvicorn, able to serve WebSockets."""
    for module in ("fastapi", "uvicorn", "websockets"):
        require(module, importlib.util.find_spec(module) is not None)
    server = servers.uvicorn("fastapi_app:app", name="it-websocket")
    try:
        yield server
    finally:
        server.stop()


def talk(api: Server, trace_id: str) -> tuple[dict[str, str], dict[str, object]]:
    """Open /ws/lobby with ``trace_id``, send one message; return handshake headers and reply."""
    from websockets.sync.client import connect

    url = api.url.replace("http://", "ws://") + "/ws/lobby"
    with connect(url, additional_headers={"X-Trace-ID": trace_id}, open_timeout=30) as ws:
        ws.send("hello")
        reply = json.loads(ws.recv(timeout=30))
        headers = {k.lower(): v for k, v in ws.response.headers.raw_items()}
    return headers, reply


def test_handshake_answers_with_the_trace(api: Server) -> None:
    """The 101 handshake carries X-Trace-ID (the client's) and a valid X-Request-ID."""
    trace_id = new_trace_id()

    headers, reply = talk(api, trace_id)

    assert headers["x-trace-id"] == trace_id
    assert reply["trace_id"] == trace_id
    assert reply["request_id"] == headers["x-request-id"]


def test_handler_logs_carry_the_trace(api: Server) -> None:
    """A line logged by the WebSocket handler carries the connection's trace ID."""
    trace_id, mark = new_trace_id(), api.mark()

    talk(api, trace_id)
    lines = api.wait_for(lambda ls: any(ln.get("event") == "ws message" for ln in ls), since=mark)

    (line,) = [ln for ln in lines if ln.get("event") == "ws message"]
    assert (line["trace_id"], line["text"]) == (trace_id, "hello")


def test_connection_is_one_server_span(api: Server, otlp_receiver: OTLPReceiver) -> None:
    """The whole connection is exported as one SERVER span of the client's trace."""
    trace_id = new_trace_id()

    talk(api, trace_id)

    (span,) = server_spans(otlp_receiver, trace_id, api.name)
    assert span.attributes.get("http.route") == "/ws/{room}"
    assert span.attributes.get("url.path") == "/ws/lobby"
