"""ASGI: one trace per request, for any ASGI application.

    app.add_middleware(msatrace.asgi.TraceMiddleware)      # Starlette / FastAPI
    app = msatrace.asgi.TraceMiddleware(app)               # any ASGI application

A pure ASGI middleware (not ``BaseHTTPMiddleware``): ``http`` requests get a SERVER span, the
trace context for everything the request does, ``X-Trace-ID`` / ``X-Request-ID`` response headers
and one access-log line; a ``websocket`` connection gets the trace context and one span for the
whole connection; ``lifespan`` passes through, and at its shutdown (the server is stopping, its
last requests are done) the spans still queued are exported before the server goes on, within
``MSATRACE_SHUTDOWN_TIMEOUT``: uvicorn ends the process by re-raising ``SIGTERM``, before
``atexit``. The span and the access line's duration cover the whole body, streamed or not.

For Starlette and FastAPI prefer ``msatrace.starlette.instrument(app)`` /
``msatrace.fastapi.instrument(app)``: they place this middleware outside the framework's
``ServerErrorMiddleware`` (so the 500 it sends carries ``X-Trace-ID``) and name spans by route
template. Added with ``add_middleware`` it sits inside, and such a 500 has no trace header.

No extra needed; this module imports only ``msatrace._core``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from msatrace._core import runtime
from msatrace._core.endpoint import Endpoint
from msatrace._core.lifecycle import inbound, served
from msatrace._core.lifecycle.inbound import RequestFacts, RequestScope
from msatrace._core.safety import failed, guard
from msatrace._core.trace.headers import parse_port, split_host
from msatrace._core.trace.propagation import NO_HEADERS, HeaderBag

__all__ = ["TraceMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
RouteLookup = Callable[[Scope], str | None]

# Set on the scope by the outermost TraceMiddleware: an inner one (added twice, or a mounted
# sub-application instrumented on its own) passes the request through instead of tracing it again.
_SCOPE_KEY = "msatrace.request"
_TRACED = frozenset(("http", "websocket"))
_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}
_START = frozenset(("http.response.start", "websocket.accept", "websocket.http.response.start"))
_LIFESPAN_DONE = frozenset(("lifespan.shutdown.complete", "lifespan.shutdown.failed"))


class TraceMiddleware:
    """Trace every HTTP request and WebSocket connection that passes through.

    Per request: continues the incoming trace (or starts one), makes it current for the
    application, adds ``X-Trace-ID`` and ``X-Request-ID`` to the response (never replacing a
    header the application set), records a SERVER span whose duration ends with the response's
    last chunk, and writes one access-log line when the request is done. An exception from the
    application is logged once, recorded on the span and re-raised unchanged. Excluded paths
    (``MSATRACE_EXCLUDE_PATHS``) and requests before ``msatrace.init()`` pass through untouched.

    Args:
        app: the ASGI application to wrap.
        route: returns the matched route template from the scope after the application ran
            (``msatrace.starlette`` passes one); without it spans are named by method only.
    """

    def __init__(self, app: ASGIApp, *, route: RouteLookup | None = None) -> None:
        self.app = app
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, _adopting(receive), _flushing(send))
            return
        if scope["type"] not in _TRACED or _SCOPE_KEY in scope:
            await self.app(scope, receive, send)  # not ours, or already traced further out
            return
        edge = inbound.active
        req = None
        if edge is not None and scope["path"] not in edge.exclude_paths:
            try:
                req = edge.begin(_facts(scope, edge.wanted, edge.recording))
            except Exception as exc:
                failed("asgi.begin", exc)
        elif edge is not None and scope["type"] == "http":
            endpoint = served.lookup(scope["method"], scope["path"])
            if endpoint is not None:  # msatrace's own (a health probe): the app never sees it
                await _answer(endpoint, scope, send)
                return
        if req is None:
            await self.app(scope, receive, send)
            return
        scope[_SCOPE_KEY] = req

        async def traced_send(message: Message) -> None:
            kind = message["type"]
            if kind in _START:
                message = _with_trace_headers(req, message)
            elif kind == "websocket.close" and req.status is None:
                req.status = 403  # closed before accept: the server answers 403 (ASGI spec)
            await send(message)
            if kind == "http.response.body" and not message.get("more_body", False):
                req.response_finished()

        try:
            await self.app(scope, receive, traced_send)
        except BaseException as exc:  # an error, or cancelled (client gone, server stopping)
            if self.route is not None:  # matched before it raised: the report names the route
                with guard("asgi.route"):
                    req.facts.route = self.route(scope) or req.facts.route
            req.raised(exc)
            raise
        finally:
            try:
                if self.route is not None:
                    req.facts.route = self.route(scope) or req.facts.route
                req.end()
            except Exception as exc:
                failed("asgi.end", exc)


async def _answer(endpoint: Endpoint, scope: Scope, send: Send) -> None:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    method = scope["method"]
    if endpoint.blocking and _asyncio_loop():
        status, pairs, body = await asyncio.to_thread(served.answer, endpoint, method, headers)
    else:
        status, pairs, body = served.answer(endpoint, method, headers)
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in pairs]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def _asyncio_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # another async library (trio): answer on this thread
        return False
    return True


def _adopting(receive: Receive) -> Receive:
    """``receive`` for the lifespan: at startup, take the server's loggers over again.

    ``uvicorn.run(app)`` configures uvicorn's loggers (plain handlers, no propagation) after an
    ``init()`` at import time, which would print a second, plain access line per request.
    """

    async def adopting_receive() -> Message:
        message = await receive()
        if message.get("type") == "lifespan.startup":
            try:
                runtime.server_started()
            except Exception as exc:
                failed("asgi.lifespan", exc)
        return message

    return adopting_receive


def _flushing(send: Send) -> Send:
    """``send`` for the lifespan: export queued spans before telling the server shutdown is done."""

    async def flushing_send(message: Message) -> None:
        if message.get("type") in _LIFESPAN_DONE:
            # Blocks the loop, within the shutdown bound: the server has stopped serving, and a
            # thread would need the loop's executor (asyncio only; ASGI servers run others too).
            try:
                runtime.flush()
            except Exception as exc:
                failed("asgi.lifespan", exc)
        await send(message)

    return flushing_send


def _with_trace_headers(req: RequestScope, message: Message) -> Message:
    """A copy of a response-start message with our headers; the app's message is not changed."""
    try:
        req.status = message.get("status", 101)  # websocket.accept is a 101 handshake
        headers = req.response_header_bytes(message.get("headers") or ())
        return {**message, "headers": headers}
    except Exception as exc:
        failed("asgi.headers", exc)
        return message


def _facts(scope: Scope, wanted: dict[bytes, str], recording: bool) -> RequestFacts:
    """What the scope says about the request; only trace headers and user agent are read."""
    bag = NO_HEADERS  # replaced by a bag of its own at the first trace header
    agent = None
    for name, value in scope["headers"]:
        key = wanted.get(name)
        if key is not None:
            if bag is NO_HEADERS:
                bag = HeaderBag()
            try:
                bag.add(key, value.decode("ascii"))
            except UnicodeDecodeError:
                bag.add(key, None)  # non-ASCII: invalid, never echoed
        elif name == b"user-agent":
            agent = value.decode("latin-1")
    websocket = scope["type"] == "websocket"
    client = scope.get("client")
    facts = RequestFacts(
        method="GET" if websocket else scope["method"],
        path=scope["path"],
        scheme=scope.get("scheme") or ("ws" if websocket else "http"),
        headers=bag,
        client_address=client[0] if client else None,
        user_agent=agent,
        protocol_version=scope.get("http_version"),
        kind="websocket" if websocket else "http",
    )  # server address and port: read by _fill_server, below, if sampled
    if recording:  # server address and port: span attributes, read if sampled
        facts.fill, facts.source = _fill_server, scope
    return facts


def _fill_server(scope: Scope, facts: RequestFacts) -> None:
    """``RequestFacts.fill``: server.address/port from the Host header, else the socket."""
    host = next((value for name, value in scope["headers"] if name == b"host"), None)
    facts.server_address, facts.server_port = _server(host, scope.get("server"), facts.scheme)


def _server(host: bytes | None, server: Any, scheme: str) -> tuple[str | None, int | None]:
    """server.address/port from the Host header, else the socket (semconv HTTP server spans)."""
    if host:
        address, port = split_host(host.decode("latin-1"))
        return address, parse_port(port) if port else _DEFAULT_PORTS.get(scheme)
    if server:
        return str(server[0]), server[1]
    return None, None
