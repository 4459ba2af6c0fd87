"""msatrace's own endpoints, answered by the middleware before the application sees the request.

``active`` maps a path to its :class:`~msatrace._core.endpoint.Endpoint` (the health probes
today), rebuilt at each ``init()`` and emptied at ``shutdown()``. Those paths are also excluded
from traces and access lines (``settings.own_paths``), so adapters look one up only for a request
they already skip: a traced request pays nothing for it.

Imports: ``_core.runtime``, ``_core.health``, ``_core.endpoint``, ``_core.safety``.
"""

from __future__ import annotations

from collections.abc import Mapping

from msatrace._core import runtime
from msatrace._core.endpoint import Endpoint, Response
from msatrace._core.health.endpoints import endpoints as health_endpoints
from msatrace._core.safety import failed

active: dict[str, Endpoint] = {}

_ANSWERED = frozenset(("GET", "HEAD"))


def lookup(method: str, path: str) -> Endpoint | None:
    """The endpoint answering ``method path``, or ``None`` (the application answers)."""
    if method not in _ANSWERED:
        return None
    return active.get(path)


def answer(endpoint: Endpoint, method: str, headers: Mapping[str, str]) -> Response:
    """Call the endpoint; a failure answers 500 with no detail (and is reported once)."""
    try:
        status, response_headers, body = endpoint.respond(headers)
    except Exception as exc:
        failed("endpoint", exc)
        status, response_headers, body = 500, [("content-type", "text/plain")], b"error\n"
    response_headers = [*response_headers, ("content-length", str(len(body)))]
    return status, response_headers, (b"" if method == "HEAD" else body)


def _runtime_changed(rt: runtime.Runtime | None) -> None:
    global active
    active = {} if rt is None else dict(health_endpoints(rt.settings))


runtime.watch(_runtime_changed)
