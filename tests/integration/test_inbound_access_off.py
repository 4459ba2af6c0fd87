"""``MSATRACE_ACCESS_LOG=false``: the server's own access line carries the trace, on every server.

docs/logging.md: with msatrace's access line off, the server's access line comes through the
bridge instead. uvicorn writes it while the request is still in progress: for FastAPI/Starlette
inside the middleware, for Django under ASGI in the request's task, where msatrace.django leaves
the trace current after its middleware returned. gunicorn writes it after the request ended,
outside its context: the bridge takes the trace and request IDs from the response headers that
gunicorn's line logs (its ``{x-trace-id}o`` atoms).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import require
from tests.integration.inbound import KINDS, SERVER_ACCESS, Kind, new_trace_id
from tests.integration.servers import Server, ServerPool


@pytest.fixture(scope="module", params=KINDS, ids=[k.id for k in KINDS])
def quiet(request: pytest.FixtureRequest, servers: ServerPool) -> Iterator[tuple[Kind, Server]]:
    """The four servers with msatrace's own access line switched off."""
    kind: Kind = request.param
    for module in kind.modules:
        require(module, importlib.util.find_spec(module) is not None)
    server = kind.start(servers, f"it-{kind.id}-no-access", {"MSATRACE_ACCESS_LOG": "false"})
    try:
        yield kind, server
    finally:
        server.stop()


def test_server_access_line_carries_the_trace(quiet: tuple[Kind, Server]) -> None:
    """Each request has exactly one access line, the server's, with the request's trace ID."""
    kind, srv = quiet
    server_logger = "uvicorn.access" if "uvicorn" in kind.modules else "gunicorn.access"
    trace_id, sentinel, mark = new_trace_id(), new_trace_id(), srv.mark()

    with httpx.Client(base_url=srv.url, timeout=30) as client:
        response = client.get("/items/42", headers={"X-Trace-ID": trace_id})
        client.get("/items/0", headers={"X-Trace-ID": sentinel})
    lines = srv.wait_for(
        lambda ls: any("/items/0" in str(ln.get("event")) for ln in ls), since=mark
    )

    access = [ln for ln in lines if ln.get("logger") in SERVER_ACCESS | {"msatrace.access"}]
    mine = [ln for ln in access if "/items/42" in str(ln.get("event"))]
    assert [(ln["logger"], ln["trace_id"]) for ln in mine] == [(server_logger, trace_id)]
    assert mine[0]["request_id"] == response.headers["x-request-id"]
