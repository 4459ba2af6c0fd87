"""The health probes as msatrace endpoints: ``/livez``, ``/readyz`` and the ``/healthz`` alias.

Imports: the standard library, ``_core.config``, ``_core.endpoint`` and this package.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from msatrace._core.config.settings import Settings
from msatrace._core.endpoint import Endpoint, Response
from msatrace._core.health import report
from msatrace._core.health.registry import REGISTRY


def endpoints(settings: Settings) -> dict[str, Endpoint]:
    """Path -> endpoint for the probes ``settings`` turn on."""
    if not settings.health:
        return {}
    REGISTRY.ttl = settings.health_cache_ttl
    service, version, token = settings.service_name, settings.service_version, settings.health_token

    def live(headers: Mapping[str, str]) -> Response:
        status, body = report.liveness(service, version)
        return status, list(report.HEADERS), body

    def ready(headers: Mapping[str, str]) -> Response:
        details = token is not None and _bearer(headers.get("authorization", ""), token)
        status, body = report.readiness(REGISTRY.results(), service, version, details=details)
        return status, list(report.HEADERS), body

    live_endpoint, ready_endpoint = Endpoint(live), Endpoint(ready, blocking=True)
    alias = ready_endpoint if settings.health_path_answers == "ready" else live_endpoint
    table = {
        settings.health_path: alias,
        settings.health_live_path: live_endpoint,
        settings.health_ready_path: ready_endpoint,
    }
    table.pop("", None)  # a path turned off
    return table


def _bearer(authorization: str, token: str) -> bool:
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )
