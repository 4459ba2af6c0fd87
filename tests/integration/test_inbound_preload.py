"""gunicorn ``--preload`` with several workers: every worker exports its own spans, no hook needed.

The application (and ``msatrace.init()``) runs once in the gunicorn master; workers are forked
from it. Nothing in the gunicorn configuration helps (no ``post_fork`` hook, no config file at
all), yet spans served by each worker must reach the OTLP receiver. The ``/pid`` handler puts the
serving process's pid on its span (``test.pid``), so the receiver can tell workers apart.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from msatrace.testing import OTLPReceiver, ReceivedSpan
from tests.conftest import require
from tests.integration.servers import Server, ServerPool

WORKERS = 3
ROUNDS = 10  # concurrent bursts at most: enough for the kernel to wake more than one worker
BURST = 2 * WORKERS  # requests in flight together; each sleeps so one worker cannot take them all
APPS = {
    "flask": ("flask_app:app", {}),
    "django": ("djproject.wsgi:application", {"DJANGO_SETTINGS_MODULE": "djproject.settings"}),
}


@pytest.fixture(scope="module", params=sorted(APPS))
def preloaded(request: pytest.FixtureRequest, servers: ServerPool) -> Iterator[Server]:
    """gunicorn --preload --workers 3 (sync workers), started with no configuration file."""
    require(request.param, importlib.util.find_spec(request.param) is not None)
    app, env = APPS[request.param]
    server = servers.gunicorn(
        app, name=f"it-preload-{request.param}", env=env, workers=WORKERS, preload=True
    )
    try:
        yield server
    finally:
        server.stop()


def burst(srv: Server) -> list[httpx.Response]:
    """``BURST`` requests at once, each on its own connection."""

    def one(_: int) -> httpx.Response:
        return httpx.get(srv.url + "/pid", params={"pause": "0.05"}, timeout=60)

    with ThreadPoolExecutor(BURST) as pool:
        return list(pool.map(one, range(BURST)))


def test_each_preloaded_worker_exports_its_own_spans(
    preloaded: Server, otlp_receiver: OTLPReceiver
) -> None:
    """Spans arrive from at least two forked workers, each under the trace its response named."""
    responses: list[httpx.Response] = []
    for _ in range(ROUNDS):
        responses += burst(preloaded)
        if len({r.json()["pid"] for r in responses}) >= 2:
            break
    served = {r.headers["x-trace-id"]: r.json()["pid"] for r in responses}

    def from_workers(spans: list[ReceivedSpan]) -> bool:
        pids = {
            s.attributes.get("test.pid")
            for s in spans
            if s.service == preloaded.name and s.trace_id in served
        }
        return len(pids - {None}) >= 2

    spans = otlp_receiver.wait_for(from_workers, timeout=30)

    mine = [s for s in spans if s.service == preloaded.name and s.trace_id in served]
    assert all(s.attributes["test.pid"] == served[s.trace_id] for s in mine)
    assert preloaded.pid not in {s.attributes["test.pid"] for s in mine}
    assert len({s.attributes["test.pid"] for s in mine}) >= 2
