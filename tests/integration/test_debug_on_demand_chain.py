"""Debug on demand across four processes: FastAPI -> Flask -> Django -> a Celery worker.

The chain of ``test_chain.py`` (``tests/apps/chain``), all at INFO in production, sharing one
``debug_secret``; Django queues a Celery task on a real ``redis-server`` that a real worker runs.
``/debug_chain?label=`` writes one DEBUG line in each process (and the task one in the worker),
then an INFO line. A request signed with ``msatrace.debug_header`` for its own trace has the DEBUG
lines written in all four; an unsigned one sent at the same time, none; a forged, an expired or
a replayed-to-another-trace token turns nothing on.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import msatrace
from msatrace._core.debug import demand
from tests.conftest import need, require
from tests.integration.servers import Server, ServerPool
from tests.integration.test_celery import redis_url  # noqa: F401  # the module's redis fixture

httpx = need("httpx")
need("celery")
need("redis")

SECRET = "chain-debug-secret-for-tests"
HEADER = "X-Msatrace-Debug"
DEBUG_EVENTS = ("api debug", "middle debug", "backend debug", "task debug")


@dataclass(frozen=True)
class Chain:
    api: Server
    middle: Server
    backend: Server
    worker: Server

    @property
    def all(self) -> tuple[Server, Server, Server, Server]:
        return (self.api, self.middle, self.backend, self.worker)


@pytest.fixture(scope="module")
def chain(servers: ServerPool, redis_url: str) -> Iterator[Chain]:  # noqa: F811  # the fixture
    """The three web services and the worker, each with the same debug secret."""
    for module in ("fastapi", "flask", "django", "uvicorn", "gunicorn"):
        require(module, _importable(module))
    env = {"MSATRACE_DEBUG_SECRET": SECRET, "CELERY_APP_BROKER": redis_url}
    argv = [
        sys.executable, "-m", "celery", "-A", "celery_app", "--quiet", "worker",
        "--pool=threads", "-c", "4", "--loglevel=INFO",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", "debug@%h",
    ]  # fmt: skip
    worker = Server(argv, name="debug-worker", env=servers.env("debug-worker", env)).start()
    try:
        worker.wait_for(lambda ls: any("ready." in str(ln.get("event")) for ln in ls), timeout=60)
        backend = servers.gunicorn("chain.backend:application", name="debug-backend", env=env)
        middle = servers.gunicorn(
            "chain.middle:app", name="debug-middle", env={**env, "CHAIN_NEXT_URL": backend.url}
        )
        api = servers.uvicorn(
            "chain.api:app", name="debug-api", env={**env, "CHAIN_NEXT_URL": middle.url}
        )
        yield Chain(api, middle, backend, worker)
    finally:
        worker.stop()


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _send(chain: Chain, calls: dict[str, dict[str, str]]) -> dict[str, list[dict[str, Any]]]:
    """Send one request per label (with its headers) at once; each label's lines, from all four
    processes, once the worker has run its task."""
    marks = [srv.mark() for srv in chain.all]

    async def run() -> None:
        async with httpx.AsyncClient(base_url=chain.api.url, timeout=60) as client:
            responses = await asyncio.gather(
                *(
                    client.get("/debug_chain", params={"label": label}, headers=headers)
                    for label, headers in calls.items()
                )
            )
        assert [r.status_code for r in responses] == [200] * len(calls)

    asyncio.run(run())
    chain.worker.wait_for(
        lambda ls: (
            set(calls) <= {ln.get("label") for ln in ls if ln.get("event") == "debug task ran"}
        ),
        since=marks[3],
        timeout=60,
    )
    out: dict[str, list[dict[str, Any]]] = {label: [] for label in calls}
    for srv, mark in zip(chain.all, marks, strict=True):
        srv.wait_for(
            lambda ls: (
                set(calls) <= {ln.get("label") for ln in ls if "debug" in str(ln.get("event"))}
            ),
            since=mark,
        )
        for line in srv.lines(mark):
            if line.get("label") in out:
                out[line["label"]].append(line)
    return out


def _debug_events(lines: list[dict[str, Any]]) -> list[str]:
    return sorted(ln["event"] for ln in lines if ln["level"] == "debug")


def _signed(trace_id: str, token: str) -> dict[str, str]:
    return {"traceparent": f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01", HEADER: token}


def test_a_signed_request_logs_debug_in_all_four_processes(chain: Chain) -> None:
    """The signed request's DEBUG lines are in every process; the concurrent unsigned one's not."""
    trace_id = uuid.uuid4().hex
    headers = _signed(trace_id, msatrace.debug_header(SECRET, trace_id, ttl=120))

    lines = _send(chain, {"signed": headers, "unsigned": {}})

    assert _debug_events(lines["signed"]) == sorted(DEBUG_EVENTS)
    assert {ln["trace_id"] for ln in lines["signed"]} == {trace_id}
    assert _debug_events(lines["unsigned"]) == []


def _expired(trace_id: str) -> str:
    expiry = int(time.time()) - 1
    return f"v1.{expiry}.{demand._signature(SECRET.encode(), trace_id, expiry)}"


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda t: msatrace.debug_header("not-the-shared-secret", t, 120), id="forged"),
        pytest.param(_expired, id="expired"),
        pytest.param(
            lambda t: msatrace.debug_header(SECRET, uuid.uuid4().hex, 120), id="other-trace"
        ),
    ],
)
def test_an_invalid_token_turns_nothing_on(chain: Chain, token: Any) -> None:
    """A forged, expired or replayed-to-another-trace token leaves every process at INFO."""
    trace_id = uuid.uuid4().hex

    lines = _send(chain, {"bad": _signed(trace_id, token(trace_id))})

    assert _debug_events(lines["bad"]) == []
    assert {ln["event"] for ln in lines["bad"]} >= {"debug chain", "debug task ran"}
