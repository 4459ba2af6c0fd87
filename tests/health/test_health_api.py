"""msatrace.health, as a user calls it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

import msatrace
from msatrace import health
from msatrace._core.health.registry import REGISTRY


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    yield
    REGISTRY.clear()
    REGISTRY.ttl = 5.0


def test_add_check_by_name_and_callable_then_readiness() -> None:
    """A callable registered by name shows in /readyz with the service's name and version."""
    msatrace.init(service_name="orders", service_version="2.0.1")
    health.add_check("database", lambda: None, component_type="datastore")
    code, body = health.readiness()
    doc = json.loads(body)
    assert code == 200
    assert (doc["status"], doc["serviceId"], doc["releaseId"]) == ("pass", "orders", "2.0.1")
    assert doc["checks"]["database:responseTime"][0]["componentType"] == "datastore"


def test_a_failing_critical_check_makes_the_service_unready() -> None:
    """A critical check that raises gives 503; removing it makes the service ready again."""

    def db() -> None:
        raise ConnectionError("no route to host")

    REGISTRY.ttl = 0.0
    health.add_check("database", db)
    assert health.readiness()[0] == 503
    health.remove_check("database")
    assert health.readiness()[0] == 200


def test_liveness_never_runs_checks() -> None:
    """/livez answers 200 even when every check fails, and runs none of them."""
    calls = []
    health.add_check("database", lambda: calls.append(1) or (_ for _ in ()).throw(OSError()))
    assert health.liveness()[0] == 200
    assert calls == []


def test_on_change_listener_gets_the_transition() -> None:
    """on_change(listener) is called with the result and the previous status."""
    seen = []
    state = {"up": False}

    def probe() -> None:
        if not state["up"]:
            raise OSError("down")

    REGISTRY.ttl = 0.0
    health.on_change(lambda res, previous: seen.append((res.check.name, previous, res.status)))
    health.add_check("cache", probe)
    health.results()
    state["up"] = True
    health.results()
    assert seen == [("cache", None, "fail"), ("cache", "fail", "pass")]


def test_add_check_refuses_what_it_cannot_run() -> None:
    """A name without a callable, or a Check with a probe besides, is a TypeError."""
    with pytest.raises(TypeError, match="must be a callable"):
        health.add_check("x")
    with pytest.raises(TypeError, match="give a Check"):
        health.add_check(health.tcp_check("127.0.0.1", 1), lambda: None)


def test_msatrace_health_is_reachable_from_the_package() -> None:
    """msatrace.health loads on first access, like the adapters."""
    assert msatrace.health is health
