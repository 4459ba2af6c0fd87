"""A real Prometheus (Debian's, exemplar storage on) scrapes the four real servers' ``/metrics``.

FastAPI under uvicorn, Flask under gunicorn with 3 workers, Django under gunicorn (2 workers)
and under uvicorn; the multi-worker servers share a metrics directory. Everything is checked
through Prometheus's HTTP API, as a dashboard would read it: the request count per route summed
over workers, the 5xx ratio, a ``histogram_quantile`` in the bucket of the real latency, an
exemplar naming a trace ID a client received, and 20 consecutive scrapes that never go down.

One Prometheus for the four servers; the module starts its servers itself (the inbound suite's
share one worker each). Marked ``prometheus``: ``nox -s tests`` runs it on one Python only.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import need, require
from tests.integration.servers import (
    Server,
    free_port,
    start_django_gunicorn,
    start_django_uvicorn,
    start_gunicorn,
    start_uvicorn,
)

need("prometheus_client")

pytestmark = pytest.mark.prometheus

ITEMS, FAILURES, SLOW = 20, 5, 4
PAUSE = 0.3  # seconds: /pid?pause= lands in the (0.25, 0.5] bucket
# job -> (how to start it, route template of /items/N)
SERVERS: dict[str, tuple[Callable[[dict[str, str], str], Server], str]] = {
    "fastapi-uvicorn": (
        lambda env, d: start_uvicorn("fastapi_app:app", env=env),
        "/items/{item_id}",
    ),
    "flask-gunicorn": (
        lambda env, d: start_gunicorn(
            "flask_app:app", workers=3, env={**env, "MSATRACE_METRICS_DIR": d}
        ),
        "/items/<int:item_id>",
    ),
    "django-gunicorn": (
        lambda env, d: start_django_gunicorn(workers=2, env={**env, "MSATRACE_METRICS_DIR": d}),
        "/items/<int:item_id>",
    ),
    "django-uvicorn": (lambda env, d: start_django_uvicorn(env=env), "/items/<int:item_id>"),
}
MODULES = {
    "fastapi-uvicorn": ("fastapi", "uvicorn"),
    "flask-gunicorn": ("flask", "gunicorn"),
    "django-gunicorn": ("django", "gunicorn"),
    "django-uvicorn": ("django", "uvicorn"),
}


def _api(base: str, path: str, **params: str) -> Any:
    url = f"{base}{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())["data"]


def _scalar(base: str, query: str) -> float | None:
    result = _api(base, "/query", query=query)["result"]
    return float(result[0]["value"][1]) if result else None


def _until(what: Callable[[], Any], ok: Callable[[Any], bool], timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            value = what()
            if ok(value):
                return value
        time.sleep(0.5)
    return value


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[str, dict[str, Server]]]:
    """The four servers and a Prometheus scraping each (job = server) every second."""
    binary = shutil.which("prometheus")
    require("prometheus", binary is not None)
    assert binary is not None
    for modules in MODULES.values():
        for module in modules:
            need(module)
    with contextlib.ExitStack() as stack:
        store = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        env = {"MSATRACE_METRICS_EXPORTER": "prometheus", "MSATRACE_ACCESS_LOG": "false"}
        servers: dict[str, Server] = {}
        for job, (start, _) in SERVERS.items():
            shared = stack.enter_context(tempfile.TemporaryDirectory())
            servers[job] = stack.enter_context(start({**env, "OTEL_SERVICE_NAME": job}, shared))
        jobs = "".join(
            f"  - job_name: {job}\n    static_configs: [{{targets: ['127.0.0.1:{srv.port}']}}]\n"
            for job, srv in servers.items()
        )
        (store / "prometheus.yml").write_text(
            "global: {scrape_interval: 1s, scrape_timeout: 1s}\nscrape_configs:\n" + jobs
        )
        web = f"127.0.0.1:{free_port()}"
        prom = subprocess.Popen(
            [
                binary,
                f"--config.file={store / 'prometheus.yml'}",
                f"--storage.tsdb.path={store / 'data'}",
                f"--web.listen-address={web}",
                "--enable-feature=exemplar-storage",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            yield f"http://{web}/api/v1", servers
        finally:
            prom.terminate()
            prom.wait(timeout=30)


@pytest.fixture(scope="module")
def sent(stack: tuple[str, dict[str, Server]]) -> dict[str, set[str]]:
    """Each server's requests sent (items, failures, slow ones); the trace IDs clients got."""
    _, servers = stack
    seen: dict[str, set[str]] = {}
    for job, srv in servers.items():
        ids: set[str] = set()
        # A connection of its own per request: a server may close one after a failure.
        fresh = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=srv.url, timeout=30, limits=fresh) as client:
            responses = [client.get(f"/items/{i}") for i in range(ITEMS)]
            responses += [client.get("/boom") for _ in range(FAILURES)]
            responses += [client.get(f"/pid?pause={PAUSE}") for _ in range(SLOW)]
        assert [r.status_code for r in responses] == [200] * ITEMS + [500] * FAILURES + [200] * SLOW
        ids.update(r.headers["x-trace-id"] for r in responses if "x-trace-id" in r.headers)
        seen[job] = ids
    return seen


@pytest.mark.parametrize("job", list(SERVERS))
def test_prometheus_sees_the_count_per_route_the_5xx_ratio_and_the_latency(
    stack: tuple[str, dict[str, Server]], sent: dict[str, set[str]], job: str
) -> None:
    """Through Prometheus's API: /items/N counted once per request (all workers summed), the
    5xx ratio of the requests sent, the median of the slow route in its real bucket, and no
    request left active."""
    base, _ = stack
    route = SERVERS[job][1]
    measured = f'job="{job}",http_route=~"{route}|/boom|/pid"'

    items = _until(
        lambda: _scalar(
            base,
            f'sum(http_server_request_duration_seconds_count{{job="{job}",http_route="{route}"}})',
        ),
        lambda v: v == ITEMS,
    )
    total = _until(
        lambda: _scalar(base, f"sum(http_server_request_duration_seconds_count{{{measured}}})"),
        lambda v: v == ITEMS + FAILURES + SLOW,
    )
    ratio = _scalar(
        base,
        "sum(http_server_request_duration_seconds_count"
        f'{{{measured},http_response_status_code=~"5.."}}) / '
        f"sum(http_server_request_duration_seconds_count{{{measured}}})",
    )
    median = _scalar(
        base,
        "histogram_quantile(0.5, sum by (le) "
        f'(http_server_request_duration_seconds_bucket{{job="{job}",http_route="/pid"}}))',
    )
    active = _until(
        lambda: _scalar(base, f'sum(http_server_active_requests{{job="{job}"}})'),
        lambda v: v == 0,
    )

    assert (items, total) == (ITEMS, ITEMS + FAILURES + SLOW)
    assert active == 0  # every request sent has ended, failures included
    assert ratio == pytest.approx(FAILURES / (ITEMS + FAILURES + SLOW))
    assert median is not None
    assert 0.25 < median <= 0.5


@pytest.mark.parametrize("job", list(SERVERS))
def test_prometheus_stores_an_exemplar_with_a_trace_id_a_client_received(
    stack: tuple[str, dict[str, Server]], sent: dict[str, set[str]], job: str
) -> None:
    """Prometheus (exemplar storage on, OpenMetrics negotiated) stores exemplars on the request
    buckets, each naming the trace of a request this test sent."""
    base, _ = stack
    start = time.time() - 600

    exemplars = _until(
        lambda: _api(
            base,
            "/query_exemplars",
            query=f'http_server_request_duration_seconds_bucket{{job="{job}"}}',
            start=str(start),
            end=str(time.time() + 60),
        ),
        bool,
    )

    trace_ids = {e["labels"]["trace_id"] for s in exemplars or [] for e in s["exemplars"]}
    assert trace_ids
    assert trace_ids <= sent[job]


def test_twenty_consecutive_scrapes_of_the_multi_worker_server_never_go_down(
    stack: tuple[str, dict[str, Server]], sent: dict[str, set[str]]
) -> None:
    """Flask under gunicorn with 3 workers: at least 20 scrapes in a row, every one up, and the
    request total never decreases from one scrape to the next."""
    base, _ = stack
    job = "flask-gunicorn"

    scrapes = _until(
        lambda: _scalar(base, f'count_over_time(up{{job="{job}"}}[5m])'),
        lambda v: v is not None and v >= 20,
    )
    down = _scalar(base, f'min_over_time(up{{job="{job}"}}[5m])')
    resets = _scalar(
        base,
        f'sum(resets(http_server_request_duration_seconds_count{{job="{job}"}}[5m]))',
    )

    assert scrapes is not None
    assert scrapes >= 20
    assert down == 1
    assert resets == 0
