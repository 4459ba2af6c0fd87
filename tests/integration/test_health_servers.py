"""Health probes on a real uvicorn server whose readiness depends on a real redis-server.

A change of the Redis check's state is logged once, sent once to a webhook stand-in
(``tests/errors/vendors.py``) and shown by ``msatrace_health_check_status`` on ``/metrics``.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from msatrace._alerting import names
from tests.conftest import need, require
from tests.errors.vendors import StandIn, stand_in
from tests.integration.servers import Server, ServerPool, free_port

httpx = need("httpx")
need("fastapi")
REDIS = shutil.which("redis-server")
TTL = 1.0


class Redis:
    """A private redis-server on a fixed port that the test can stop and start again."""

    def __init__(self) -> None:
        require("redis-server", REDIS is not None)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert REDIS is not None
        argv = [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def connections(self) -> int:
        """Connections redis-server accepted since it started (INFO stats)."""
        with socket.create_connection(("127.0.0.1", self.port), 5) as sock:
            sock.sendall(b"*2\r\n$4\r\nINFO\r\n$5\r\nstats\r\n")
            data = b""
            while b"total_connections_received" not in data or not data.endswith(b"\r\n"):
                data += sock.recv(65536)
        for line in data.decode().splitlines():
            if line.startswith("total_connections_received:"):
                return int(line.split(":")[1]) - 1  # not this INFO connection
        raise AssertionError(data)


@pytest.fixture
def redis() -> Iterator[Redis]:
    r = Redis()
    r.start()
    try:
        yield r
    finally:
        r.stop()


SECRET = "health-hook-secret"


@pytest.fixture
def webhook() -> Iterator[StandIn]:
    """A webhook receiver that verifies msatrace's signature."""
    with stand_in("webhook", SECRET) as hook:
        yield hook


@pytest.fixture
def app(servers: ServerPool, redis: Redis, webhook: StandIn) -> Server:
    env = {
        "HEALTH_REDIS_URL": redis.url,
        "MSATRACE_HEALTH_CACHE_TTL": str(TTL),
        "MSATRACE_LOG_FORMAT": "json",
        "MSATRACE_SERVICE_NAME": "health-app",
        "MSATRACE_NOTIFY": f"webhook:{webhook.url}#{SECRET}",
        "MSATRACE_METRICS_EXPORTER": "prometheus",
    }
    return servers.uvicorn("health_app:app", env=env)


def _gauge(srv: Server) -> dict[tuple[str, str], float]:
    """``msatrace_health_check_status`` on the server's /metrics, by (check, critical)."""
    parser = need("prometheus_client.parser")
    body = httpx.get(f"{srv.url}/metrics", timeout=30).text
    return {
        (s.labels[names.CHECK], s.labels[names.CRITICAL]): s.value
        for family in parser.text_string_to_metric_families(body)
        if family.name == names.HEALTH_STATUS
        for s in family.samples
    }


def _titles(hook: StandIn) -> list[str]:
    return [str(payload.get("title")) for payload in list(hook.received)]


def _wait(predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_readiness_follows_redis_down_and_back_with_one_line_per_change(
    app: Server, redis: Redis, webhook: StandIn
) -> None:
    """/readyz 200 → Redis stopped: 503 within the TTL, one ERROR, one notification, the gauge
    0 → back: 200, one INFO, one "recovered" notification, the gauge 1; nothing more while a
    state holds."""
    ready = f"{app.url}/readyz"
    key = ("redis:responseTime", names.CRITICAL_TRUE)
    assert httpx.get(ready).status_code == 200
    assert _gauge(app) == {key: 1.0}
    since = app.mark()
    redis.stop()
    deadline = time.monotonic() + TTL + 5.0
    while httpx.get(ready).status_code != 503:
        assert time.monotonic() < deadline, "readiness never failed"
        time.sleep(0.1)
    assert _gauge(app) == {key: 0.0}
    _wait(lambda: len(webhook.received) >= 1, "no notification of the failure")
    for _ in range(int(3 * TTL / 0.1)):  # the state holds (3 TTLs): nothing more
        assert httpx.get(ready).status_code == 503
        time.sleep(0.1)
    assert httpx.get(f"{app.url}/livez").status_code == 200  # liveness asks no dependency
    assert len(webhook.received) == 1, _titles(webhook)
    redis.start()
    deadline = time.monotonic() + TTL + 5.0
    while httpx.get(ready).status_code != 200:
        assert time.monotonic() < deadline, "readiness never recovered"
        time.sleep(0.1)
    assert _gauge(app) == {key: 1.0}
    _wait(lambda: len(webhook.received) >= 2, "no notification of the recovery")
    for _ in range(int(3 * TTL / 0.1)):  # the state holds again: nothing more
        assert httpx.get(ready).status_code == 200
        time.sleep(0.1)
    lines = app.lines(since)
    health = [ln for ln in lines if ln.get("logger") == "msatrace.health"]
    assert [(ln["level"], ln["check"]) for ln in health] == [
        ("error", "redis:responseTime"),
        ("info", "redis:responseTime"),
    ]
    assert "ConnectionRefusedError" in str(health[0]["event"])
    assert all(ln.get("logger") != "msatrace.access" or "/readyz" not in str(ln) for ln in lines)
    titles = _titles(webhook)
    assert len(titles) == 2, titles
    assert "health check redis:responseTime failed" in titles[0], titles
    assert "ConnectionRefusedError" in titles[0], titles
    assert "health check redis:responseTime recovered (was fail)" in titles[1], titles


def test_frequent_probes_reach_redis_at_most_once_per_ttl(app: Server, redis: Redis) -> None:
    """About 100 probes a second for 10 s from 5 threads (and a scrape of the health gauge each
    second) reach Redis at most once per TTL."""
    seconds = 10.0
    before = redis.connections()
    stop = time.monotonic() + seconds
    codes: list[int] = []

    def prober() -> None:
        with httpx.Client() as client:
            while time.monotonic() < stop:
                codes.append(client.get(f"{app.url}/readyz").status_code)
                time.sleep(0.04)

    scraped: list[dict[tuple[str, str], float]] = []

    def scraper() -> None:
        while time.monotonic() < stop:
            scraped.append(_gauge(app))
            time.sleep(1.0)

    threads = [threading.Thread(target=prober) for _ in range(5)]
    threads.append(threading.Thread(target=scraper))
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    reached = redis.connections() - before
    assert set(codes) == {200}
    assert len(codes) >= 100
    assert scraped
    assert all(g == {("redis:responseTime", names.CRITICAL_TRUE): 1.0} for g in scraped), scraped
    assert 1 <= reached <= seconds / TTL + 2, (reached, len(codes))
    print(f"{len(codes)} probes in {seconds:g} s reached Redis {reached} times (TTL {TTL:g} s)")
