"""The ``application/health+json`` response of the IETF draft for ``/livez`` and ``/readyz``.

Per draft-inadarei-api-health-check-06: ``status`` is ``pass``, ``warn`` or ``fail``; ``checks``
maps ``component:measurement`` to an array of objects with ``componentType``, ``observedValue``,
``observedUnit``, ``status`` and an RFC 3339 ``time``. The HTTP status is 200 for pass and warn and
503 for fail. A caller that is not trusted sees which check is in which state but no ``output``
(error text); nothing from the process's environment is ever part of a response.

Imports: the standard library and this package.
"""

from __future__ import annotations

import json
import time
from typing import Any

from msatrace._core.health.checks import Result, worst

CONTENT_TYPE = "application/health+json"
HEADERS: tuple[tuple[str, str], ...] = (
    ("content-type", CONTENT_TYPE),
    ("cache-control", "no-store"),
)


def liveness(service: str, version: str) -> tuple[int, bytes]:
    """The process answers: no dependency is asked."""
    return 200, _dump({"status": "pass", "serviceId": service, "releaseId": version})


def readiness(
    results: list[Result], service: str, version: str, *, details: bool
) -> tuple[int, bytes]:
    """Every check's last result, combined: 503 when any critical check fails."""
    status = worst([r.status for r in results])
    checks: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        checks.setdefault(result.check.key, []).append(_entry(result, details))
    body: dict[str, Any] = {"status": status, "serviceId": service, "releaseId": version}
    if checks:
        body["checks"] = checks
    return (503 if status == "fail" else 200), _dump(body)


def _entry(result: Result, details: bool) -> dict[str, Any]:
    check = result.check
    entry: dict[str, Any] = {
        "componentId": check.name,
        "componentType": check.component_type,
        "status": result.status,
        "time": rfc3339(result.time),
    }
    if result.value is not None:
        entry["observedValue"] = result.value
        if check.unit:
            entry["observedUnit"] = check.unit
    if details and result.output:
        entry["output"] = result.output
    return entry


def rfc3339(seconds: float) -> str:
    """UTC, millisecond precision, ``Z``: ``2026-12-04T17:02:16.470Z``."""
    whole = int(seconds)
    millis = int((seconds - whole) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


def _dump(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
