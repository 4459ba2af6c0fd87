"""The framework-neutral lifecycle of one outgoing HTTP call (httpx, requests).

A client adapter marks two places. The library's "send" entry point becomes a ``Call``
(``begin(client)`` ... ``call.close()``): one API call, which may send several physical requests
(redirects, auth round trips). Each physical request becomes a ``Hop`` (``call.hop(...)``): one
CLIENT span, the trace headers written for that request, and an attached context that carries the
span and OpenTelemetry's "HTTP instrumentation suppressed" flag while the library sends it, so that
OpenTelemetry's own requests/httpx/urllib3 instrumentation, when also enabled, stands aside: one
span and one set of headers per request. The adapter ends a hop when its response is closed
(``hop.py``: the hop's end is an outcome, handed to the span and metrics sinks; with tracing off
and metrics on a hop has no span but still an outcome).

Every decision lives here: whether a host may receive trace headers (``propagate_to``), which
headers are added (never one the caller set), span name and attributes (OpenTelemetry HTTP client
semantic conventions, stable names), ``url.full`` redaction, and the error policy. Internal
failures never reach the application (``guard()``, or ``safety.failed`` on the hot path).

Imports: the standard library, opentelemetry and ``msatrace._core``.
"""

from __future__ import annotations

import fnmatch
import re
import time
from collections.abc import Callable, Container, Mapping, MutableMapping
from contextvars import ContextVar, Token
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import INVALID_SPAN, SpanKind

from msatrace._core import runtime, upstream
from msatrace._core.lifecycle import outcome
from msatrace._core.lifecycle.hop import UNTRACED as UNTRACED  # moved there; kept importable
from msatrace._core.lifecycle.hop import Hop as Hop
from msatrace._core.lifecycle.outcome import Sink
from msatrace._core.safety import failed
from msatrace._core.semconv import (
    HTTP_METHOD_OTHER,
    HTTP_REQUEST_METHOD,
    HTTP_REQUEST_METHOD_ORIGINAL,
    HTTP_REQUEST_RESEND_COUNT,
    HTTP_SPAN_NAME_OTHER,
    KNOWN_METHODS,
    SERVER_ADDRESS,
    SERVER_PORT,
    URL_FULL,
)
from msatrace._core.spans import tracing
from msatrace._core.trace import context
from msatrace._core.trace.context import otel_attach, otel_current
from msatrace._core.trace.propagation import TRACEPARENT, TRACESTATE

# OpenTelemetry's instrumentations skip a request when either key is set in the current context
# (opentelemetry-instrumentation utils.is_http_instrumentation_enabled); the SDK's span exporters
# set the first one while they export, so the exporter's own HTTP calls are never traced.
_SUPPRESS = upstream.SUPPRESS_INSTRUMENTATION_KEY  # private in OpenTelemetry: see upstream
_SUPPRESS_HTTP = upstream.SUPPRESS_HTTP_INSTRUMENTATION_KEY
_SUPPRESS_PLAIN = "suppress_instrumentation"  # older instrumentations' spelling of the first key
# semconv url.full: query values of these keys are replaced by REDACTED (matched case-sensitively).
_SENSITIVE_QUERY = frozenset(("AWSAccessKeyId", "Signature", "sig", "X-Goog-Signature"))
_SENSITIVE_SEARCH = re.compile("|".join(map(re.escape, sorted(_SENSITIVE_QUERY)))).search
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_CACHE_SIZE = 1024

_call: ContextVar[Call | None] = ContextVar("msatrace.outbound_call", default=None)


class HostPolicy:
    """``propagate_to`` compiled once: globs (``*.internal``) and ``re:`` regexes, whole host.

    Hosts are compared in lowercase; a pattern must match the whole host name (no port).
    """

    __slots__ = ("_cache", "_pattern", "everywhere")

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.everywhere = "*" in patterns
        parts = [p[3:] if p.startswith("re:") else fnmatch.translate(p) for p in patterns]
        joined = "|".join(f"(?:{p})" for p in parts)
        self._pattern = re.compile(joined, re.IGNORECASE) if parts else None
        self._cache: dict[str, bool] = {}

    def allows(self, host: str) -> bool:
        """Whether trace headers may be sent to ``host``."""
        if self.everywhere:
            return True
        found = self._cache.get(host)
        if found is None:
            pattern = self._pattern
            found = pattern is not None and pattern.fullmatch(host.lower()) is not None
            if len(self._cache) >= _HOST_CACHE_SIZE:
                self._cache.clear()
            self._cache[host] = found
        return found


_policy: tuple[runtime.Runtime, HostPolicy] | None = None


def _policy_for(rt: runtime.Runtime) -> HostPolicy:
    global _policy
    cached = _policy
    if cached is None or cached[0] is not rt:
        cached = _policy = (rt, HostPolicy(rt.settings.propagate_to))
    return cached[1]


def should_propagate(host: str) -> bool:
    """Whether the running configuration lets trace headers go to ``host``."""
    rt = runtime.current()
    return rt is not None and _policy_for(rt).allows(host)


def records_spans() -> bool:
    """Whether hops may have an end to report: a CLIENT span or an outcome for the metrics
    (true until ``init()`` is known to have tracing and metrics off).

    Otherwise no hop has an end, so an adapter's hooks that only end hops (requests'
    ``Response.close``) need not be installed.
    """
    rt = runtime.current()
    return rt is None or rt.tracing.tracer is not None or bool(outcome.sinks_for(rt).client)


def url_full(url: str) -> str:
    """``url`` for ``url.full``: credentials and sensitive query values replaced by ``REDACTED``.

    semconv url.full: "MUST NOT contain credentials" (``REDACTED:REDACTED@``), and the values of
    ``AWSAccessKeyId``, ``Signature``, ``sig`` and ``X-Goog-Signature`` are redacted, keys kept.
    """
    if "@" not in url and "?" not in url:
        return url
    parts = urlsplit(url)
    netloc, query = parts.netloc, parts.query
    if "@" in netloc:
        netloc = "REDACTED:REDACTED@" + netloc.rpartition("@")[2]
    if query and _SENSITIVE_SEARCH(query) is not None:  # any key's name anywhere in the query
        pairs = query.split("&")
        for i, pair in enumerate(pairs):
            key, sep, _ = pair.partition("=")
            if sep and key in _SENSITIVE_QUERY:
                pairs[i] = key + "=REDACTED"
        query = "&".join(pairs)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def lowercase_names(headers: Mapping[str, Any]) -> Container[str]:
    """The names already in ``headers``, in lowercase: the generic way, for any mapping.

    Client adapters pass a faster one for their own header containers, with the same contract.
    """
    return {name.lower() for name in headers}


def write_all(headers: MutableMapping[str, Any], fresh: dict[str, str]) -> None:
    """Add every header of ``fresh`` (none of them is in ``headers`` yet): the generic way."""
    for name, value in fresh.items():
        headers[name] = value


# url -> (scheme, host, port); host as the client will connect to it, port None if not given.
Target = Callable[[Any], tuple[str, str, int | None]]
# headers -> the lowercase names it holds: see lowercase_names for the contract.
Names = Callable[[Any], Container[str]]
# (headers, fresh) -> None: add fresh's headers, none of which is there yet (see write_all).
Write = Callable[[Any, dict[str, str]], None]


class Client:
    """How one client library reads a request's target and headers and writes headers."""

    __slots__ = ("names", "target", "write")

    def __init__(
        self, target: Target, names: Names = lowercase_names, write: Write = write_all
    ) -> None:
        self.target = target
        self.names = names
        self.write = write


def begin(owner: object, client: Client) -> Call | None:
    """Start one API call of the client object ``owner``; ``None`` means pass through untouched.

    Pass through when msatrace is not initialised, or when someone already suppressed HTTP
    instrumentation here (an OpenTelemetry instrumentation that handles this request itself, or
    the SDK exporting spans).
    """
    rt = runtime.current()
    if rt is None:
        return None
    try:
        ctx = otel_current()
        if ctx.get(_SUPPRESS_HTTP) or ctx.get(_SUPPRESS) or ctx.get(_SUPPRESS_PLAIN):
            return None
        return Call(owner, client, rt, ctx)
    except Exception as exc:  # hot path: try/except, as guard() would
        failed("outbound.begin", exc)
        return None


def current(owner: object) -> Call | None:
    """The call ``owner`` is making in this context (a redirect hop re-entering the library).

    Adapters on the hot path read ``CURRENT_CALL`` themselves, with the same test.
    """
    call = _call.get()
    return call if call is not None and call.owner is owner else None


CURRENT_CALL = _call


class Call:
    """One API call (``client.send``): the caller's context and the headers written so far."""

    __slots__ = ("_token", "client", "injected", "last", "owner", "parent", "resends", "rt")

    def __init__(self, owner: object, client: Client, rt: runtime.Runtime, parent: Context) -> None:
        self.owner = owner
        self.client = client
        self.rt = rt
        self.parent = parent
        self.injected: dict[str, str] | None = None
        self.last: Hop | None = None
        self.resends = -1
        self._token: Token[Call | None] = _call.set(self)

    def close(self) -> None:
        """The API call returned or raised: forget it (hops may still be streaming)."""
        try:
            _call.reset(self._token)
        except Exception as exc:
            failed("outbound.close", exc)

    def hop(self, method: str, url: Any, headers: MutableMapping[str, Any]) -> Hop | None:
        """One physical request: start its span and write its trace headers into ``headers``.

        ``url`` is what the adapter's ``Client.target`` reads, and its ``str()`` is the absolute
        URL (read only for a recorded span). ``None`` means an internal failure: send the
        request untouched. A hop without a span (tracing off) is the shared ``UNTRACED``.
        """
        try:
            rt = self.rt
            previous = self.last
            if previous is not None and not previous.ended and previous.done_ns is None:
                # requests follows a redirect from inside the first hop's send(): that hop's
                # exchange is over now, its span ends here when the adapter learns its status.
                previous.done_ns = time.time_ns()
            self.resends += 1
            policy = _policy_for(rt)
            tracer = rt.tracing.tracer
            sinks = outcome.sinks_for(rt).client
            if tracer is None and not sinks:
                # Tracing and metrics off: no span, no outcome, just the current trace's headers.
                self.last = UNTRACED
                if self.injected:
                    self._take_back(headers)
                if policy.everywhere or policy.allows(self.client.target(url)[1]):
                    self._write_headers(headers, self.parent)
                return UNTRACED
            scheme, host, port = self.client.target(url)
            port = port or _DEFAULT_PORTS.get(scheme)
            known = method if method in KNOWN_METHODS else None
            if tracer is None:
                return self._measured(method, known, host, port, headers, policy, sinks)
            attrs: dict[str, Any] = {
                HTTP_REQUEST_METHOD: known or HTTP_METHOD_OTHER,
                URL_FULL: url_full(str(url)),
                SERVER_ADDRESS: host,
            }
            if port:
                attrs[SERVER_PORT] = port
            if known is None:
                attrs[HTTP_REQUEST_METHOD_ORIGINAL] = method
            if self.resends:
                attrs[HTTP_REQUEST_RESEND_COUNT] = self.resends
            # semconv http client span name: "{method}" (no url.template known), "HTTP" if unknown
            name = known or HTTP_SPAN_NAME_OTHER
            start_ns = time.time_ns()
            span = tracer.start_span(name, self.parent, SpanKind.CLIENT, attrs, start_time=start_ns)
            ctx = trace.set_span_in_context(span, self.parent)
            try:
                if self.injected:
                    self._take_back(headers)
                if policy.everywhere or policy.allows(host):
                    self._write_headers(headers, ctx)
            except Exception:
                span.end()  # the request goes out untouched: no open span left behind
                raise
            hop = Hop(
                span,
                sinks,
                name=name,
                method=method,
                start_ns=start_ns,
                request_id=context.current_request_id(),
                server_address=host,
                server_port=port,
            )
            hop.token = otel_attach(otel_context.set_value(_SUPPRESS_HTTP, True, ctx))
            self.last = hop
            return hop
        except Exception as exc:
            failed("outbound.hop", exc)
            return None

    def _measured(
        self,
        method: str,
        known: str | None,
        host: str,
        port: int | None,
        headers: MutableMapping[str, Any],
        policy: HostPolicy,
        sinks: tuple[Sink, ...],
    ) -> Hop:
        # Tracing off, metrics on: the current trace's headers as without metrics, and a hop
        # without a span (the non-recording INVALID_SPAN) whose outcome the sinks still get.
        if self.injected:
            self._take_back(headers)
        if policy.everywhere or policy.allows(host):
            self._write_headers(headers, self.parent)
        hop = Hop(
            INVALID_SPAN,
            sinks,
            name=known or HTTP_SPAN_NAME_OTHER,
            method=method,
            start_ns=time.time_ns(),
            request_id=context.current_request_id(),
            server_address=host,
            server_port=port,
        )
        self.last = hop
        return hop

    def _write_headers(self, headers: MutableMapping[str, Any], ctx: Context) -> None:
        # The trace headers of ctx, except any the caller set (in any case of the name).
        prop = self.rt.propagation
        fresh: dict[str, str] = {}
        prop.inject(fresh, ctx)
        if prop.trace_header not in fresh:
            # Tracing off and no trace yet (a hop's own span always has one): start one.
            ctx = self._fresh_trace()
            prop.inject(fresh, ctx)
        present = self.client.names(headers)
        if TRACEPARENT in present or prop.trace_key in present:
            # The caller chose the trace (traceparent or X-Trace-ID set by hand): adding the
            # other header from our context would name a second, conflicting trace.
            for name in (TRACEPARENT, TRACESTATE, prop.trace_header):
                fresh.pop(name, None)
        added = fresh
        for name in fresh:  # a plain scan first: the caller rarely set any of them
            if name.lower() in present:
                added = {n: v for n, v in fresh.items() if n.lower() not in present}
                break
        self.client.write(headers, added)
        self.injected = added

    def _take_back(self, headers: MutableMapping[str, Any]) -> None:
        # A redirect request starts as a copy of the previous one: take back what we wrote there
        # (it may name the previous hop's span, and the new host may not be allowed to see it).
        for name, value in (self.injected or {}).items():
            if headers.get(name) == value:
                del headers[name]
        self.injected = None

    def _fresh_trace(self) -> Context:
        # Tracing off and no trace yet (inject wrote no trace ID): a fresh trace, so the callee
        # still gets one; the call's later hops (redirects) share it.
        root = tracing.start_span(self.rt.tracing, HTTP_SPAN_NAME_OTHER, SpanKind.CLIENT, None)
        self.parent = trace.set_span_in_context(root, self.parent)
        return self.parent
