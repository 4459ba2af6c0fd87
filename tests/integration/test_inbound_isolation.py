"""Isolation under concurrency: 500 requests in flight together never see each other's trace.

Each request goes to a handler that binds its own ``marker``, logs, yields, logs again, several
times: a sync handler (``time.sleep``: gunicorn's threads, FastAPI's thread pool, Django's sync
views under ASGI) and an async one (``await asyncio.sleep``: FastAPI, and Flask's and Django's
async views, which run through asgiref). Every log line is then checked against the request it
names by its marker, and every response against the request that sent it: zero bleed.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.integration.inbound import ACCESS, Kind, new_trace_id
from tests.integration.servers import Server

N = 500
CONNECTIONS = 32  # in flight at once: gunicorn runs 16 threads, the rest wait in its queue
STEPS = 3  # "step" lines per request, then one "done" line
HEX32 = re.compile(r"^[0-9a-f]{32}$")


def fire(srv: Server, path: str, headers: Callable[[int], dict[str, str]]) -> list[httpx.Response]:
    """Send ``N`` requests concurrently (``CONNECTIONS`` at a time); request ``i`` has marker mi."""

    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
        async with httpx.AsyncClient(base_url=srv.url, limits=limits, timeout=120) as client:
            return await asyncio.gather(
                *(
                    client.get(path, params={"marker": f"m{i}", "steps": STEPS}, headers=headers(i))
                    for i in range(N)
                )
            )

    return asyncio.run(run())


def marked_lines(srv: Server, since: int, responses: list[httpx.Response]) -> list[dict[str, Any]]:
    """Wait for every request's "done" line and access line; return all lines since ``since``."""
    ids = {r.headers["x-trace-id"] for r in responses}

    def complete(lines: list[dict[str, Any]]) -> bool:
        done = sum(1 for ln in lines if ln.get("event") == "done" and "marker" in ln)
        access = sum(1 for ln in lines if ln.get("logger") == ACCESS and ln["trace_id"] in ids)
        return done >= N and access >= N

    return srv.wait_for(complete, since=since, timeout=120)


def check_lines(lines: list[dict[str, Any]], owner: dict[str, httpx.Response]) -> None:
    """Every line with a marker carries exactly the IDs of the response of that marker."""
    app_lines = [ln for ln in lines if "marker" in ln and ln.get("logger") != ACCESS]
    wrong = [
        ln
        for ln in app_lines
        if (ln["trace_id"], ln["request_id"])
        != (owner[ln["marker"]].headers["x-trace-id"], owner[ln["marker"]].headers["x-request-id"])
    ]
    assert wrong == []
    assert Counter(ln["marker"] for ln in app_lines) == dict.fromkeys(owner, STEPS + 1)
    ids = {r.headers["x-trace-id"]: r.headers["x-request-id"] for r in owner.values()}
    access = [ln for ln in lines if ln.get("logger") == ACCESS and ln["trace_id"] in ids]
    assert sorted((ln["trace_id"], ln["request_id"]) for ln in access) == sorted(ids.items())


@pytest.mark.parametrize("handler", [0, 1], ids=["sync-handler", "async-handler"])
def test_incoming_trace_ids_never_bleed(srv: Server, kind: Kind, handler: int) -> None:
    """500 concurrent requests, each with its own X-Trace-ID, each see and answer only their own."""
    sent = {f"m{i}": new_trace_id() for i in range(N)}
    mark = srv.mark()

    responses = fire(srv, kind.work_paths[handler], lambda i: {"X-Trace-ID": sent[f"m{i}"]})
    lines = marked_lines(srv, mark, responses)

    owner = {r.json()["marker"]: r for r in responses}
    assert [r.status_code for r in responses] == [200] * N
    assert {m: r.headers["x-trace-id"] for m, r in owner.items()} == sent
    assert {m: r.json()["trace_id"] for m, r in owner.items()} == sent
    check_lines(lines, owner)


def test_fresh_trace_ids_are_distinct(srv: Server, kind: Kind) -> None:
    """500 concurrent requests without trace headers get 500 distinct IDs, each kept to its own."""
    mark = srv.mark()

    responses = fire(srv, kind.work_paths[0], lambda i: {})
    lines = marked_lines(srv, mark, responses)

    owner = {r.json()["marker"]: r for r in responses}
    ids = [r.headers["x-trace-id"] for r in responses]
    assert len(set(ids)) == N
    assert all(HEX32.match(i) for i in ids)
    assert {m: r.json()["trace_id"] for m, r in owner.items()} == {
        m: r.headers["x-trace-id"] for m, r in owner.items()
    }
    check_lines(lines, owner)
