"""Debug on error on the four real servers: a failed request's DEBUG lines, and only its own.

The servers run in production (the suite's default), where ``debug_on_error`` is on and the level
is INFO. ``/debug_work?marker=&fail=`` logs DEBUG lines (structlog, the standard library, and a
thread or asyncio task it starts), each with the field ``m`` (its marker, given in the call, not
bound: so it names the request independently of the context the line was written in), then
answers 200 (``fail=no``), raises (``fail=raise``) or answers 500 (``fail=status``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from typing import Any

import httpx
import pytest

from tests.integration.inbound import ACCESS, new_trace_id
from tests.integration.servers import Server

STEPS = 3
# Per request: STEPS structlog and STEPS stdlib lines, one from a thread (or asyncio task).
DEBUG_LINES = 2 * STEPS + 1
N = 500
CONNECTIONS = 32
FAILS = ("no", "raise", "status")


def _get(srv: Server, fail: str) -> tuple[str, list[dict[str, Any]]]:
    """One request with its own request ID; its lines, once its access line has arrived."""
    marker, request_id = uuid.uuid4().hex[:12], f"req-{uuid.uuid4().hex}"
    mark = srv.mark()

    httpx.get(
        srv.url + "/debug_work",
        params={"marker": marker, "fail": fail, "steps": STEPS},
        headers={"X-Request-ID": request_id, "X-Trace-ID": new_trace_id()},
        timeout=30,
    )

    lines = srv.wait_for(
        lambda ls: any(
            ln.get("logger") == ACCESS and ln.get("request_id") == request_id for ln in ls
        ),
        since=mark,
    )
    return marker, [ln for ln in lines if ln.get("request_id") == request_id]


def _first_error(lines: list[dict[str, Any]]) -> int:
    return next(i for i, ln in enumerate(lines) if ln["level"] in ("error", "critical"))


@pytest.mark.parametrize("fail", ["raise", "status"])
def test_a_failed_request_writes_its_debug_lines_before_its_error_line(
    srv: Server, fail: str
) -> None:
    """Every DEBUG line of a failed request is on stdout, marked buffered, before its error."""
    marker, lines = _get(srv, fail)

    debug = [i for i, ln in enumerate(lines) if ln["level"] == "debug"]
    assert len(debug) == DEBUG_LINES, lines
    assert all(lines[i]["buffered"] is True and lines[i]["m"] == marker for i in debug)
    assert max(debug) < _first_error(lines), lines
    (block,) = [ln for ln in lines if "buffered_lines" in ln]
    assert (block["buffered_lines"], block["buffered_dropped"]) == (DEBUG_LINES, 0)


def test_a_successful_request_writes_no_debug_line(srv: Server) -> None:
    """A request answered 200 leaves no DEBUG and no buffered line on stdout."""
    _, lines = _get(srv, "no")

    assert [ln for ln in lines if ln["level"] == "debug" or "buffered" in ln] == []
    assert [ln["event"] for ln in lines][-1].endswith(" 200")


def test_concurrent_requests_never_get_each_others_buffered_lines(srv: Server) -> None:
    """500 mixed requests at once: each buffered line is its own request's, line by line."""
    fails = {f"m{i}": FAILS[i % 3] for i in range(N)}
    mark = srv.mark()

    async def run() -> None:
        limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
        async with httpx.AsyncClient(base_url=srv.url, limits=limits, timeout=120) as client:
            await asyncio.gather(
                *(
                    client.get(
                        "/debug_work",
                        params={"marker": m, "fail": fail, "steps": STEPS},
                        # uvicorn closes a connection after an unhandled exception: one
                        # connection per request, so that no request is sent on a dying one.
                        headers={"X-Request-ID": f"req-{m}", "Connection": "close"},
                    )
                    for m, fail in fails.items()
                )
            )

    asyncio.run(run())
    wanted = {f"req-{m}" for m in fails}
    lines = srv.wait_for(
        lambda ls: len({ln["request_id"] for ln in ls if ln.get("logger") == ACCESS} & wanted) == N,
        since=mark,
        timeout=180,
    )

    marked = [ln for ln in lines if "m" in ln]
    assert [ln for ln in marked if ln["request_id"] != f"req-{ln['m']}"] == []
    per_request: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for ln in marked:
        per_request[ln["m"]].append(ln)
    for m, fail in fails.items():
        debug = [ln for ln in per_request[m] if ln["level"] == "debug"]
        assert len(debug) == (0 if fail == "no" else DEBUG_LINES), (m, fail, per_request[m])
        assert all(ln.get("buffered") is True for ln in debug)
