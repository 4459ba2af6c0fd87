"""Structured logging: structlog configuration, the stdlib bridge, the event line.

Every event, from ``msatrace.get_logger()`` or from the standard library's ``logging`` (uvicorn,
gunicorn, Django, Celery, urllib3, ...), goes through the same two steps: ``_event`` builds the
ordered event dict (timestamp, level, logger, event, service fields, trace fields, bound fields,
the call's fields; exceptions as structured fields) and a renderer of ``render`` writes it as one
line: JSON (orjson) or console. Control characters cannot forge a line in either format.

Over the 400-line budget because the hot paths (a logger cached per ``init()``, structlog's
chain skipped, trace IDs formatted once) sit next to the slow path they shortcut, each measured by
``benchmarks/``; because the bridge also gives gunicorn's access line, written outside the
request, the trace from its header atoms; and because no path may raise into the application:
an event that cannot be built still gives a line (``_write_fallback``). msatrace's own access
line is written by ``access``.

Imports: the standard library, opentelemetry, structlog and ``msatrace._core``.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
import traceback
import weakref
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from opentelemetry import trace

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger

from msatrace._core.config.settings import Settings
from msatrace._core.errors import capture
from msatrace._core.logs import render
from msatrace._core.safety import failed
from msatrace._core.trace import context, headers

_LEVEL_NAMES = {"exception": "error", "warn": "warning", "fatal": "critical", "msg": "info"}
_ERROR_LEVELS = frozenset(("error", "critical", "exception", "fatal"))
_LEVEL_NUM = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
# Server loggers whose own stream handlers would print a second, unstructured copy of each line.
FRAMEWORK_LOGGERS = (
    "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi",
    "gunicorn", "gunicorn.error", "gunicorn.access",
    "django", "django.server", "django.request",
    "celery", "celery.task", "celery.worker", "celery.app.trace", "celery.redirected",
    "werkzeug",
)  # fmt: skip
# Servers' access loggers; Django's development server (runserver) logs its request lines on
# "django.server" with a ``status_code`` extra, beside its other messages.
ACCESS_LOGGERS = frozenset(("uvicorn.access", "gunicorn.access"))
# Record attributes that are not the event's fields; uvicorn's "color_message" is its message
# again with ANSI colour codes, for its own console formatter.
_STD_RECORD = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}
_get_current_span = trace.get_current_span
_fields_var = context._fields


@dataclass
class _State:
    static: dict[str, str] = field(default_factory=dict)
    renderer: Callable[[dict[str, Any]], bytes | str] = lambda ev: b""
    # The line written when an event could not even be built (see ``_write_event``).
    fallback: Callable[[object, Exception], bytes | str] = render.fallback_json
    # Set by the first configure() and never cleared: after shutdown(), lines still written (by
    # requests in flight, threads, exit handlers) keep the format, fields and output of the last
    # init(), and msatrace's access lines are still written.
    configured: bool = False
    output: render.Output = field(default_factory=render.Output)
    levels: dict[str, int] = field(default_factory=dict)
    level: int = 20
    drop_access: bool = False
    # gunicorn's access-log atoms of the X-Trace-ID and X-Request-ID response headers.
    response_atoms: tuple[str, str] = ("{x-trace-id}o", "{x-request-id}o")
    bridge: logging.Handler | None = None
    removed: list[tuple[logging.Logger, logging.Handler]] = field(default_factory=list)
    saved: list[tuple[logging.Logger, int, bool]] = field(default_factory=list)


_state = _State()
_processors: list[Any] = []  # mutated in place so loggers cached by structlog follow re-init


# --- building the event ---

# The last span context seen and its IDs as hex: consecutive lines of one request share it.
_ids_cache: tuple[object, str, str] = (None, "", "")


def _exception_fields(exc_info: Any) -> dict[str, str] | None:
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


# The fields every line carries, which a log pipeline relies on: a call's keyword, a stdlib
# record's ``extra`` or a bound field of the same name is kept as ``<name>_`` instead of replacing
# them. ``request_id`` is msatrace's own bound field; a log call may still not replace it.
_SCHEMA = frozenset(
    ("timestamp", "level", "logger", "event", "service", "environment", "version", "trace_id",
     "span_id")
)  # fmt: skip
_CALLER_SCHEMA = _SCHEMA | {"request_id"}


def _renamed(fields: Mapping[str, Any], reserved: frozenset[str]) -> dict[str, Any]:
    """``fields`` with each reserved name moved to ``<name>_`` (or ``<name>__``... if taken)."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        new = key
        while new in reserved or (new != key and new in fields):
            new += "_"
        out[new] = value
    return out


def _event(name: str, level: str, ev: MutableMapping[str, Any], now: float) -> dict[str, Any]:
    out: dict[str, Any] = {
        "timestamp": render.timestamp(now),
        "level": level,
        "logger": name,
        "event": ev.pop("event", ""),
    }
    out.update(_state.static)
    global _ids_cache
    sc = _get_current_span().get_span_context()
    cached = _ids_cache  # one read: another thread may replace the tuple, never mutate it
    if cached[0] is sc:
        out["trace_id"], out["span_id"] = cached[1], cached[2]
    elif sc.trace_id:
        cached = (sc, format(sc.trace_id, "032x"), format(sc.span_id, "016x"))
        _ids_cache = cached
        out["trace_id"], out["span_id"] = cached[1], cached[2]
    else:
        out["trace_id"] = out["span_id"] = None
    out["request_id"] = None  # stable schema: present on every line, filled inside a request
    bound = _fields_var.get()
    if bound:
        out.update(bound if _SCHEMA.isdisjoint(bound) else _renamed(bound, _SCHEMA))
    exc_info = ev.pop("exc_info", None)
    if ev:
        out.update(ev if _CALLER_SCHEMA.isdisjoint(ev) else _renamed(ev, _CALLER_SCHEMA))
    if exc_info:
        fields = _exception_fields(exc_info)
        if fields is not None:
            out["exception"] = fields
            if level in _ERROR_LEVELS:
                _mark_seen(exc_info)
    return out


# --- structlog processors ---


class _Sink:
    """The structlog "logger": carries the logger's name; writing happens in the renderer."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def msg(self, message: Any) -> None:
        """Nothing to do: ``_emit`` wrote the line already."""

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


def _sink_factory(*args: Any) -> _Sink:
    return _Sink(str(args[0]) if args and args[0] else "app")


def _emit(logger: Any, method: str, ev: MutableMapping[str, Any]) -> str:
    """The one structlog processor: writes the line (see ``_proxy_to_logger`` for the fast path)."""
    if not _write(logger, method, ev):
        import structlog  # loaded by configure() already

        raise structlog.DropEvent
    return ""


def _write(logger: Any, method: str, ev: MutableMapping[str, Any]) -> bool:
    """Write one structlog event; False when a per-logger level drops it."""
    name = logger.name if isinstance(logger, _Sink) else "app"
    if _state.levels and _below_logger_level(name, method):
        return False
    level, now = _LEVEL_NAMES.get(method, method), time.time()
    message = ev.get("event")  # _write_event, inlined: a call less per event
    try:
        event = _event(name, level, ev, now)
    except Exception as exc:
        _write_fallback(name, level, message, now, exc)
        return True
    _state.output.write(_state.renderer(event), event)
    return True


def _write_event(name: str, level: str, ev: MutableMapping[str, Any], now: float) -> None:
    """Build, render and write one event; never raises (but in strict mode, for the tests).

    The renderers and the output never raise; should building the event fail, the line is the
    renderer's fallback with what is known, and the failure is reported once.
    """
    message = ev.get("event")  # before _event takes it out of ev
    try:
        event = _event(name, level, ev, now)
    except Exception as exc:
        _write_fallback(name, level, message, now, exc)
        return
    _state.output.write(_state.renderer(event), event)


def _write_fallback(name: str, level: str, message: object, now: float, exc: Exception) -> None:
    """The renderer's fallback line for an event ``_event`` failed to build, with its trace."""
    event: dict[str, Any] = {"timestamp": render.timestamp(now), "level": level, "logger": name}
    event["event"] = message if isinstance(message, str) else None
    with contextlib.suppress(Exception):
        sc = _get_current_span().get_span_context()
        if sc.trace_id:
            event["trace_id"] = format(sc.trace_id, "032x")
            event["span_id"] = format(sc.span_id, "016x")
    _state.output.write(_state.fallback(event, exc), event)


def _proxy_to_logger(
    self: Any, method_name: str, event: str | None = None, **event_kw: Any
) -> None:
    """Write the event directly, skipping structlog's processor chain (about 1 µs per event).

    msatrace's chain is only ever ``[_emit]``; structlog documents ``_proxy_to_logger`` as the
    method custom wrapper classes override. ``structlog.testing.capture_logs()`` swaps the chain
    in place (also after ``shutdown()``, when msatrace's configuration stays): structlog's own
    method then runs it.
    """
    chain = _processors
    if not chain or chain[0] is not _emit:
        super(type(self), self)._proxy_to_logger(method_name, event, **event_kw)
        return
    ev = self._context.copy()
    ev.update(event_kw)
    if event is not None:
        ev["event"] = event
    _write(self._logger, method_name, ev)


def _below_logger_level(name: str, method: str) -> bool:
    level = _LEVEL_NUM.get(_LEVEL_NAMES.get(method, method).upper(), 20)
    best, best_len = _state.level, -1  # no per-logger match: the global level decides
    for prefix, lvl in _state.levels.items():
        if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best_len:
            best, best_len = lvl, len(prefix)
    return level < best


# --- the stdlib bridge ---


class _Bridge(logging.Handler):
    """Sends stdlib log records through msatrace's processors to the same output."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if _state.drop_access and (
                record.name in ACCESS_LOGGERS
                or (record.name == "django.server" and hasattr(record, "status_code"))
            ):
                return  # msatrace writes the access line (documented in docs/logging.md)
            exc = record.exc_info[1] if record.exc_info else None
            if exc is not None and capture.line_decided(exc):
                return  # msatrace already logged this exception once, with its trace
            ev: dict[str, Any] = {"event": _message(record)}
            attrs = record.__dict__
            if not attrs.keys() <= _STD_RECORD:  # extra fields: copied in their order
                for key, value in attrs.items():
                    if key not in _STD_RECORD and key[:1] != "_":
                        ev[key] = value
            if record.exc_info:
                ev["exc_info"] = record.exc_info
            if record.name == "gunicorn.access":
                event = _event(record.name, record.levelname.lower(), ev, record.created)
                if event["trace_id"] is None:
                    _ids_from_gunicorn_atoms(event, record.args)
                _state.output.write(_state.renderer(event), event)
            else:
                _write_event(record.name, record.levelname.lower(), ev, record.created)
        except Exception as exc:  # not handleError(): its "--- Logging error ---" dump
            failed("logs.bridge", exc)


def _message(record: logging.LogRecord) -> str:
    """The record's message; when its arguments do not fit its format, both as they came."""
    try:
        return record.getMessage()
    except Exception:
        return f"{render.console_value(record.msg)} % {render.console_value(record.args)}"


def _ids_from_gunicorn_atoms(event: dict[str, Any], atoms: object) -> None:
    """The trace and request IDs of a gunicorn access line, from the response headers it logs.

    gunicorn writes its access line after the request ended, outside the request's context, with
    the response headers among its atoms (``{x-trace-id}o``): msatrace's own ``X-Trace-ID`` and
    ``X-Request-ID``, or the application's, validated like any incoming header.
    """
    if not isinstance(atoms, Mapping):
        return
    trace_atom, request_id_atom = _state.response_atoms
    trace_id = headers.parse_trace_id(atoms.get(trace_atom))
    if trace_id is not None:
        event["trace_id"] = trace_id
        event["request_id"] = headers.parse_request_id(atoms.get(request_id_atom))


def _is_console_handler(handler: logging.Handler) -> bool:
    """A plain stream handler to stdout/stderr: it would print a second copy of each line."""
    if type(handler) is not logging.StreamHandler:
        return False
    return getattr(handler, "stream", None) in (
        sys.stdout,
        sys.stderr,
        sys.__stdout__,
        sys.__stderr__,
    )


def adopt_framework_loggers(names: Iterable[str] = FRAMEWORK_LOGGERS) -> None:
    """Route server and framework loggers through msatrace (call again after they reconfigure).

    Removes their plain stdout/stderr stream handlers and lets their records propagate to the
    root logger, where msatrace's bridge writes them. Other handlers (files, Sentry) stay.
    """
    if _state.bridge is None:
        return
    for name in names:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if _is_console_handler(handler):
                logger.removeHandler(handler)
                _state.removed.append((logger, handler))
        if not logger.propagate:
            _state.saved.append((logger, logger.level, logger.propagate))
            logger.propagate = True


def configure(settings: Settings, stream: IO[bytes] | IO[str] | None = None) -> None:
    """Configure structlog and the stdlib bridge once; undone by :func:`unconfigure`."""
    import structlog  # not at module top: `import msatrace` stays cheap (issue #2)

    unconfigure()
    _state.static = {
        "service": settings.service_name,
        "environment": settings.environment,
        "version": settings.service_version,
    }
    if settings.log_format == "json":
        _state.renderer = render.json_line
        _state.fallback = render.fallback_json
    else:
        target = stream if stream is not None else sys.stdout
        colors = bool(getattr(target, "isatty", lambda: False)())
        _state.renderer = render.console_renderer(colors=colors)
        _state.fallback = render.fallback_console
    _state.output = render.Output(stream=stream)
    _state.levels = {name: _LEVEL_NUM[lvl] for name, lvl in settings.log_levels.items()}
    _state.level = _LEVEL_NUM[settings.log_level]
    _state.drop_access = settings.access_log
    _state.response_atoms = (
        f"{{{settings.trace_header.lower()}}}o",
        f"{{{settings.request_id_header.lower()}}}o",
    )
    min_level = min([_LEVEL_NUM[settings.log_level], *_state.levels.values()])
    _processors[:] = [_emit]
    structlog.configure(
        processors=_processors,
        wrapper_class=type(
            "BoundLogger",
            (structlog.make_filtering_bound_logger(min_level),),
            {"_proxy_to_logger": _proxy_to_logger},
        ),
        logger_factory=_sink_factory,
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    for handler in list(root.handlers):
        if _is_console_handler(handler):
            root.removeHandler(handler)
            _state.removed.append((root, handler))
    _state.saved.append((root, root.level, root.propagate))
    root.setLevel(settings.log_level)
    for name, lvl in settings.log_levels.items():
        logger = logging.getLogger(name)
        _state.saved.append((logger, logger.level, logger.propagate))
        logger.setLevel(lvl)
    _state.bridge = _Bridge()
    root.addHandler(_state.bridge)
    adopt_framework_loggers()
    _state.configured = True


def unconfigure() -> None:
    """Remove the bridge and give back every handler and level msatrace changed.

    msatrace's own lines (its loggers, access and exception lines) keep being written as
    configured: see ``_State.configured``.
    """
    if _state.bridge is not None:
        logging.getLogger().removeHandler(_state.bridge)
        _state.bridge = None
    for logger, level, propagate in reversed(_state.saved):
        logger.setLevel(level)
        logger.propagate = propagate
    for logger, handler in _state.removed:
        if handler not in logger.handlers:
            logger.addHandler(handler)
    _state.saved.clear()
    _state.removed.clear()
    # structlog keeps msatrace's configuration (not its defaults): a line written after
    # shutdown(), by a request still in flight, keeps the format and the trace fields.
    for logger_ in list(_loggers):
        logger_.__dict__.clear()


def _mark_seen(exc_info: Any) -> None:
    """Remember that an exception was logged at ERROR: its capture then adds no copy."""
    exc = exc_info if isinstance(exc_info, BaseException) else None
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        exc = exc_info[1]
    elif exc_info is True:
        exc = sys.exc_info()[1]
    if isinstance(exc, BaseException):
        capture.line_written(exc)


def log_exception(name: str, message: str, exc: BaseException, **fields: Any) -> None:
    """Write msatrace's line for an exception, at ERROR, structured.

    ``errors.capture`` decides whether this line is written (once per exception, and only if no
    other line at ERROR carries it); later stdlib records of it are dropped by the bridge.
    """
    if not _state.configured:
        return
    ev: dict[str, Any] = {"event": message, "exc_info": exc, **fields}
    _write_event(name, "error", ev, time.time())


class _Logger:
    """What :func:`get_logger` returns: structlog's logger ``name``, resolved once per ``init()``.

    structlog's own lazy proxy resolves the configured logger again on every call (about 1 µs,
    most of the cost of a call below the level). This one keeps the resolved methods in its
    instance dict once msatrace has configured logging, and :func:`unconfigure` empties every
    cache, so a logger created at import time, before ``init()``, follows ``init()``.
    """

    __slots__ = ("__dict__", "__weakref__", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        _loggers.add(self)

    def __getattr__(self, attr: str) -> Any:
        import structlog

        value = getattr(structlog.get_logger(self._name).bind(), attr)
        if _state.configured and attr[:1] != "_":  # stable until the next configure()
            self.__dict__[attr] = value
        return value

    def __repr__(self) -> str:
        return f"<msatrace logger {self._name!r}>"


_loggers: weakref.WeakSet[_Logger] = weakref.WeakSet()


def get_logger(name: str | None = None) -> FilteringBoundLogger:
    """Return the structlog logger ``name``: one JSON line per event, with the trace fields.

    Works before ``init()`` (structlog's defaults apply until the first one); after
    ``shutdown()`` it keeps the format and fields of the last ``init()``.
    """
    return _Logger(name or "app")  # forwards every structlog method


def set_output(output: render.Output) -> render.Output:
    """Swap where lines go (``msatrace.testing``); returns the previous output."""
    previous, _state.output = _state.output, output
    return previous
