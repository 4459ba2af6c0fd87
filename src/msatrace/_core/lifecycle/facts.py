"""What msatrace knows of an incoming request before the application runs, and how its SERVER
span is named and described (OpenTelemetry HTTP server semantic conventions, stable names).

``RequestFacts`` is filled by an adapter; :func:`span_name` and :func:`describe` turn it into
the span's name and attributes, only for a sampled span. ``inbound`` re-exports both names.

Imports: the standard library and ``msatrace._core.semconv`` (and ``trace.propagation``'s
``HeaderBag``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from msatrace._core.semconv import (
    CLIENT_ADDRESS,
    HTTP_METHOD_OTHER,
    HTTP_REQUEST_METHOD,
    HTTP_REQUEST_METHOD_ORIGINAL,
    HTTP_ROUTE,
    HTTP_SPAN_NAME_OTHER,
    KNOWN_METHODS,
    NETWORK_PROTOCOL_NAME,
    NETWORK_PROTOCOL_VERSION,
    SERVER_ADDRESS,
    SERVER_PORT,
    URL_PATH,
    URL_SCHEME,
    USER_AGENT_ORIGINAL,
)
from msatrace._core.trace.propagation import HeaderBag


@dataclass(slots=True)
class RequestFacts:
    """What an adapter knows about a request before the application runs. Values are untrusted."""

    method: str
    path: str
    scheme: str
    headers: HeaderBag
    server_address: str | None = None
    server_port: int | None = None
    client_address: str | None = None
    user_agent: str | None = None
    protocol_version: str | None = None
    # The route template, set by the adapter once the framework has matched it (``None``: no
    # route, e.g. a 404). The span is renamed ``{METHOD} {route}`` when it ends.
    route: str | None = None
    kind: str = "http"
    # fill(source, facts) fills in what only a sampled span records (server address and port,
    # protocol version, scheme) from the adapter's request object, once, before the span's
    # attributes are built: an unsampled request skips the work.
    fill: Callable[[Any, RequestFacts], object] | None = None
    source: Any = None


def span_name(method: str, route: str | None, kind: str = "http") -> str:
    """``{METHOD} {route}``; ``{METHOD}`` without a route; ``HTTP`` for unknown methods.

    A WebSocket connection (``kind="websocket"``) is one span named ``WS {route}``: there is no
    stable semconv name for it, and "GET /chat" would hide that the span lasts the whole
    connection.
    """
    if kind == "websocket":
        return f"WS {route}" if route else "WS"
    if method not in KNOWN_METHODS:
        method = HTTP_SPAN_NAME_OTHER
    return f"{method} {route}" if route else method


def describe(facts: RequestFacts) -> tuple[str, dict[str, Any]]:
    if facts.fill is not None:  # cleared by RequestScope.end()
        facts.fill(facts.source, facts)
    return span_name(facts.method, facts.route, facts.kind), attributes(facts)


def attributes(facts: RequestFacts) -> dict[str, Any]:
    method = facts.method if facts.method in KNOWN_METHODS else HTTP_METHOD_OTHER
    attrs: dict[str, Any] = {
        HTTP_REQUEST_METHOD: method,
        URL_PATH: facts.path,
        URL_SCHEME: facts.scheme,
    }
    if method == HTTP_METHOD_OTHER:
        attrs[HTTP_REQUEST_METHOD_ORIGINAL] = facts.method
    if facts.route:
        attrs[HTTP_ROUTE] = facts.route
    if facts.server_address:
        attrs[SERVER_ADDRESS] = facts.server_address
    if facts.server_port:
        attrs[SERVER_PORT] = facts.server_port
    if facts.client_address:
        attrs[CLIENT_ADDRESS] = facts.client_address
    if facts.user_agent:
        attrs[USER_AGENT_ORIGINAL] = facts.user_agent
    if facts.protocol_version:
        attrs[NETWORK_PROTOCOL_VERSION] = facts.protocol_version
    if facts.kind == "websocket":
        attrs[NETWORK_PROTOCOL_NAME] = "websocket"
    return attrs
