"""``RequestFacts`` from CGI-style request variables: a WSGI environ or Django's ``request.META``.

Both ``msatrace.wsgi`` and ``msatrace.django`` (under WSGI and ASGI servers alike, Django fills
``META`` with the same ``HTTP_*`` keys) read a request the same way, so the reading lives here:
only the trace headers msatrace propagates, the host and the user agent are looked at; every value
is untrusted and goes through the header parsers before anything echoes or logs it.

Imports: the standard library and ``msatrace._core``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from msatrace._core.lifecycle.inbound import Inbound, RequestFacts
from msatrace._core.trace.headers import parse_port, split_host
from msatrace._core.trace.propagation import NO_HEADERS, HeaderBag


def wsgi_path(environ: Mapping[str, Any]) -> str:
    """``SCRIPT_NAME + PATH_INFO`` as text (WSGI passes the raw bytes as latin-1, PEP 3333)."""
    path: str = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    if not path.isascii():
        # A server that already decoded the path (not latin-1 text): keep its text.
        with contextlib.suppress(UnicodeEncodeError):
            path = path.encode("latin-1").decode("utf-8", "backslashreplace")
    return path or "/"


def request_facts(
    environ: Mapping[str, Any], edge: Inbound, path: str, scheme: str | None = None
) -> RequestFacts:
    """The facts of one request from its CGI variables; only the trace headers are parsed.

    Args:
        environ: a WSGI environ or Django's ``request.META``.
        edge: the active ``inbound.active``.
        path: the request path as text (the caller knows how its framework decoded it).
        scheme: ``http``/``https`` when the caller knows better than ``wsgi.url_scheme``.
    """
    # Most requests carry no trace header: one pass in C (map, any) finds that out.
    if any(map(environ.__contains__, edge.cgi_names)):
        bag = _header_bag(environ, edge)
    else:
        bag = NO_HEADERS
    facts = RequestFacts(
        method=environ.get("REQUEST_METHOD", "GET"),
        path=path,
        scheme=scheme or environ.get("wsgi.url_scheme", "http"),
        headers=bag,
        client_address=environ.get("REMOTE_ADDR") or None,
        user_agent=environ.get("HTTP_USER_AGENT"),
    )  # server address and protocol: read by fill_server, below, if sampled
    if edge.recording:  # server address and protocol: span attributes, read if sampled
        facts.fill, facts.source = fill_server, environ
    return facts


def _header_bag(environ: Mapping[str, Any], edge: Inbound) -> HeaderBag:
    bag = HeaderBag()
    for key, name in zip(edge.cgi_names, edge.wanted.values(), strict=True):
        value = environ.get(key)
        if value is not None:
            # WSGI header values are latin-1 text; anything outside ASCII is invalid for every
            # trace header and must never be echoed (HeaderBag treats None as invalid).
            bag.add(name, value if value.isascii() else None)
    return bag


def fill_server(environ: Mapping[str, Any], facts: RequestFacts) -> None:
    """Server address, port and protocol version from the CGI variables, where still unknown."""
    if facts.server_address is None:
        facts.server_address, facts.server_port = server_address(environ)
    if facts.protocol_version is None:
        server_protocol = environ.get("SERVER_PROTOCOL", "")
        if server_protocol[:5] == "HTTP/":
            facts.protocol_version = server_protocol[5:]


def server_address(environ: Mapping[str, Any]) -> tuple[str | None, int | None]:
    """``server.address`` / ``server.port``: the Host header, else ``SERVER_NAME``/``SERVER_PORT``.

    OpenTelemetry HTTP server spans prefer the Host header (semconv http-spans, "HTTP server
    definitions"); a port that is not 1-5 digits up to 65535 is left out.
    """
    host = environ.get("HTTP_HOST")
    if host:
        address, port = split_host(host)
    else:
        address, port = environ.get("SERVER_NAME") or None, str(environ.get("SERVER_PORT", ""))
    return address, parse_port(port)
