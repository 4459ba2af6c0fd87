"""The standard library's side of logging: the bridge, the gates, and what a record says.

``Bridge``, the handler ``configure`` puts on the root logger, sends every standard-library record
(uvicorn, gunicorn, Django, Celery, urllib3, ...) through the event builder. The gates
(``STD_PATCHES``, wrappers of ``Logger.debug/info/warning/log``) hand a call below its logger's
level to the bridge while a request has a debug mode (``_core.debug``). ``state`` holds the levels
and switches ``configure()`` set, which the bridge, the gates and ``configure``'s structlog write
read. The rest are pure helpers: the server and framework loggers msatrace adopts, the attributes
of a record that are not its fields, a record's (or a ``Logger._log`` call's) message, the IDs of a
gunicorn access line, and which handlers would print a second copy.

Imports: the standard library and ``msatrace._core`` (debug.buffer, errors.capture, logs.builder,
logs.console, logs.render, safety, trace.headers).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from msatrace._core.debug import buffer
from msatrace._core.errors import capture
from msatrace._core.logs import builder, console, render
from msatrace._core.safety import failed
from msatrace._core.trace import headers

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
STD_RECORD = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


STD_LEVEL_NAMES = {10: "debug", 20: "info", 30: "warning", 40: "error", 50: "critical"}


def call_message(msg: object, args: Any) -> str:
    """The message a record of ``msg % args`` would have (``LogRecord.getMessage``)."""
    if args and len(args) == 1 and isinstance(args[0], Mapping) and args[0]:
        args = args[0]  # LogRecord's own rule: logger.debug("%(a)s", {"a": 1})
    try:
        return str(msg) % args if args else str(msg)
    except Exception:
        return f"{console.console_value(msg)} % {console.console_value(args)}"


def message(record: logging.LogRecord) -> str:
    """The record's message; when its arguments do not fit its format, both as they came."""
    try:
        return record.getMessage()
    except Exception:
        return f"{console.console_value(record.msg)} % {console.console_value(record.args)}"


def ids_from_gunicorn_atoms(
    event: dict[str, Any], atoms: object, response_atoms: tuple[str, str]
) -> None:
    """The trace and request IDs of a gunicorn access line, from the response headers it logs.

    gunicorn writes its access line after the request ended, outside the request's context, with
    the response headers among its atoms (``{x-trace-id}o``): msatrace's own ``X-Trace-ID`` and
    ``X-Request-ID``, or the application's, validated like any incoming header.
    """
    if not isinstance(atoms, Mapping):
        return
    trace_atom, request_id_atom = response_atoms
    trace_id = headers.parse_trace_id(atoms.get(trace_atom))
    if trace_id is not None:
        event["trace_id"] = trace_id
        event["request_id"] = headers.parse_request_id(atoms.get(request_id_atom))


def is_console_handler(handler: logging.Handler) -> bool:
    """A plain stream handler to stdout/stderr: it would print a second copy of each line."""
    if type(handler) is not logging.StreamHandler:
        return False
    return getattr(handler, "stream", None) in (
        sys.stdout,
        sys.stderr,
        sys.__stdout__,
        sys.__stderr__,
    )


# --- what configure() set ---


@dataclass
class State:
    """The levels and switches ``configure()`` set, read by the bridge, the gates and
    ``configure``'s structlog write; the handlers and levels it changed, given back by
    ``unconfigure()``."""

    levels: dict[str, int] = field(default_factory=dict)
    level: int = 20
    drop_access: bool = False
    # gunicorn's access-log atoms of the X-Trace-ID and X-Request-ID response headers.
    response_atoms: tuple[str, str] = ("{x-trace-id}o", "{x-request-id}o")
    bridge: Bridge | None = None
    # Debug on error or on demand is on: lines below the level may be kept or written while a
    # request has a debug mode (``_core.debug``), so they must reach ``_write`` and the bridge.
    gated: bool = False
    removed: list[tuple[logging.Logger, logging.Handler]] = field(default_factory=list)
    saved: list[tuple[logging.Logger, int, bool]] = field(default_factory=list)


state = State()


def level_for(name: str) -> tuple[int, bool]:
    """The level of logger ``name`` and whether a per-logger level (not the global one) set it."""
    best, best_len = state.level, -1
    for prefix, lvl in state.levels.items():
        if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best_len:
            best, best_len = lvl, len(prefix)
    return best, best_len >= 0


# --- the bridge ---


class Bridge(logging.Handler):
    """Sends stdlib log records through the event builder to the same output."""

    def below(
        self,
        name: str,
        mode: buffer.Buffer | object,
        levelno: int,
        msg: object,
        args: Any,
        exc_info: Any = None,
        extra: Mapping[str, Any] | None = None,
        stack_info: bool = False,
        stacklevel: int = 1,
    ) -> None:
        """A call below its logger's level (``Logger._log``'s arguments), let through for a
        request's debug ``mode`` (``_std_method``): kept in its buffer, or written (DEBUG on
        demand). The line has what the bridge takes from a record: the message, the ``extra``
        fields, the exception.
        """
        try:
            if state.levels:
                level, explicit = level_for(name)
                if explicit and levelno < level:
                    return  # a per-logger level silences its logger in every mode
            kept = isinstance(mode, buffer.Buffer)
            ev: dict[str, Any] = {
                # Formatted only if the line is ever written, as a record defers it to its
                # handlers.
                "event": buffer.Deferred(call_message, msg, args)
                if kept and args
                else call_message(msg, args)
            }
            if extra:
                for key, value in extra.items():
                    if key not in STD_RECORD and key[:1] != "_":
                        ev[key] = value
            if exc_info:
                if isinstance(exc_info, BaseException):
                    exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
                elif not isinstance(exc_info, tuple):
                    exc_info = sys.exc_info()
                ev["exc_info"] = exc_info
            method = STD_LEVEL_NAMES.get(levelno) or logging.getLevelName(levelno).lower()
            if kept:
                builder.keep(mode, name, method, ev)  # type: ignore[arg-type]  # kept: a Buffer
            else:
                builder.write(name, method, ev, time.time())
        except Exception as exc:
            failed("logs.bridge", exc)

    def _fields(self, record: logging.LogRecord) -> dict[str, Any] | None:
        """The record's event fields; ``None`` for a record msatrace writes otherwise."""
        if state.drop_access and (
            record.name in ACCESS_LOGGERS
            or (record.name == "django.server" and hasattr(record, "status_code"))
        ):
            return None  # msatrace writes the access line (documented in docs/logging.md)
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and capture.line_decided(exc):
            return None  # msatrace already logged this exception once, with its trace
        ev: dict[str, Any] = {"event": message(record)}
        attrs = record.__dict__
        if not attrs.keys() <= STD_RECORD:  # extra fields: copied in their order
            for key, value in attrs.items():
                if key not in STD_RECORD and key[:1] != "_":
                    ev[key] = value
        if record.exc_info:
            ev["exc_info"] = record.exc_info
        return ev

    def emit(self, record: logging.LogRecord) -> None:
        try:
            ev = self._fields(record)
            if ev is None:
                return
            if record.name == "gunicorn.access":
                timestamp = render.timestamp(record.created)
                event = builder.build(
                    record.name, record.levelname.lower(), ev, timestamp, builder.current_ids()
                )
                if event["trace_id"] is None:
                    ids_from_gunicorn_atoms(event, record.args, state.response_atoms)
                builder.finish(event)
            else:
                builder.write(record.name, record.levelname.lower(), ev, record.created)
        except Exception as exc:  # not handleError(): its "--- Logging error ---" dump
            failed("logs.bridge", exc)


# Logger.debug, .info, .warning and .log: the calls that may be below the level. Such a call
# returns at once after its own isEnabledFor check, before a record is made; while a request has
# a debug mode, the wrapper hands it to the bridge instead (kept, or written at DEBUG), without
# making a record, and never to the application's other handlers. A call at or above the level
# goes on unchanged. Code guarded by its own isEnabledFor(DEBUG) is not reached.
def _std_method(levelno: int) -> Any:
    def wrapper(wrapped: Any, instance: logging.Logger, args: Any, kwargs: Any) -> Any:
        if not state.gated or instance.isEnabledFor(levelno) or not args:
            return wrapped(*args, **kwargs)
        mode = buffer.current()
        if mode is not None:
            _below(instance, mode, levelno, args[0], args[1:], kwargs)
        return None

    return wrapper


def _std_log(wrapped: Any, instance: logging.Logger, args: Any, kwargs: Any) -> Any:
    level = args[0] if args else None
    if not state.gated or type(level) is not int or len(args) < 2 or instance.isEnabledFor(level):
        return wrapped(*args, **kwargs)
    mode = buffer.current()
    if mode is not None and level >= logging.DEBUG:
        _below(instance, mode, level, args[1], args[2:], kwargs)
    return None


def _below(
    logger: logging.Logger, mode: object, levelno: int, msg: object, args: Any, kwargs: Any
) -> None:
    bridge = state.bridge
    if bridge is None or logger.disabled or logger.manager.disable >= levelno:
        return  # logging.disable() and a disabled logger still win
    if logger.name in _NEVER_KEPT:
        return
    bridge.below(logger.name, mode, levelno, msg, args, **kwargs)


# Loggers whose below-level lines are no help in explaining a failure: Django (4.2) logs every
# failed template variable lookup at DEBUG, with its traceback, while it renders its own error
# report for the failing request.
_NEVER_KEPT = frozenset(("django.template",))


STD_PATCHES = (
    ("debug", _std_method(logging.DEBUG)),
    ("info", _std_method(logging.INFO)),
    ("warning", _std_method(logging.WARNING)),
    ("log", _std_log),
)
