"""msatrace's access line: one line per request, written where the request ends.

:func:`write` takes the request's outcome by keyword and writes the line ``builder`` builds from
those fields (``event`` the message, then method, route, path, status, duration_ms,
client_address, user_agent after the schema and bound fields), through the same levels
(``configure.enabled``), event transforms, renderer and output as every other line.

One shortcut, because the line is written on every request: while no bound field is named like
a schema field (which ``builder.build`` would move aside), the dict is built directly from the
known fields instead of by ``builder.build``; ``tests/unit/test_access_line.py`` holds the
shortcut to the general builder's bytes, in both formats, for any field values and bound fields.
Either way the line is finished by ``builder.finish``: the event transforms apply to it. On the
shortcut, when redaction is the one transform, the redactor is asked first whether the line's
fields can hold anything it would change (``Redactor.access_line_clean``: only the bound fields,
path, client address and strings not remembered clean are looked at); if not, the line is
rendered as ``finish`` would, without the transform (which would return the same dict).
:func:`write_access_line` is the former positional entry, kept for its callers.

Imports: the standard library and ``msatrace._core`` (``redact`` for the redactor's access-line
check).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from msatrace._core.logs import builder, configure, render
from msatrace._core.redact.engine import Redactor
from msatrace._core.trace import context


def write(
    *,
    logger: str,
    level: str,
    event: str,
    ids: tuple[str, str] | None,
    method: str,
    route: str | None,
    path: str,
    status: int | None,
    duration_ms: float,
    client_address: str | None,
    user_agent: str | None,
    time_ns: int,
) -> None:
    """Write one access line (never raises but in strict mode, for the tests).

    Args:
        logger: the line's logger name (``msatrace.access``).
        level: ``info``, or ``error`` for a 5xx or a request that ended without a status.
        event: the message, ``{METHOD} {route or path} {status}``.
        ids: the request span's trace and span IDs as hex; ``None`` for an invalid span.
        time_ns: when the request ended (the line's timestamp), from ``time.time_ns()``.
    """
    if not configure.enabled(logger, level):
        return
    timestamp = render.timestamp_ms(time_ns // 1_000_000)
    bound = context.fields()
    if builder.SCHEMA.isdisjoint(bound):
        # The shortcut: builder.build's dict for these fields, without its general steps.
        static = builder.pipeline.static
        out: dict[str, Any] = {
            "timestamp": timestamp,
            "level": level,
            "logger": logger,
            "event": event,
            "service": static["service"],
            "environment": static["environment"],
            "version": static["version"],
            "trace_id": ids[0] if ids is not None else None,
            "span_id": ids[1] if ids is not None else None,
            "request_id": None,
        }
        if bound:  # as builder.build adds them (from the proxy's dict)
            out.update(bound.copy() if type(bound) is MappingProxyType else bound)
        out["method"] = method
        out["route"] = route
        out["path"] = path
        out["status"] = status
        out["duration_ms"] = duration_ms
        out["client_address"] = client_address
        out["user_agent"] = user_agent
        transforms = builder.pipeline.transforms
        if len(transforms) == 1:
            seen = _seen  # one read: another thread may replace the tuple, never mutate it
            redactor = seen[1] if seen[0] is transforms[0] else _redactor(transforms[0])
            if redactor is not None and redactor.access_line_clean(
                bound, event, method, route, path, status, client_address, user_agent
            ):
                # builder.finish without the redaction transform, which would return ``out``
                builder.pipeline.output.write(builder.pipeline.renderer(out), out)
                return
        builder.finish(out)
        return
    fields: dict[str, Any] = {
        "event": event,
        "method": method,
        "route": route,
        "path": path,
        "status": status,
        "duration_ms": duration_ms,
        "client_address": client_address,
        "user_agent": user_agent,
    }
    builder.finish(builder.build(logger, level, fields, timestamp, ids))


# The last transform looked at and the redactor whose ``event`` it is (or None): a new tuple of
# transforms is installed by each configure(), so this is looked up once per init().
_seen: tuple[object, Redactor | None] = (None, None)


def _redactor(transform: object) -> Redactor | None:
    """The redactor whose :meth:`Redactor.event` ``transform`` is, or None."""
    global _seen
    owner = getattr(transform, "__self__", None)
    redactor = (
        owner
        if isinstance(owner, Redactor) and getattr(transform, "__func__", None) is Redactor.event
        else None
    )
    _seen = (transform, redactor)
    return redactor


def write_access_line(
    name: str,
    level: str,
    event: str,
    ids: tuple[str, str] | None,
    request_id: str | None,
    method: str,
    route: str | None,
    path: str,
    status: int | None,
    duration_ms: float,
    client_address: str | None,
    user_agent: str | None,
    time_ns: int,
) -> None:
    """:func:`write` by position, as ``inbound.RequestScope.end`` calls it.

    ``request_id`` is not used: the line's ``request_id`` is the bound one, which is the
    request's own ID for every caller that passed one here.
    """
    write(
        logger=name,
        level=level,
        event=event,
        ids=ids,
        method=method,
        route=route,
        path=path,
        status=status,
        duration_ms=duration_ms,
        client_address=client_address,
        user_agent=user_agent,
        time_ns=time_ns,
    )
