"""The registered checks: run concurrently, each within its timeout, cached, changes noticed.

One evaluation runs every check at once on a small pool of daemon threads and waits for each no
longer than its own timeout. Its results are kept for ``ttl`` seconds, and probes arriving while
an evaluation runs wait for that one (single flight), so a hundred probes a second reach each
dependency at most once per ``ttl``. A check whose previous run is still hanging is not started
again (it reports ``fail``): a dependency that never answers cannot pile up threads.

A check that changes state (pass to fail or warn, and back) is logged once, at ERROR (WARNING
for a non-critical check) and INFO on recovery, and handed to the listeners (error reporting);
nothing is logged while a state holds. :meth:`Registry.status_rows` is the per-check metric
(``msatrace_health_check_status``), read by the metrics scrape.

Imports: the standard library, ``_core.safety`` and this package.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from msatrace._core.health.checks import Check, Observation, ProbeResult, Result, Status
from msatrace._core.safety import failed

_log = logging.getLogger("msatrace.health")
_MAX_THREADS = 16
_MAX_OUTPUT = 300

Listener = Callable[[Result, "Status | None"], None]


class Registry:
    """The process's checks and their last known states."""

    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._checks: dict[str, Check] = {}
        self._states: dict[str, Status] = {}
        self._running: dict[str, Future[Result]] = {}
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._cache: tuple[float, list[Result]] | None = None
        self._inflight: Future[list[Result]] | None = None
        self._pool: ThreadPoolExecutor | None = None

    # --- registration ----------------------------------------------------------------------

    def add(self, check: Check) -> Check:
        """Register ``check``; one with the same key is replaced."""
        if check.timeout <= 0:
            raise ValueError(f"health check {check.key!r}: timeout must be positive")
        with self._lock:
            self._checks[check.key] = check
            self._cache = None
        return check

    def remove(self, key: str) -> None:
        """Forget the check keyed ``key`` (``name:measurement``) or named ``key``."""
        with self._lock:
            for k in [k for k, c in self._checks.items() if key in (k, c.name)]:
                del self._checks[k]
                self._states.pop(k, None)
            self._cache = None

    def checks(self) -> list[Check]:
        with self._lock:
            return list(self._checks.values())

    def listen(self, listener: Listener) -> None:
        """Call ``listener(result, previous_status)`` on every change of a check's state."""
        with self._lock:
            self._listeners.append(listener)

    def unlisten(self, listener: Listener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def clear(self) -> None:
        """Forget every check, state, listener and cached result (tests, ``shutdown()``)."""
        with self._lock:
            self._checks.clear()
            self._states.clear()
            self._listeners.clear()
            self._cache = None
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def status_rows(self) -> list[tuple[tuple[str, str], float]]:
        """Each check's status for the metric: ((key, "true"/"false" critical), 1 pass else 0).

        Read at scrape time: the cached results while fresh, else one evaluation (so a scrape
        alone notices a change, and a hundred scrapes reach a dependency once per ``ttl``).
        """
        return [
            ((r.check.key, "true" if r.check.critical else "false"), float(r.status == "pass"))
            for r in self.results()
        ]

    def states(self) -> dict[str, Status]:
        """Each check's last known status, by key."""
        with self._lock:
            return dict(self._states)

    # --- evaluation ------------------------------------------------------------------------

    def results(self) -> list[Result]:
        """Every check's result: the cached ones while fresh, else one evaluation for all."""
        with self._lock:
            fresh = self._fresh()
            if fresh is not None:
                return fresh
            owner = self._inflight is None
            if owner:
                self._inflight = Future()
            inflight = self._inflight
            assert inflight is not None
        if not owner:
            return inflight.result()
        try:
            results = self._evaluate()
        except BaseException as exc:
            with self._lock:
                self._inflight = None
            inflight.set_exception(exc)
            raise
        with self._lock:
            self._cache = (time.monotonic(), results)
            self._inflight = None
        inflight.set_result(results)
        return results

    async def aresults(self) -> list[Result]:
        """:meth:`results` for an event loop: the waiting happens on a thread, not the loop."""
        with self._lock:
            fresh = self._fresh()
        if fresh is not None:
            return fresh
        return await asyncio.to_thread(self.results)

    def _fresh(self) -> list[Result] | None:
        if self._cache is not None and time.monotonic() - self._cache[0] < self.ttl:
            return self._cache[1]
        return None

    def _evaluate(self) -> list[Result]:
        checks = self.checks()
        if not checks:
            return []
        pool = self._executor()
        started = time.monotonic()
        futures: list[tuple[Check, Future[Result] | None]] = []
        for check in checks:
            with self._lock:
                previous = self._running.get(check.key)
                if previous is not None and not previous.done():
                    futures.append((check, None))
                    continue
                submitted = pool.submit(_run, check)
                self._running[check.key] = submitted
            futures.append((check, submitted))
        results = []
        for check, future in futures:
            if future is None:
                results.append(_failure(check, "still running since an earlier probe", None))
                continue
            remaining = check.timeout - (time.monotonic() - started)
            try:
                results.append(future.result(timeout=max(remaining, 0.0)))
            except FutureTimeout:
                results.append(_failure(check, f"timed out after {check.timeout:g} s", None))
        self._notice(results)
        return results

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(_MAX_THREADS, thread_name_prefix="msatrace-health")
            return self._pool

    def _notice(self, results: list[Result]) -> None:
        changes: list[tuple[Result, Status | None]] = []
        with self._lock:
            for result in results:
                key = result.check.key
                if key not in self._checks:
                    continue
                previous = self._states.get(key)
                self._states[key] = result.status
                if previous != result.status and not (previous is None and not result.failed):
                    changes.append((result, previous))
            listeners = list(self._listeners)
        for result, previous in changes:
            _log_change(result, previous)
            for listener in listeners:
                try:
                    listener(result, previous)
                except Exception as exc:  # a listener never breaks the probe
                    failed("health.listener", exc)


def _run(check: Check) -> Result:
    started = time.perf_counter()
    try:
        returned = check.probe()
        value = (
            asyncio.run(_bounded(returned, check.timeout))
            if inspect.isawaitable(returned)
            else returned
        )
    except Exception as exc:
        return _failure(check, _describe(exc), _elapsed(check, started))
    elapsed = _elapsed(check, started)
    if isinstance(value, Observation):
        status: Status = value.status or "pass"
        if status == "fail" and not check.critical:
            status = "warn"
        observed = value.value if value.value is not None else elapsed
        return Result(check, status, observed, value.output, time.time())
    if value is False:
        return _failure(check, "the check returned False", elapsed)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Result(check, "pass", value, None, time.time())
    return Result(check, "pass", elapsed, None, time.time())


async def _bounded(awaitable: Awaitable[ProbeResult], timeout: float) -> ProbeResult:
    return await asyncio.wait_for(awaitable, timeout)


def _elapsed(check: Check, started: float) -> float | None:
    if check.unit != "ms":
        return None
    return round((time.perf_counter() - started) * 1000.0, 3)


def _failure(check: Check, output: str, value: float | None) -> Result:
    status: Status = "fail" if check.critical else "warn"
    return Result(check, status, value, output, time.time())


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text if len(text) <= _MAX_OUTPUT else text[: _MAX_OUTPUT - 1] + "…"


def _log_change(result: Result, previous: Status | None) -> None:
    key = result.check.key
    extra = {"check": key, "status": result.status, "previous_status": previous}
    if result.status == "pass":
        _log.info("health check %s recovered (was %s)", key, previous, extra=extra)
    elif result.status == "fail":
        _log.error("health check %s failed: %s", key, result.output, extra=extra)
    else:
        _log.warning("health check %s is degraded: %s", key, result.output, extra=extra)


REGISTRY = Registry()
