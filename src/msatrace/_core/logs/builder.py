"""The one event builder: every line msatrace writes or bridges is built and finished here.

A structlog call (``configure``), a bridged standard-library record (``configure``), an
exception line (:func:`log_exception`) and the access line (``access``) all become one ordered
event dict through :func:`build`: timestamp, level, logger, event, service fields, trace fields,
``request_id``, bound fields, the call's fields; exceptions as structured fields. Each then goes
through :func:`finish`: the event transforms, the renderer of ``render`` (JSON or console), the
output. The access line may take a shortcut to its dict (``access``), never around ``finish``,
and a property test holds that shortcut to :func:`build`'s bytes.

Where redaction hooks in: ``pipeline.transforms``, a tuple of callables that take the event dict
and return the event dict (the same or a new one), applied in order by :func:`finish` to every
line after it is built and before it is rendered or captured. The tuple is empty by default and
installed once per ``configure(settings)``: each factory given to :func:`register_transform` is
called with the settings and returns a transform, or ``None`` when it has nothing to do under
them. The access line's shortcut ends in :func:`finish` too. A transform that raises (or
returns something that is not a dict) does not lose the line and never reaches the
application: the line is written with msatrace's own head fields only (timestamp, level, logger,
service, environment, version, trace_id, span_id, request_id), ``event`` set to ``None`` and a
``log_error`` naming the exception's type; every other field is withheld, since a failed
redaction cannot tell which values were safe. The failure is reported once through ``safety``.

Debug on error: :func:`keep` puts a line below the level in the request's buffer unbuilt (the
current span, the bound fields and the time are kept with it); :func:`flush` builds and writes
them, marked ``"buffered": true``, when the request fails or writes its first ERROR line.

Imports: the standard library, opentelemetry and ``msatrace._core`` (config, debug, trace,
safety).
"""

from __future__ import annotations

import contextlib
import sys
import time
import traceback
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from opentelemetry import trace

from msatrace._core.config.settings import Settings
from msatrace._core.debug import buffer
from msatrace._core.errors import capture
from msatrace._core.logs import render
from msatrace._core.safety import failed
from msatrace._core.trace import context

Transform = Callable[[dict[str, Any]], dict[str, Any]]
TransformFactory = Callable[[Settings], Transform | None]
_ERROR_LEVELS = frozenset(("error", "critical", "exception", "fatal"))


@dataclass
class Pipeline:
    """What every line goes through, set by ``configure`` (mutated in place, never replaced)."""

    static: dict[str, str] = field(default_factory=dict)
    renderer: Callable[[dict[str, Any]], bytes | str] = lambda ev: b""
    # The line written when an event could not even be built (see ``write``).
    fallback: Callable[[object, Exception], bytes | str] = render.fallback_json
    output: render.Output = field(default_factory=render.Output)
    transforms: tuple[Transform, ...] = ()
    # Set by the first configure() and never cleared: after shutdown(), lines still written (by
    # requests in flight, threads, exit handlers) keep the format, fields and output of the last
    # init(), and msatrace's access lines are still written.
    configured: bool = False


pipeline = Pipeline()
_factories: list[TransformFactory] = []


# --- the event transforms (where redaction hooks in) ---


def register_transform(factory: TransformFactory) -> None:
    """Have every ``configure(settings)`` from now on install ``factory(settings)``'s transform.

    ``factory`` returns a transform (event dict in, event dict out) or ``None`` when it has
    nothing to do under these settings. Transforms run in the order their factories were
    registered. A factory that raises fails ``init()`` (raise ``ConfigError`` for a bad setting).
    Takes effect at the next ``configure``; registering the same factory twice changes nothing.
    """
    if factory not in _factories:
        _factories.append(factory)


def unregister_transform(factory: TransformFactory) -> None:
    """Forget ``factory`` (from the next ``configure``); an unknown one is ignored."""
    with contextlib.suppress(ValueError):
        _factories.remove(factory)


def transforms_for(settings: Settings) -> tuple[Transform, ...]:
    """The transforms the registered factories give under ``settings`` (``configure`` installs
    them); may raise, before anything was changed."""
    made = (factory(settings) for factory in _factories)
    return tuple(transform for transform in made if transform is not None)


def _transformed(event: dict[str, Any]) -> dict[str, Any]:
    for transform in pipeline.transforms:
        try:
            result = transform(event)
            if not isinstance(result, dict):
                raise TypeError(f"a log transform returned {type(result).__name__}, not a dict")
        except Exception as exc:
            failed("logs.transform", exc)
            return _withheld(event, exc)
        event = result
    return event


# What a line keeps when a transform failed: the fields msatrace itself fills in ("event" is
# the application's message: withheld, as None).
_KEPT = (
    "timestamp", "level", "logger", "event", "service", "environment", "version",
    "trace_id", "span_id", "request_id",
)  # fmt: skip


def _withheld(event: Mapping[str, Any], exc: Exception) -> dict[str, Any]:
    """The line written instead of one a transform failed on: the head fields, nothing else."""
    out: dict[str, Any] = {}
    for key in _KEPT:
        try:
            if key in event:
                out[key] = None if key == "event" else render.plain(event[key])
        except Exception:  # the transform left something that is not a dict
            continue
    out["log_error"] = (
        f"a log transform failed ({type(exc).__name__}): the event and its fields are withheld"
    )
    return out


# --- building the event ---

# The fields every line carries, which a log pipeline relies on: a call's keyword, a stdlib
# record's ``extra`` or a bound field of the same name is kept as ``<name>_`` instead of replacing
# them. ``request_id`` is msatrace's own bound field; a log call may still not replace it.
SCHEMA = frozenset(
    ("timestamp", "level", "logger", "event", "service", "environment", "version", "trace_id",
     "span_id")
)  # fmt: skip
_CALLER_SCHEMA = SCHEMA | {"request_id"}


def _renamed(fields: Mapping[str, Any], reserved: frozenset[str]) -> dict[str, Any]:
    """``fields`` with each reserved name moved to ``<name>_`` (or ``<name>__``... if taken)."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        new = key
        while new in reserved or (new != key and new in fields):
            new += "_"
        out[new] = value
    return out


# The last span context seen and its IDs as hex: consecutive lines of one request share it.
_ids_cache: tuple[object, tuple[str, str] | None] = (None, None)


def current_ids() -> tuple[str, str] | None:
    """The current span's trace and span IDs as hex, or ``None`` outside a valid trace."""
    global _ids_cache
    sc = trace.get_current_span().get_span_context()
    cached = _ids_cache  # one read: another thread may replace the tuple, never mutate it
    if cached[0] is sc:
        return cached[1]
    ids = (format(sc.trace_id, "032x"), format(sc.span_id, "016x")) if sc.trace_id else None
    _ids_cache = (sc, ids)
    return ids


def build(
    name: str,
    level: str,
    fields: MutableMapping[str, Any],
    timestamp: str,
    ids: tuple[str, str] | None,
    bound: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The event dict of one line: the schema's fields, then the bound fields, then ``fields``.

    ``fields`` is the call's (``event`` is the message, ``exc_info`` an exception to structure);
    it is consumed. ``ids`` are the trace and span IDs as hex (:func:`current_ids`); ``bound``
    the bound fields when the line was logged (default: the current ones).
    """
    out: dict[str, Any] = {
        "timestamp": timestamp,
        "level": level,
        "logger": name,
        "event": fields.pop("event", ""),
    }
    out.update(pipeline.static)
    if ids is not None:
        out["trace_id"], out["span_id"] = ids
    else:
        out["trace_id"] = out["span_id"] = None
    out["request_id"] = None  # stable schema: present on every line, filled inside a request
    if bound is None:
        bound = context.fields()
    if bound:
        if not SCHEMA.isdisjoint(bound):
            bound = _renamed(bound, SCHEMA)
        elif type(bound) is MappingProxyType:
            # The bound fields are a read-only proxy of a dict: update() from the proxy takes
            # the generic mapping path, from its copy() (that dict's) the dict path.
            bound = bound.copy()
        out.update(bound)
    exc_info = fields.pop("exc_info", None)
    if fields:
        out.update(
            fields if _CALLER_SCHEMA.isdisjoint(fields) else _renamed(fields, _CALLER_SCHEMA)
        )
    if exc_info:
        exception = exception_fields(exc_info)
        if exception is not None:
            out["exception"] = exception
            if level in _ERROR_LEVELS:
                _mark_seen(exc_info, name)
    return out


def finish(event: dict[str, Any]) -> None:
    """Transform, render and write one built line. Never raises (but in strict mode, for tests)."""
    if pipeline.transforms:
        event = _transformed(event)
    pipeline.output.write(pipeline.renderer(event), event)


def write(name: str, level: str, fields: MutableMapping[str, Any], now: float) -> None:
    """Build and finish one line in the current trace (``now``: seconds since the epoch).

    The renderers and the output never raise; should building the event fail, the line is the
    renderer's fallback with what is known, and the failure is reported once.
    """
    message = fields.get("event")  # before build() takes it out of fields
    if level in _ERROR_LEVELS:
        mode = buffer.current()
        if isinstance(mode, buffer.Buffer) and mode:
            flush(mode)  # debug on error: the request's kept lines come before its error line
    try:
        event = build(name, level, fields, render.timestamp(now), current_ids())
    except Exception as exc:
        _write_fallback(name, level, message, now, exc)
        return
    finish(event)


# --- debug on error: the lines kept below the level ---

BUFFER_LOGGER = "msatrace.debug"
_otel_current = context.otel_current
_SPAN_KEY = context.SPAN_KEY


def keep(mode: buffer.Buffer, name: str, level: str, fields: MutableMapping[str, Any]) -> None:
    """Keep one line below the level in the request's buffer, unbuilt (``fields`` is taken):
    with its time, the current span (its IDs are read if it is ever written) and bound fields."""
    mode.add((name, level, fields, time.time(), _otel_current().get(_SPAN_KEY), context.fields()))


def _ids_of(span: object) -> tuple[str, str] | None:
    """The trace and span IDs of a kept line's span, as hex (:func:`current_ids`)."""
    if not isinstance(span, trace.Span):
        return None
    sc = span.get_span_context()
    return (format(sc.trace_id, "032x"), format(sc.span_id, "016x")) if sc.trace_id else None


def flush(mode: buffer.Buffer) -> None:
    """Write the request's kept lines, oldest first, each marked ``"buffered": true``, after one
    line saying how many there are and how many were dropped; the buffer is then empty."""
    entries, dropped = mode.take()
    if not entries and not dropped:
        return
    write(
        BUFFER_LOGGER,
        "info",
        {
            "event": "lines below the log level kept for this request follow, since it failed",
            "buffered": True,
            "buffered_lines": len(entries),
            "buffered_dropped": dropped,
        },
        time.time(),
    )
    for name, level, fields, now, span, bound in entries:
        message = fields.get("event")
        try:
            if message.__class__ is buffer.Deferred:
                message = fields["event"] = message.text()
            event = build(name, level, fields, render.timestamp(now), _ids_of(span), bound)
            event["buffered"] = True
        except Exception as exc:
            _write_fallback(name, level, message, now, exc)
            continue
        finish(event)


def _write_fallback(name: str, level: str, message: object, now: float, exc: Exception) -> None:
    """The renderer's fallback line for an event ``build`` failed on, with its trace."""
    event: dict[str, Any] = {"timestamp": render.timestamp(now), "level": level, "logger": name}
    event["event"] = message if isinstance(message, str) else None
    with contextlib.suppress(Exception):
        ids = current_ids()
        if ids is not None:
            event["trace_id"], event["span_id"] = ids
    if pipeline.transforms:
        event = _transformed(event)
    pipeline.output.write(pipeline.fallback(event, exc), event)


def set_output(output: render.Output) -> render.Output:
    """Swap where lines go (``msatrace.testing``); returns the previous output."""
    previous, pipeline.output = pipeline.output, output
    return previous


# --- exception lines ---


def exception_fields(exc_info: Any) -> dict[str, str] | None:
    """``{"type", "message", "stack"}`` of an exception (an instance, an ``exc_info`` tuple, or
    ``True`` for the one being handled); ``None`` if there is none. Never trusts its strs."""
    if exc_info is True:
        exc_info = sys.exc_info()
    elif isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    if not isinstance(exc_info, tuple) or len(exc_info) != 3 or exc_info[1] is None:
        return None
    etype, exc, tb = exc_info
    try:
        name = f"{etype.__module__}.{etype.__qualname__}"
        if etype.__module__ == "builtins":
            name = etype.__qualname__
    except Exception:  # not a class: an exc_info tuple made by hand
        name = _text(type(exc).__qualname__)
    try:
        message = str(exc)
    except Exception:
        message = f"<unprintable {name}>"
    try:
        stack = "".join(traceback.format_exception(etype, exc, tb))
    except Exception:  # a traceback object made by hand, or an exception that defeats traceback
        stack = f"{name}: {message}"
    return {"type": _text(name), "message": _text(message), "stack": _text(stack)}


def _text(value: object) -> str:
    """A str attribute of the user's exception, which may be a str subclass with odd methods."""
    return str.__str__(value) if isinstance(value, str) else "<not a string>"


def _mark_seen(exc_info: Any, logger: str) -> None:
    """Remember that an exception was logged at ERROR: its capture then adds no copy."""
    exc = exc_info if isinstance(exc_info, BaseException) else None
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        exc = exc_info[1]
    elif exc_info is True:
        exc = sys.exc_info()[1]
    if isinstance(exc, BaseException):
        capture.line_written(exc, logger=logger)


def log_exception(name: str, message: str, exc: BaseException, **fields: Any) -> None:
    """Write msatrace's line for an exception, at ERROR, structured.

    ``errors.capture`` decides whether this line is written (once per exception, and only if no
    other line at ERROR carries it); later stdlib records of it are dropped by the bridge.
    """
    if not pipeline.configured:
        return
    ev: dict[str, Any] = {"event": message, "exc_info": exc, **fields}
    write(name, "error", ev, time.time())
