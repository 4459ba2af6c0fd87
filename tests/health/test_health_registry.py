"""The check registry: concurrency, timeouts, the result cache, and one line per state change."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest

from msatrace._core.health.checks import Check, Observation, Result
from msatrace._core.health.registry import Registry


@pytest.fixture
def registry() -> Iterator[Registry]:
    reg = Registry(ttl=60.0)
    yield reg
    reg.clear()


def _check(name: str, probe: object, **kw: object) -> Check:
    return Check(name=name, probe=probe, **kw)  # type: ignore[arg-type]


def test_a_probe_that_returns_passes_and_one_that_raises_fails(registry: Registry) -> None:
    """A probe passes by returning and fails by raising; the error text is the output."""

    def down() -> None:
        raise ConnectionRefusedError("connection refused")

    registry.add(_check("up", lambda: None))
    registry.add(_check("down", down))
    by_name = {r.check.name: r for r in registry.results()}
    assert by_name["up"].status == "pass"
    assert isinstance(by_name["up"].value, float)  # response time in ms
    assert by_name["down"].status == "fail"
    assert by_name["down"].output == "ConnectionRefusedError: connection refused"


def test_a_non_critical_failure_is_a_warning(registry: Registry) -> None:
    """A check registered as not critical reports warn, never fail."""

    def down() -> None:
        raise OSError("nope")

    registry.add(_check("optional", down, critical=False))
    registry.add(_check("disk", lambda: Observation(3.0, "fail", "3 % free"), critical=False))
    assert [r.status for r in registry.results()] == ["warn", "warn"]


def test_checks_run_concurrently(registry: Registry) -> None:
    """Five checks that each wait for all the others can only pass when they run at once."""
    barrier = threading.Barrier(5, timeout=10)
    for i in range(5):
        registry.add(_check(f"c{i}", barrier.wait, timeout=15.0))
    assert [r.status for r in registry.results()] == ["pass"] * 5


def test_a_hanging_check_fails_at_its_timeout_and_is_not_started_again(
    registry: Registry,
) -> None:
    """A check past its timeout fails; while its run still hangs, no second run starts."""
    release = threading.Event()
    runs = []

    def hang() -> None:
        runs.append(1)
        release.wait(30)

    registry.ttl = 0.0
    registry.add(_check("hang", hang, timeout=0.2))
    registry.add(_check("ok", lambda: None))
    first = {r.check.name: r for r in registry.results()}
    assert first["hang"].status == "fail"
    assert first["hang"].output == "timed out after 0.2 s"
    assert first["ok"].status == "pass"
    second = {r.check.name: r for r in registry.results()}
    assert second["hang"].output == "still running since an earlier probe"
    assert len(runs) == 1
    release.set()


def test_async_probes_run_and_time_out(registry: Registry) -> None:
    """A coroutine function is a probe too, bounded by its timeout."""
    import asyncio

    async def ok() -> float:
        await asyncio.sleep(0)
        return 42.0

    async def slow() -> None:
        await asyncio.sleep(30)

    registry.add(_check("ok", ok, unit="connections", measurement="connections"))
    registry.add(_check("slow", slow, timeout=0.2))
    by_name = {r.check.name: r for r in registry.results()}
    assert (by_name["ok"].status, by_name["ok"].value) == ("pass", 42.0)
    assert by_name["slow"].status == "fail"


def test_results_are_cached_for_the_ttl_and_concurrent_probes_share_one_run(
    registry: Registry,
) -> None:
    """50 probes from 10 threads within the TTL reach the dependency once."""
    calls = []
    gate = threading.Event()

    def probe() -> None:
        calls.append(1)
        gate.wait(5)

    registry.add(_check("dep", probe, timeout=10.0))
    got: list[list[Result]] = []

    def prober() -> None:
        for _ in range(5):
            got.append(registry.results())

    threads = [threading.Thread(target=prober) for _ in range(10)]
    for t in threads:
        t.start()
    time.sleep(0.2)  # let them pile up on the first, still running evaluation
    gate.set()
    for t in threads:
        t.join(10)
    assert len(got) == 50
    assert len(calls) == 1
    assert all(r[0].status == "pass" for r in got)


def test_a_stale_cache_runs_the_checks_again(registry: Registry) -> None:
    """Past the TTL, the next probe runs the check again."""
    calls = []
    registry.ttl = 0.0
    registry.add(_check("dep", lambda: calls.append(1)))
    registry.results()
    registry.results()
    assert len(calls) == 2


def test_each_change_of_state_is_logged_once(
    registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    """pass → fail logs one ERROR, steady failure logs nothing, fail → pass logs one INFO."""
    state = {"up": True}

    def probe() -> None:
        if not state["up"]:
            raise ConnectionError("redis down")

    changes: list[tuple[str, str | None]] = []
    registry.listen(lambda result, previous: changes.append((result.status, previous)))
    registry.ttl = 0.0
    registry.add(_check("redis", probe))
    caplog.set_level(logging.INFO, logger="msatrace.health")
    for up in (True, True, False, False, False, True, True):
        state["up"] = up
        registry.results()
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "msatrace.health"]
    assert lines == [
        ("ERROR", "health check redis:responseTime failed: ConnectionError: redis down"),
        ("INFO", "health check redis:responseTime recovered (was fail)"),
    ]
    assert changes == [("fail", "pass"), ("pass", "fail")]


def test_a_first_failure_is_a_change_but_a_first_pass_is_not(
    registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    """A check that fails on its first run is reported; one that passes is not."""

    def down() -> None:
        raise OSError("x")

    registry.add(_check("a", lambda: None))
    registry.add(_check("b", down))
    caplog.set_level(logging.INFO, logger="msatrace.health")
    registry.results()
    messages = [r.getMessage() for r in caplog.records if r.name == "msatrace.health"]
    assert messages == ["health check b:responseTime failed: OSError: x"]


def test_a_failing_listener_breaks_nothing(registry: Registry) -> None:
    """A listener that raises is reported; the probe still answers."""
    from msatrace._core import safety

    def bad(result: Result, previous: str | None) -> None:
        raise RuntimeError("listener bug")

    def down() -> None:
        raise OSError("x")

    registry.listen(bad)
    registry.add(_check("b", down))
    previous = safety.set_strict(False)
    try:
        assert registry.results()[0].status == "fail"
    finally:
        safety.set_strict(previous)


def test_a_check_needs_a_positive_timeout(registry: Registry) -> None:
    """A zero or negative timeout is refused when the check is added."""
    with pytest.raises(ValueError, match="timeout must be positive"):
        registry.add(_check("x", lambda: None, timeout=0))


def test_aresults_waits_off_the_event_loop(registry: Registry) -> None:
    """aresults() runs the checks on a thread: the loop keeps running meanwhile."""
    import asyncio

    release = threading.Event()
    registry.add(_check("x", lambda: release.wait(5), timeout=10.0))

    async def main() -> tuple[str, bool]:
        task = asyncio.ensure_future(registry.aresults())
        await asyncio.sleep(0.05)  # the loop runs while the check waits
        loop_ran = not task.done()
        release.set()
        return (await task)[0].status, loop_ran

    assert asyncio.run(main()) == ("pass", True)
