"""Health checks: register what the service depends on; msatrace answers the probes.

```python
from msatrace import health

health.add_check(health.redis_check("redis://cache:6379/0"))
health.add_check(health.http_check("http://inventory:8000/livez", name="inventory"))
health.add_check("database", lambda: db.execute("SELECT 1"), component_type="datastore")
```

``/livez`` answers as long as the process does and asks no dependency; ``/readyz`` runs the
registered checks (concurrently, each within its timeout, results cached for a few seconds) and
answers 503 when a critical one fails. A check is a callable, plain or ``async``: it raises when
the component is unhealthy, and may return the value it observed or an :class:`Observation`.
"""

from __future__ import annotations

from msatrace._core import runtime
from msatrace._core.health import report
from msatrace._core.health.checks import Check, Observation, Probe, Result
from msatrace._core.health.probes import (
    celery_broker_check,
    disk_check,
    http_check,
    redis_check,
    tcp_check,
)
from msatrace._core.health.registry import REGISTRY, Listener

__all__ = [
    "Check",
    "Observation",
    "Result",
    "add_check",
    "celery_broker_check",
    "disk_check",
    "http_check",
    "liveness",
    "on_change",
    "readiness",
    "redis_check",
    "remove_check",
    "results",
    "tcp_check",
]


def add_check(
    check: Check | str,
    probe: Probe | None = None,
    *,
    critical: bool = True,
    timeout: float = 2.0,
    component_type: str = "component",
    measurement: str = "responseTime",
    unit: str | None = "ms",
) -> Check:
    """Register a check: a built :class:`Check`, or a name and a probe callable.

    A non-``critical`` check reports ``warn`` when it fails and never makes the service unready.
    Returns the registered check; one with the same ``name:measurement`` is replaced.
    """
    if isinstance(check, Check):
        if probe is not None:
            raise TypeError("add_check(check, probe): give a Check, or a name and a probe")
        return REGISTRY.add(check)
    if probe is None or not callable(probe):
        raise TypeError(f"add_check({check!r}, ...): the probe must be a callable")
    return REGISTRY.add(
        Check(
            name=check,
            probe=probe,
            measurement=measurement,
            component_type=component_type,
            unit=unit,
            critical=critical,
            timeout=timeout,
        )
    )


def remove_check(name: str) -> None:
    """Unregister the check named ``name`` (or keyed ``name:measurement``)."""
    REGISTRY.remove(name)


def results() -> list[Result]:
    """Every check's current result (cached for the configured time; runs them when stale)."""
    return REGISTRY.results()


def on_change(listener: Listener) -> None:
    """Call ``listener(result, previous_status)`` whenever a check changes state."""
    REGISTRY.listen(listener)


def readiness(*, details: bool = True) -> tuple[int, bytes]:
    """The ``/readyz`` answer: HTTP status and ``application/health+json`` body."""
    service, version = _identity()
    return report.readiness(REGISTRY.results(), service, version, details=details)


def liveness() -> tuple[int, bytes]:
    """The ``/livez`` answer: always 200 while the process runs."""
    return report.liveness(*_identity())


def _identity() -> tuple[str, str]:
    rt = runtime.current()
    if rt is None:
        return "", ""
    return rt.settings.service_name, rt.settings.service_version
