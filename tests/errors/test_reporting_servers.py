"""Unhandled exceptions on a real server reach the Slack stand-in once, with the trace ID."""

from __future__ import annotations

import time

import pytest
from tests.conftest import need
from tests.errors.vendors import stand_in
from tests.integration.servers import ServerPool

import msatrace

httpx = need("httpx")
need("fastapi")


@pytest.fixture
def pool() -> ServerPool:
    with ServerPool() as servers:
        yield servers


def _wait(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.05)


def test_an_unhandled_exception_is_reported_once_with_the_trace_id(pool: ServerPool) -> None:
    """FastAPI under uvicorn: 5 failing requests, one Slack message naming the first's trace."""
    with stand_in("slack") as slack:
        env = {
            "MSATRACE_NOTIFY": f"slack:{slack.url}",
            "MSATRACE_TRACE_URL": "https://grafana.example/trace/{trace_id}",
            "MSATRACE_ERROR_DIGEST_WINDOW": "600",
        }
        srv = pool.uvicorn("fastapi_app:app", env=env)
        traces = []
        for _ in range(5):
            response = httpx.get(f"{srv.url}/boom")
            assert response.status_code == 500
            traces.append(response.headers["x-trace-id"])
        _wait(lambda: len(slack.received) >= 1)
        time.sleep(0.5)  # a second message would have arrived by now
        assert len(slack.received) == 1
        message = slack.received[0]
        assert traces[0] in message["text"]
        assert f"https://grafana.example/trace/{traces[0]}" in str(message["blocks"])
        assert "fastapi_app" in str(message["blocks"])  # the in-app frame


def test_capture_exception_and_message_need_notifiers() -> None:
    """Without notifiers they do nothing; with one, a handled error is reported."""
    msatrace.capture_exception(ValueError("nobody listens"))  # before init(): nothing, no error
    with stand_in("slack") as slack:
        msatrace.init(service_name="svc", patch="none", notify=[f"slack:{slack.url}"])
        try:
            raise KeyError("sku-1")
        except KeyError:
            msatrace.capture_exception()
        msatrace.capture_message("stock for sku 42 went negative")
        _wait(lambda: len(slack.received) == 2)
        msatrace.shutdown()
    texts = sorted(m["text"] for m in slack.received)
    assert texts[0].startswith("[svc] KeyError: 'sku-1'")
    assert texts[1].startswith("[svc] stock for sku 42 went negative")


def test_a_bad_notify_entry_fails_init_without_echoing_the_secret() -> None:
    """A ConfigError names the entry's kind, never its secret."""
    with pytest.raises(msatrace.ConfigError) as info:
        msatrace.init(notify=["pagerduty:short-s3cr3t"])
    assert "pagerduty" in str(info.value)
    assert "s3cr3t" not in str(info.value)


def test_a_health_check_change_is_reported_once_each_way() -> None:
    """A check failing, then recovering: one message each; nothing while a state holds."""
    from msatrace import health
    from msatrace._core.health.registry import REGISTRY

    state = {"up": False}

    def database() -> None:
        if not state["up"]:
            raise ConnectionError("db-7 refused the connection")

    with stand_in("slack") as slack:
        msatrace.init(service_name="svc", patch="none", notify=[f"slack:{slack.url}"])
        REGISTRY.ttl = 0.0
        try:
            health.add_check("database", database)
            for up in (False, False, False, True, True):
                state["up"] = up
                health.results()
            _wait(lambda: len(slack.received) == 2)
            msatrace.shutdown()  # sends what is pending
        finally:
            REGISTRY.clear()
            REGISTRY.ttl = 5.0
    texts = [m["text"] for m in slack.received]
    assert texts == [
        "[svc] health check database:responseTime failed: ConnectionError: db-7 refused the "
        "connection",
        "[svc] health check database:responseTime recovered (was fail)",
    ]
