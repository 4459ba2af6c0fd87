"""httpx: every request of ``httpx.Client`` and ``httpx.AsyncClient`` carries the trace.

    import msatrace
    msatrace.init()            # patches httpx now, or when it is first imported

Per physical request (each redirect hop and auth round trip counts): a CLIENT span named
``{METHOD}``, child of the current span, with OpenTelemetry HTTP client attributes; the trace
headers of that span (``traceparent``, ``tracestate``, baggage, ``X-Trace-ID``, ``X-Request-ID``)
unless the caller set one of them or the host is not in ``propagate_to``. The span ends when the
response is closed, so a streamed response is covered until then. A failed request (refused,
timeout, TLS) sets the span's error status and ``error.type``; the exception reaches the caller
as it was. Clients with custom transports or mounts are covered: the patch sits above them. A
response a transport returns already read (``MockTransport``, caching and retry transports)
ends its span at once; a streamed one must be closed (or read to the end), as httpx requires.

``patch()`` is idempotent and ``unpatch()`` (or ``msatrace.unpatch()``) restores httpx.
Needs the ``httpx`` extra (``pip install 'msatrace[httpx]'``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Container, Coroutine, Iterator
from typing import Any

try:
    import httpx
except ImportError:  # pragma: no cover - exercised by the bare test session
    raise ImportError("msatrace.httpx needs httpx: pip install 'msatrace[httpx]'") from None

from msatrace._core import patching, upstream
from msatrace._core.lifecycle import outbound
from msatrace._core.lifecycle.hop import UNTRACED, Hop
from msatrace._core.safety import failed

__all__ = ["patch", "unpatch"]

Wrapped = Callable[..., Any]
_PATCHES: tuple[tuple[type[Any], str, Callable[..., Any]], ...] = ()


def patch() -> None:
    """Trace and propagate every request of ``httpx.Client`` and ``httpx.AsyncClient``.

    ``msatrace.init()`` calls this (setting ``patch`` / ``MSATRACE_PATCH``); calling it again does
    nothing. Clients created before the call are covered too (the patch is on the classes).
    """
    patching.wrap_each(_patches())


def unpatch() -> None:
    """Restore httpx's own ``send`` methods."""
    patching.unwrap_each(_PATCHES)


# Hooks Client.send: the public entry of every request (get, post, stream, send), above the
# transport and mounts. It only marks the API call; spans and headers come per physical request
# from _send_single_request below, which send() reaches through auth and redirect handling.
def _send(wrapped: Wrapped, instance: httpx.Client, args: Any, kwargs: Any) -> Any:
    call = outbound.begin(instance, _CLIENT)
    if call is None:
        return wrapped(*args, **kwargs)
    try:
        return wrapped(*args, **kwargs)
    finally:
        call.close()


# Hooks AsyncClient.send: as Client.send.
async def _send_async(
    wrapped: Callable[..., Coroutine[Any, Any, Any]],
    instance: httpx.AsyncClient,
    args: Any,
    kwargs: Any,
) -> Any:
    call = outbound.begin(instance, _CLIENT)
    if call is None:
        return await wrapped(*args, **kwargs)
    try:
        return await wrapped(*args, **kwargs)
    finally:
        call.close()


# Hooks Client._send_single_request: httpx calls it once per physical request, after auth and
# redirects (Client._send_handling_redirects builds each hop's request from the last one) and
# right before the transport; so each hop gets its own span and headers, whatever the transport.
def _send_single(wrapped: Wrapped, instance: httpx.Client, args: Any, kwargs: Any) -> Any:
    call = _current.get()  # outbound.current(instance), inline
    if call is None or call.owner is not instance:
        return wrapped(*args, **kwargs)
    try:
        request: httpx.Request = args[0] if args else kwargs["request"]
        hop = call.hop(request.method, request.url, request.headers)
    except Exception as exc:
        failed("httpx.request", exc)
        hop = None
    if hop is None or hop.span is None:  # untouched, or headers only (tracing off)
        return wrapped(*args, **kwargs)
    try:
        response = wrapped(*args, **kwargs)
    except BaseException as exc:
        hop.fail(exc)
        raise
    finally:
        hop.detach()
    if not hop.ended:  # a span to end when the body closes
        _end_with(response, hop, _Body)
    return response


# Hooks AsyncClient._send_single_request: as Client._send_single_request.
async def _send_single_async(
    wrapped: Callable[..., Coroutine[Any, Any, Any]],
    instance: httpx.AsyncClient,
    args: Any,
    kwargs: Any,
) -> Any:
    call = _current.get()  # outbound.current(instance), inline
    if call is None or call.owner is not instance:
        return await wrapped(*args, **kwargs)
    try:
        request: httpx.Request = args[0] if args else kwargs["request"]
        hop = call.hop(request.method, request.url, request.headers)
    except Exception as exc:
        failed("httpx.request", exc)
        hop = None
    if hop is None or hop.span is None:  # untouched, or headers only (tracing off)
        return await wrapped(*args, **kwargs)
    try:
        response = await wrapped(*args, **kwargs)
    except BaseException as exc:
        hop.fail(exc)
        raise
    finally:
        hop.detach()
    if not hop.ended:
        _end_with(response, hop, _AsyncBody)
    return response


def _end_with(response: httpx.Response, hop: Hop, body: Callable[[Any, Hop], Any]) -> None:
    """End the hop's span when ``response`` closes, or now: no close() follows a closed one."""
    # MockTransport, caches and retry transports build or read the body before httpx sees it.
    try:
        if response.is_closed:
            hop.respond(response.status_code, _version(response))
            hop.end()
            return
        response.stream = body(response.stream, hop)  # first: the span must end
        hop.respond(response.status_code, _version(response))
    except Exception as exc:
        failed("httpx.response", exc)


def _target(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def _names(headers: httpx.Headers) -> Container[str]:
    """``outbound.lowercase_names`` for ``httpx.Headers``: its public raw ``(name, value)`` pairs.

    Names are ASCII tokens: latin-1 decodes any byte, and a name that is not ASCII can match none
    of ours. Headers are written the generic way (``headers[name] = value``).
    """
    return {name.decode("latin-1").lower() for name, _ in headers.raw}


_CLIENT = outbound.Client(_target, _names)
_current = outbound.CURRENT_CALL


def _version(response: httpx.Response) -> str | None:
    return response.http_version.partition("/")[2] or None  # "HTTP/1.1" -> "1.1"


class _Body(httpx.SyncByteStream):
    """A response body that ends its request's span when httpx closes it (or it fails)."""

    def __init__(self, stream: httpx.SyncByteStream, hop: Hop) -> None:
        self._stream = stream
        self._hop = hop

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._stream
        except Exception as exc:
            self._hop.fail(exc)
            raise

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            # httpx's response and its stream refer to each other, so this wrapper waits for
            # the cyclic collector; the hop (and any exception it holds) is let go now.
            hop, self._hop = self._hop, UNTRACED
            hop.end()


class _AsyncBody(httpx.AsyncByteStream):
    """As ``_Body``, for ``AsyncClient``."""

    def __init__(self, stream: httpx.AsyncByteStream, hop: Hop) -> None:
        self._stream = stream
        self._hop = hop

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except Exception as exc:
            self._hop.fail(exc)
            raise

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            hop, self._hop = self._hop, UNTRACED  # as _Body.close
            hop.end()


# Fallback when httpx has no usable _send_single_request (upstream entry
# httpx.send-single-request): the public send() is then the hop too, one span and one set of
# headers per API call (redirects and auth round trips share them).
def _send_as_hop(wrapped: Wrapped, instance: httpx.Client, args: Any, kwargs: Any) -> Any:
    call = outbound.begin(instance, _CLIENT)
    if call is None:
        return wrapped(*args, **kwargs)
    try:
        return _send_single(wrapped, instance, args, kwargs)
    finally:
        call.close()


# Fallback for AsyncClient.send: as _send_as_hop.
async def _send_as_hop_async(
    wrapped: Callable[..., Coroutine[Any, Any, Any]],
    instance: httpx.AsyncClient,
    args: Any,
    kwargs: Any,
) -> Any:
    call = outbound.begin(instance, _CLIENT)
    if call is None:
        return await wrapped(*args, **kwargs)
    try:
        return await _send_single_async(wrapped, instance, args, kwargs)
    finally:
        call.close()


def _patches() -> tuple[tuple[type[Any], str, Callable[..., Any]], ...]:
    """What ``patch()`` wraps: per hop where httpx has its private per-request method, else send.

    The per-request hooks first: if one could not be applied, patch() fails before changing
    anything (the import hook reports it once) instead of half-patching.
    """
    sync_hop = upstream.httpx_hop_method(httpx.Client)
    async_hop = upstream.httpx_hop_method(httpx.AsyncClient)
    if sync_hop is None or async_hop is None:
        return (
            (httpx.Client, "send", _send_as_hop),
            (httpx.AsyncClient, "send", _send_as_hop_async),
        )
    return (
        (httpx.Client, sync_hop, _send_single),
        (httpx.AsyncClient, async_hop, _send_single_async),
        (httpx.Client, "send", _send),
        (httpx.AsyncClient, "send", _send_async),
    )


# Every attribute either way may carry a patch: unpatch() restores them all.
_PATCHES = (
    (httpx.Client, upstream.HTTPX_HOP, _send_single),
    (httpx.AsyncClient, upstream.HTTPX_HOP, _send_single_async),
    (httpx.Client, "send", _send),
    (httpx.AsyncClient, "send", _send_async),
)

# init() first: importing httpx above fired its hook before patch() existed; it runs here.
patching.loaded(__name__)
