"""A deploy loses no span: SIGTERM right after a burst of requests, and every span arrives.

Spans stay queued (a long batch delay, fewer spans than one export batch), so only the flush on
the server's own way out can deliver them: the ASGI lifespan shutdown and msatrace's SIGTERM
handler under uvicorn (which ends the process by re-raising SIGTERM, before ``atexit``; Django
has no lifespan), the worker's normal exit under gunicorn.
With a collector that never answers, the same stop still ends within the shutdown bound.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable

import httpx
import pytest

from msatrace.testing import OTLPReceiver
from tests.conftest import need
from tests.integration.faulty_collectors import faulty_collector
from tests.integration.servers import Server, ServerPool, server_env, start_uvicorn

BURST = 500  # below the SDK's export batch of 512: nothing leaves the queue by itself
QUEUED = {"OTEL_BSP_SCHEDULE_DELAY": "600000"}
SHUTDOWN_BOUND = 5.0
MARGIN = 10.0  # a loaded 2-core machine; a correctness bound, not a speed target


def _uvicorn(pool: ServerPool, name: str) -> Server:
    return pool.uvicorn("fastapi_app:app", name=name, env=QUEUED)


def _uvicorn_django(pool: ServerPool, name: str) -> Server:
    return pool.django_uvicorn(name=name, env=QUEUED)


def _gunicorn_uvicorn_workers(pool: ServerPool, name: str) -> Server:
    return pool.gunicorn(
        "fastapi_app:app",
        name=name,
        env=QUEUED,
        workers=2,
        extra_args=["--worker-class", "uvicorn.workers.UvicornWorker"],
    )


def _gunicorn_flask(pool: ServerPool, name: str) -> Server:
    return pool.gunicorn("flask_app:app", name=name, env=QUEUED, workers=2)


def _gunicorn_django(pool: ServerPool, name: str) -> Server:
    return pool.django_gunicorn(name=name, env=QUEUED, workers=2)


SERVERS: dict[str, Callable[[ServerPool, str], Server]] = {
    "uvicorn": _uvicorn,
    "uvicorn-django": _uvicorn_django,
    "gunicorn-uvicorn-workers": _gunicorn_uvicorn_workers,
    "gunicorn-sync-flask": _gunicorn_flask,
    "gunicorn-sync-django": _gunicorn_django,
}
REQUIRES = {
    "uvicorn": ("fastapi", "uvicorn"),
    "uvicorn-django": ("django", "uvicorn"),
    "gunicorn-uvicorn-workers": ("fastapi", "uvicorn", "gunicorn"),
    "gunicorn-sync-flask": ("flask", "gunicorn"),
    "gunicorn-sync-django": ("django", "gunicorn"),
}


def _burst(srv: Server, count: int = BURST) -> None:
    with httpx.Client(base_url=srv.url, timeout=30) as client:
        for i in range(count):
            assert client.get(f"/items/{i}").status_code == 200


@pytest.mark.parametrize("server", list(SERVERS))
def test_sigterm_after_a_burst_loses_no_span(
    server: str, servers: ServerPool, otlp_receiver: OTLPReceiver
) -> None:
    """Every request's SERVER span reaches the collector when the server is stopped at once."""
    for module in REQUIRES[server]:
        need(module)
    name = f"deploy-{server}"
    srv = SERVERS[server](servers, name)
    _burst(srv)

    srv.stop(timeout=SHUTDOWN_BOUND + MARGIN)

    def arrived(spans: list) -> bool:  # type: ignore[type-arg]
        return sum(s.service == name and s.kind == "SERVER" for s in spans) >= BURST

    try:
        otlp_receiver.wait_for(arrived, timeout=10)
    except TimeoutError:
        got = sum(s.service == name and s.kind == "SERVER" for s in otlp_receiver.spans)
        pytest.fail(f"{got} of {BURST} spans arrived:\n{srv.output(tail=20)}")


@pytest.mark.parametrize(
    ("app", "bound"),
    [
        # msatrace flushes at the lifespan shutdown, then again on the SIGTERM uvicorn re-raises:
        # one bound for both. A long bound (and exports that hang longer still), so that
        # spending it twice cannot pass for the margin.
        ("fastapi_app:app", 20.0),
        # The application's lifespan calls msatrace.shutdown() (its default timeout, 5 s).
        ("lifespan_app:app", 5.0),
    ],
)
def test_uvicorn_stops_within_the_bound_when_the_collector_hangs(app: str, bound: float) -> None:
    """SIGTERM with a black-hole collector: uvicorn exits within the shutdown bound + margin."""
    need("fastapi")
    with faulty_collector("hangs") as url:
        env = server_env(
            env={
                **QUEUED,
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": url,
                "MSATRACE_SHUTDOWN_TIMEOUT": str(bound),
                "MSATRACE_OTLP_TIMEOUT": "60",
            }
        )
        with start_uvicorn(app, name="hangs", env=env) as srv:
            _burst(srv, 3 * BURST)  # three export batches, each met by the black hole
            started = time.monotonic()

            code = srv.stop(timeout=120)
            elapsed = time.monotonic() - started

    assert code is not None
    # uvicorn's graceful shutdown (--timeout-graceful-shutdown 5) may come before the flush.
    assert elapsed < 5 + bound + MARGIN, (elapsed, srv.output(tail=20))
    assert srv.output().count("not exported at shutdown") == 1, srv.output(tail=20)


def test_sigterm_to_a_plain_process_flushes_then_ends_it(otlp_receiver: OTLPReceiver) -> None:
    """A process with no SIGTERM handler of its own exports its queued spans, then dies of it."""
    program = textwrap.dedent(
        """
        import time
        import msatrace
        from opentelemetry import trace
        msatrace.init(service_name="plain-sigterm")
        for _ in range(100):
            trace.get_tracer("t").start_span("queued").end()
        print("ready", flush=True)
        time.sleep(120)
        """
    )
    env = server_env(otlp_endpoint=otlp_receiver.base_endpoint, env=QUEUED)
    proc = subprocess.Popen(
        [sys.executable, "-c", program], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        lines = iter(proc.stdout.readline, "")
        assert "ready" in (line.strip() for line in lines)  # after init()'s start-up line

        os.kill(proc.pid, signal.SIGTERM)
        code = proc.wait(SHUTDOWN_BOUND + MARGIN)
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    assert code == -signal.SIGTERM  # ended by the signal, as without msatrace
    otlp_receiver.wait_for(
        lambda spans: sum(s.service == "plain-sigterm" for s in spans) == 100, timeout=10
    )
