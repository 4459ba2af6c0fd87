"""The error event: what a report says about one exception, built once at capture.

The exception chain (type, message, frames with an in-app flag and a few source lines for in-app
frames; local variables never), where it happened (trace, span and request IDs, method, route,
status, user), and who reports it (service, environment, version, host, pid). Counts and first
and last seen are the noise control's (``noise``), not the event's.

Imports: the standard library and this package.
"""

from __future__ import annotations

import functools
import linecache
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from msatrace._core.errors.fingerprint import chain, fingerprint, frames, is_in_app

MAX_FRAMES = 30


CONTEXT_LINES = 2
MAX_MESSAGE = 2000


@functools.cache
def _hostname() -> str:
    # Asked once: a system call per captured exception for a name that does not change.
    return socket.gethostname()


@dataclass(frozen=True, kw_only=True)
class Frame:
    filename: str
    module: str
    function: str
    lineno: int
    in_app: bool
    # For in-app frames: the source lines around ``lineno`` (before, the line, after).
    context: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ExceptionInfo:
    type: str
    message: str
    frames: tuple[Frame, ...]


@dataclass(frozen=True, kw_only=True)
class ErrorEvent:
    """One captured exception, as every notifier sees it."""

    fingerprint: str
    exceptions: tuple[ExceptionInfo, ...]  # outermost first
    timestamp: float
    service: str = ""
    environment: str = ""
    version: str = ""
    trace_id: str | None = None
    span_id: str | None = None
    request_id: str | None = None
    method: str | None = None
    route: str | None = None
    status: int | None = None
    user_id: str | None = None
    host: str = field(default_factory=_hostname)
    pid: int = field(default_factory=os.getpid)

    @property
    def title(self) -> str:
        """``ValueError: order <n> ...`` as people read it: the outermost exception."""
        first = self.exceptions[0]
        if first.type == MESSAGE:
            return first.message
        return f"{first.type}: {first.message}" if first.message else first.type

    @property
    def culprit(self) -> str:
        """The innermost in-app frame of the outermost exception: ``app.orders:checkout``."""
        for exc in self.exceptions:
            for frame in reversed(exc.frames):
                if frame.in_app:
                    return f"{frame.module}:{frame.function}"
        return ""


MESSAGE = "message"  # the type shown for a capture_message() report


class ReportedMessage(Exception):
    """A message reported with ``msatrace.capture_message``: an error without a traceback."""


def build(
    exc: BaseException,
    *,
    context: Mapping[str, Any] | None = None,
    fingerprint_override: str | None = None,
) -> ErrorEvent:
    """The event for ``exc``; ``context`` supplies the trace, request and service fields."""
    ctx = dict(context or {})
    infos = tuple(_info(link) for link in chain(exc))
    return ErrorEvent(
        fingerprint=fingerprint_override or fingerprint(exc),
        exceptions=infos,
        timestamp=time.time(),
        **{k: v for k, v in ctx.items() if k in _CONTEXT_FIELDS},
    )


_CONTEXT_FIELDS = frozenset(
    (
        "service", "environment", "version", "trace_id", "span_id", "request_id", "method",
        "route", "status", "user_id",
    )
)  # fmt: skip


def _info(exc: BaseException) -> ExceptionInfo:
    kind = type(exc)
    if kind is ReportedMessage:
        name = MESSAGE
    elif kind.__module__ == "builtins":
        name = kind.__qualname__
    else:
        name = f"{kind.__module__}.{kind.__qualname__}"
    try:
        message = str(exc)
    except Exception:  # a broken __str__ must not lose the report
        message = "<unprintable>"
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 1] + "…"
    stack = list(frames(exc.__traceback__))[-MAX_FRAMES:]
    return ExceptionInfo(type=name, message=message, frames=tuple(_frame(*f) for f in stack))


def _frame(filename: str, module: str, function: str, lineno: int) -> Frame:
    in_app = is_in_app(filename)
    context: tuple[str, ...] = ()
    if in_app:
        lines = [
            linecache.getline(filename, n).rstrip("\n")
            for n in range(lineno - CONTEXT_LINES, lineno + CONTEXT_LINES + 1)
            if n > 0
        ]
        context = tuple(lines)
    return Frame(
        filename=filename,
        module=module,
        function=function,
        lineno=lineno,
        in_app=in_app,
        context=context,
    )
