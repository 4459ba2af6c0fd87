"""requests: every request (``requests.get``, ``Session``, any adapter) carries the trace.

    import msatrace
    msatrace.init()            # patches requests now, or when it is first imported

Per physical request (each redirect hop counts): a CLIENT span named ``{METHOD}``, child of the
current span, with OpenTelemetry HTTP client attributes; the trace headers of that span
(``traceparent``, ``tracestate``, baggage, ``X-Trace-ID``, ``X-Request-ID``) unless the caller set
one of them or the host is not in ``propagate_to``. With ``stream=True`` the span ends when the
response is closed or its body read to the end. A failed request (refused, timeout, TLS) sets the
span's error status and ``error.type``; the exception reaches the caller as it was. Sessions
created before ``init()`` are covered: the patch is on the class.

``patch()`` is idempotent and ``unpatch()`` (or ``msatrace.unpatch()``) restores requests.
Needs the ``requests`` extra (``pip install 'msatrace[requests]'``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Any
from urllib.parse import urlsplit

try:
    import requests
except ImportError:  # pragma: no cover - exercised by the bare test session
    raise ImportError(
        "msatrace.requests needs requests: pip install 'msatrace[requests]'"
    ) from None

from msatrace._core import patching, upstream
from msatrace._core.lifecycle import outbound
from msatrace._core.lifecycle.hop import Hop
from msatrace._core.safety import failed

__all__ = ["patch", "unpatch"]

Wrapped = Callable[..., Any]
_HOP = "_msatrace_hop"  # on a streamed Response: the hop whose span ends when it closes
_VERSIONS = {10: "1.0", 11: "1.1", 20: "2"}  # urllib3 HTTPResponse.version -> semconv
_PATCHES: tuple[tuple[type[Any], str, Callable[..., Any]], ...] = ()


def patch() -> None:
    """Trace and propagate every request sent by requests.

    ``msatrace.init()`` calls this (setting ``patch`` / ``MSATRACE_PATCH``); calling it again does
    nothing. With tracing off only ``Session.send`` is patched: the ``Response`` hooks only end
    spans, and would cost every response a call through them.
    """
    patching.wrap_each(_PATCHES if outbound.records_spans() else _PATCHES[:1])


def unpatch() -> None:
    """Restore requests' own methods."""
    patching.unwrap_each(_PATCHES)


# Hooks Session.send: requests.get/post/... build a Session and call Session.request, which calls
# send, and sessions created before init() share the class method. requests follows redirects by
# calling send again on the same session for each hop (Session.resolve_redirects), from inside the
# first send: the outer send is the API call and its first hop, a re-entry is the next hop.
def _send(wrapped: Wrapped, instance: requests.Session, args: Any, kwargs: Any) -> Any:
    call = _current.get()  # outbound.current(instance), inline
    own = None
    if call is None or call.owner is not instance:
        call = own = outbound.begin(instance, _CLIENT)
        if call is None:
            return wrapped(*args, **kwargs)
    try:
        try:
            request: requests.PreparedRequest = args[0] if args else kwargs["request"]
            headers: MutableMapping[str, Any] = request.headers  # str | bytes values; we add str
            hop = call.hop(request.method or "GET", request.url or "", headers)
        except Exception as exc:
            failed("requests.request", exc)
            hop = None
        if hop is None or hop.span is None:  # untouched, or headers only (tracing off)
            return wrapped(*args, **kwargs)
        try:
            response = wrapped(*args, **kwargs)
        except BaseException as exc:
            if hop.superseded:
                hop.end()  # this hop was a redirect that succeeded; a later hop failed
            else:
                hop.fail(exc)
            raise
        finally:
            hop.detach()
        if not hop.ended:  # a span to end
            try:
                _finish(hop, response, kwargs.get("stream", instance.stream))
            except Exception as exc:
                failed("requests.response", exc)
        return response
    finally:
        if own is not None:
            own.close()


def _target(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)  # cached by the standard library
    # SplitResult.hostname and .port re-parse the netloc on every read; a service calls few
    # hosts, so each netloc's pair is parsed once (an invalid port still raises every time).
    found = _HOSTS.get(parts.netloc)
    if found is None:
        found = (parts.hostname or "", parts.port)
        if len(_HOSTS) >= _HOSTS_SIZE:
            _HOSTS.clear()
        _HOSTS[parts.netloc] = found
    return parts.scheme, found[0], found[1]


_HOSTS: dict[str, tuple[str, int | None]] = {}  # netloc -> (host, port)
_HOSTS_SIZE = 1024


# Headers are read and written the generic way (outbound.lowercase_names, outbound.write_all):
# CaseInsensitiveDict's public mapping interface.
_CLIENT = outbound.Client(_target)
_current = outbound.CURRENT_CALL


def _finish(hop: Hop, response: requests.Response, stream: bool) -> None:
    if hop.superseded and response.history:
        first = response.history[0]  # this hop's response; the redirects were followed since
        hop.respond(first.status_code, _VERSIONS.get(getattr(first.raw, "version", 0)))
        hop.end()
        return
    hop.respond(response.status_code, _VERSIONS.get(getattr(response.raw, "version", 0)))
    if stream and upstream.requests_body_unread(response):
        setattr(response, _HOP, hop)  # ends in Response.close() or when the body is read
    else:
        hop.end()


# Hooks Response.close: where a streamed response's life ends (``with`` block or close()).
def _close(wrapped: Wrapped, instance: requests.Response, args: Any, kwargs: Any) -> Any:
    try:
        return wrapped(*args, **kwargs)
    finally:
        hop = instance.__dict__.pop(_HOP, None)
        if hop is not None:
            hop.end()


# Hooks Response.iter_content: .content, .text, .json() and iter_lines() all read through it, so
# a streamed response read to its end finishes its span even if nobody calls close().
def _iter_content(wrapped: Wrapped, instance: requests.Response, args: Any, kwargs: Any) -> Any:
    chunks = wrapped(*args, **kwargs)
    if _HOP not in instance.__dict__:
        return chunks
    return _read_to_end(chunks, instance)


def _read_to_end(chunks: Iterator[Any], response: requests.Response) -> Iterator[Any]:
    try:
        yield from chunks
    except Exception as exc:
        hop = response.__dict__.pop(_HOP, None)
        if hop is not None:
            hop.fail(exc)
        raise
    hop = response.__dict__.pop(_HOP, None)
    if hop is not None:
        hop.end()


_PATCHES = (
    (requests.Session, "send", _send),  # first: the only one patch() applies with tracing off
    (requests.Response, "close", _close),
    (requests.Response, "iter_content", _iter_content),
)

# init() first: importing requests above fired its hook before patch() existed; it runs here.
patching.loaded(__name__)
