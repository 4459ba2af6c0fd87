"""``MSATRACE_ACCESS_LOG=false``: the server's own access line carries the trace, on every server.

docs/logging.md: with msatrace's access line off, the server's access line comes through the
bridge instead. uvicorn writes it while the request is still in progress: for FastAPI/Starlette
inside the middleware, for Django under ASGI in the request's task, where msatrace.django leaves
the trace current after its middleware returned. gunicorn writes it after the request ended,
outside its context: the bridge takes the trace and request IDs from the response headers that
gunicorn's line logs (its ``{x-trace-id}o`` atoms).
"""

from __future__ import annotations

import asyncio
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


def test_django_asgi_with_a_sync_only_middleware_after_ours(servers: ServerPool) -> None:
    """Django then runs the whole chain, ours included, in asgiref's thread: the trace must still
    reach uvicorn's access line, and each of 100 concurrent requests its own."""
    kind = next(k for k in KINDS if k.id == "django-uvicorn")
    for module in kind.modules:
        require(module, importlib.util.find_spec(module) is not None)
    env = {"MSATRACE_ACCESS_LOG": "false", "DJPROJECT_SYNC_MIDDLEWARE": "1"}
    srv = kind.start(servers, "it-django-uvicorn-sync-mw", env)
    sent = {i: new_trace_id() for i in range(1, 101)}
    try:
        mark = srv.mark()

        async def one(client: httpx.AsyncClient, i: int) -> httpx.Response:
            return await client.get(f"/items/{i}", headers={"X-Trace-ID": sent[i]})

        async def all_of_them() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=srv.url, timeout=60) as client:
                return await asyncio.gather(*(one(client, i) for i in sent))

        responses = asyncio.run(all_of_them())
        # Only the /items/ lines: the start-up's last readiness poll (/health) may log after mark.
        lines = srv.wait_for(
            lambda ls: sum(_item_line(ln) for ln in ls) >= len(sent),
            since=mark,
        )
    finally:
        srv.stop()

    assert {r.headers["x-sync-middleware"] for r in responses} == {"1"}  # it ran
    assert [r.headers["x-trace-id"] for r in responses] == list(sent.values())
    access = [ln for ln in lines if ln.get("logger") in SERVER_ACCESS | {"msatrace.access"}]
    assert {ln["logger"] for ln in access} == {"uvicorn.access"}
    items = [ln for ln in access if _item_line(ln)]
    by_path = {int(str(ln["event"]).split("/items/")[1].split()[0]): ln for ln in items}
    assert {i: ln["trace_id"] for i, ln in by_path.items()} == sent
    request_ids = {int(r.url.path.rsplit("/", 1)[1]): r.headers["x-request-id"] for r in responses}
    assert {i: ln["request_id"] for i, ln in by_path.items()} == request_ids


def _item_line(line: dict[str, object]) -> bool:
    return line.get("logger") == "uvicorn.access" and "/items/" in str(line.get("event"))
