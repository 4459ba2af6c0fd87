"""Health probes on a real uvicorn server whose readiness depends on a real redis-server."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

from tests.conftest import need, require
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


@pytest.fixture
def app(servers: ServerPool, redis: Redis) -> Server:
    env = {
        "HEALTH_REDIS_URL": redis.url,
        "MSATRACE_HEALTH_CACHE_TTL": str(TTL),
        "MSATRACE_LOG_FORMAT": "json",
        "MSATRACE_SERVICE_NAME": "health-app",
    }
    return servers.uvicorn("health_app:app", env=env)


def _health_lines(srv: Server, since: int) -> list[dict[str, object]]:
    return [ln for ln in srv.lines(since) if ln.get("logger") == "msatrace.health"]


def test_readiness_follows_redis_down_and_back_with_one_line_per_change(
    app: Server, redis: Redis
) -> None:
    """/readyz 200 → Redis stopped: 503 within the TTL, one ERROR → back: 200, one INFO."""
    ready = f"{app.url}/readyz"
    assert httpx.get(ready).status_code == 200
    since = app.mark()
    redis.stop()
    deadline = time.monotonic() + TTL + 5.0
    while httpx.get(ready).status_code != 503:
        assert time.monotonic() < deadline, "readiness never failed"
        time.sleep(0.1)
    for _ in range(10):  # the state holds: nothing more is logged
        assert httpx.get(ready).status_code == 503
        time.sleep(0.05)
    assert httpx.get(f"{app.url}/livez").status_code == 200  # liveness asks no dependency
    redis.start()
    deadline = time.monotonic() + TTL + 5.0
    while httpx.get(ready).status_code != 200:
        assert time.monotonic() < deadline, "readiness never recovered"
        time.sleep(0.1)
    lines = app.wait_for(lambda ls: len(_health_lines(app, since)) >= 2, since=since)
    health = [ln for ln in lines if ln.get("logger") == "msatrace.health"]
    assert [(ln["level"], ln["check"]) for ln in health] == [
        ("error", "redis:responseTime"),
        ("info", "redis:responseTime"),
    ]
    assert "ConnectionRefusedError" in str(health[0]["event"])
    assert all(ln.get("logger") != "msatrace.access" or "/readyz" not in str(ln) for ln in lines)


def test_frequent_probes_reach_redis_at_most_once_per_ttl(app: Server, redis: Redis) -> None:
    """About 100 probes a second for 4 s from 4 threads reach Redis at most once per TTL."""
    before = redis.connections()
    stop = time.monotonic() + 4.0
    codes: list[int] = []

    def prober() -> None:
        with httpx.Client() as client:
            while time.monotonic() < stop:
                codes.append(client.get(f"{app.url}/readyz").status_code)
                time.sleep(0.04)

    threads = [threading.Thread(target=prober) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    reached = redis.connections() - before
    assert set(codes) == {200}
    assert len(codes) >= 100
    assert 1 <= reached <= 4.0 / TTL + 2, (reached, len(codes))
