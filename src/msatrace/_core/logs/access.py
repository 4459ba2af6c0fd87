"""msatrace's access line: one JSON line per request, written where the request ends.

``inbound.RequestScope.end`` calls :func:`write_access_line` with what it knows; the line is the
one ``structured`` would build from the same fields (same keys, same order, same bytes: a property
test holds them to it), through the same level checks, renderer and output, but built as one dict
display from known fields and serialised by orjson directly: it runs on every request. Split
from ``structured``, whose state (settings, renderer, output, levels) it reads.

Imports: the standard library, orjson and ``msatrace._core``.
"""

from __future__ import annotations

import logging
import sys
from types import MappingProxyType
from typing import Any

import orjson

from msatrace._core.logs import render, structured
from msatrace._core.trace import context

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
_state = structured._state  # configured by structured.configure, mutated in place, never replaced
_below_logger_level = structured._below_logger_level
_fields_var = context._fields


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
    """One access-log line, for the inbound hot path: no field dict from the caller.

    The same line, field for field and in the same order, as ``_event`` builds from the
    equivalent fields dict; ``ids`` are the request span's trace and span IDs as hex (``None``
    for an invalid span), so the current span need not be looked up again. ``request_id`` is the
    request's own ID while the bound fields are still the ones the request started with: the
    line is then one dict display (its keys known, its size fixed). ``None`` when the
    application bound fields of its own, which then go into the line as into any other.
    ``time_ns`` is when the request ended (the line's timestamp), from ``time.time_ns()``.
    """
    state = _state
    if state.bridge is not None:
        if _LEVELS.get(level, 20) < logging.root.level:
            return
    elif not state.configured or _LEVELS.get(level, 20) < state.level:
        return  # after shutdown() (a request still in flight): the last init()'s level
    if state.levels and _below_logger_level(name, level):
        return
    ms = time_ns // 1_000_000  # render.timestamp(), from the integer clock and inlined
    cached = render.last_timestamp
    timestamp = cached[1] if cached[0] == ms else render.timestamp_ms(ms)
    if request_id is not None and ids is not None:
        static = state.static
        out: dict[str, Any] = {
            "timestamp": timestamp,
            "level": level,
            "logger": name,
            "event": event,
            "service": static["service"],
            "environment": static["environment"],
            "version": static["version"],
            "trace_id": ids[0],
            "span_id": ids[1],
            "request_id": request_id,
            "method": method,
            "route": route,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
            "client_address": client_address,
            "user_agent": user_agent,
        }
    else:
        out = {"timestamp": timestamp, "level": level, "logger": name, "event": event}
        out.update(state.static)
        if ids is not None:
            out["trace_id"], out["span_id"] = ids
        else:
            out["trace_id"] = out["span_id"] = None
        out["request_id"] = None
        bound = _fields_var.get()
        if bound:
            # The bound fields are a read-only proxy of a dict: its copy() is that dict's, and
            # update() from a dict takes the fast path (from the proxy, the generic mapping one).
            out.update(bound.copy() if type(bound) is MappingProxyType else bound)
        out["method"] = method
        out["route"] = route
        out["path"] = path
        out["status"] = status
        out["duration_ms"] = duration_ms
        out["client_address"] = client_address
        out["user_agent"] = user_agent
    renderer = state.renderer
    if renderer is render.json_line:  # the default: orjson called here, json_line as fallback
        try:
            data = orjson.dumps(out, option=render.NEWLINE)
        except Exception:
            line: bytes | str = render.json_line(out)
        else:
            # render.escape_json's test, inlined: a path or User-Agent may carry DEL or C1
            # controls, which orjson leaves raw.
            line = data if data.isascii() and 0x7F not in data else render.escape_json(data)
    else:
        line = renderer(out)
    output = state.output
    fast = output.fast  # output.write(line, out)'s usual case, inlined: a call less per request
    if fast is not None and type(line) is bytes:
        stream = output.stream
        if fast[0] is (stream if stream is not None else sys.stdout):
            try:
                fast[1](line)
                fast[2]()
            except Exception as exc:  # stdout closed, its reader gone: counted, not raised
                output.failed(exc)
            return
    output.write(line, out)
