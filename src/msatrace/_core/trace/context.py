"""The one source of truth for "which trace are we in" and the fields bound to it.

Trace and span IDs are read from OpenTelemetry's current span (never copied); log fields bound to
the current request or task live in one ``ContextVar`` holding an immutable mapping, replaced (not
mutated) on every ``bind`` so that concurrent requests and child tasks never see each other's
fields. A request or task scope sets a fresh mapping and resets it with its token at the end.

Imports: the standard library, opentelemetry, ``msatrace._core.semconv`` and ``_core.upstream``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from types import MappingProxyType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanContext

from msatrace._core import upstream
from msatrace._core.semconv import USER_ID

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_fields: ContextVar[Mapping[str, Any]] = ContextVar("msatrace.fields", default=_EMPTY)
_get_current_span = trace.get_current_span

# The request, call and task paths attach, read and detach OpenTelemetry's current context
# through these names: OpenTelemetry's public functions, whatever runtime context is configured
# (OTEL_PYTHON_CONTEXT).
otel_attach: Callable[[Context], Token[Context]] = otel_context.attach
otel_current: Callable[[], Context] = otel_context.get_current
otel_detach: Callable[[Token[Context]], None] = otel_context.detach

# The key under which OpenTelemetry keeps the current span in a Context, found through its public
# API (upstream entry otel.span-key): the hot paths read and set the span with one dict operation.
SPAN_KEY = upstream.SPAN_KEY


def parent_span_context(ctx: Context) -> SpanContext | None:
    """The valid span context of the span in ``ctx`` (``trace.get_current_span(ctx)``), or None."""
    span = ctx.get(SPAN_KEY)
    if span is not None and isinstance(span, Span):  # None first: Span is an ABC
        sc = span.get_span_context()
        if sc.is_valid:
            return sc
    return None


def current_trace_id() -> str | None:
    """The current trace ID as 32 lowercase hex digits, or ``None`` outside any trace."""
    ctx = _get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.trace_id else None


def current_span_id() -> str | None:
    """The current span ID as 16 lowercase hex digits, or ``None`` outside any span."""
    ctx = _get_current_span().get_span_context()
    return format(ctx.span_id, "016x") if ctx.span_id else None


def current_request_id() -> str | None:
    """The request ID of the request being served (or that queued this task), if any."""
    value = _fields.get().get("request_id")
    return value if isinstance(value, str) else None


def fields() -> Mapping[str, Any]:
    """Every field bound to the current request or task (read-only)."""
    return _fields.get()


def bind(**fields: Any) -> None:
    """Add fields to every log line for the rest of the current request or task.

    Outside a request the fields stay bound in the current context (thread or asyncio task).
    """
    _fields.set(MappingProxyType({**_fields.get(), **fields}))


def unbind(*keys: str) -> None:
    """Remove bound fields by name; unknown names are ignored."""
    current = _fields.get()
    if any(k in current for k in keys):
        _fields.set(MappingProxyType({k: v for k, v in current.items() if k not in keys}))


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Bind fields for the duration of a ``with`` block, then restore what was there."""
    token = _fields.set(MappingProxyType({**_fields.get(), **fields}))
    try:
        yield
    finally:
        _fields.reset(token)


def set_user(user_id: str | int | None) -> None:
    """Record the authenticated user: ``user_id`` in logs and ``user.id`` on the current span."""
    if user_id is None:
        unbind("user_id")
        return
    uid = str(user_id)
    bind(user_id=uid)
    span = _get_current_span()
    if span.is_recording():
        span.set_attribute(USER_ID, uid)


def start_scope(initial: Mapping[str, Any]) -> Token[Mapping[str, Any]]:
    """Begin a request or task scope with these fields; pass the token to :func:`end_scope`."""
    return _fields.set(MappingProxyType(dict(initial)))


def end_scope(token: Token[Mapping[str, Any]]) -> None:
    """End a scope begun by :func:`start_scope`, restoring the fields from before it."""
    _fields.reset(token)
