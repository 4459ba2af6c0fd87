"""The standard library's side of logging: which loggers are servers', what a record says.

Pure helpers of the bridge in ``configure``: the server and framework loggers msatrace adopts,
the attributes of a record that are not its fields, a record's (or a ``Logger._log`` call's)
message, the IDs of a gunicorn access line, and which handlers would print a second copy.

Imports: the standard library and ``msatrace._core`` (logs.render, trace.headers).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any

from msatrace._core.logs import console
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
