"""The one place that decides which line logs an exception, and where reporters attach.

Three things happen to an exception the application lets out of a request or a task:

- a line at ERROR may already carry it (the application's ``log.exception(...)``, a framework's
  error handler): the log event builder calls :func:`line_written`, and that line is the one;
- a lifecycle hands it to :func:`capture` (``RequestScope.fail``, ``TaskRun.fail``, the Flask,
  Django and Celery failure hooks), saying whether msatrace should log it (``log=False``: the
  framework writes its own line, inside the trace). ``capture`` decides whether msatrace's line is
  written (asked for, and no line carries the exception yet), and from then on the exception's
  line is decided;
- a later standard-library record of the same exception (a server's "Exception in ASGI
  application") is dropped by the log bridge, which asks :func:`line_decided`.

What is known about an exception is kept here, by identity, never on the exception object: a
bounded registry of the most recent ones. Most exceptions cannot be weakly referenced (built-in
exception classes and any class with ``__slots__``), so those entries hold the exception until
:data:`LIMIT` newer ones push it out or ``shutdown()`` clears the registry; the rest are held
weakly. An entry pushed out early only means a second line for a very old exception.

Each ``capture`` makes one :class:`Captured` event for the reporters ``init()`` installed
(:func:`install`): today the one writing msatrace's exception line (``runtime``); error reporting
adds its own there, and uses ``Captured.first`` to report an exception once.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from msatrace._core.safety import failed

# What the registry knows about one exception (bit flags).
_SEEN = 1  # a line at ERROR carried it
_DECIDED = 2  # its one line is written or chosen: later stdlib records of it are dropped
_CAPTURED = 4  # handed to capture() at least once
# Exceptions remembered at once: far more than are ever in flight between a handler's line and
# the server's record of the same exception, few enough that held tracebacks stay small.
LIMIT = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class Captured:
    """One exception handed to :func:`capture`, as the reporters see it."""

    error: BaseException
    # msatrace's logger and message for the exception's line ("msatrace.error", "unhandled
    # exception"), and the line's extra fields (the request's path).
    logger: str
    message: str
    fields: Mapping[str, Any]
    # The first capture of this exception (Flask's hook and then the middleware may both hand
    # over the same one): a report is made once.
    first: bool
    # msatrace writes the exception's line: asked for, and no line at ERROR carries it yet.
    write_line: bool


Reporter = Callable[[Captured], object]


class _Registry:
    """Flags per recent exception, keyed by ``id()`` and checked by identity."""

    __slots__ = ("_entries", "_lock")

    def __init__(self) -> None:
        self._entries: OrderedDict[int, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def flags(self, exc: BaseException) -> int:
        with self._lock:
            entry = self._entries.get(id(exc))
        return entry[1] if entry is not None and _held(entry[0]) is exc else 0

    def add(self, exc: BaseException, flags: int) -> int:
        """Set ``flags`` on ``exc``; returns the flags it had before."""
        key = id(exc)
        try:
            ref: Any = weakref.ref(exc)
        except TypeError:  # built-in exception classes, __slots__: held until pushed out
            ref = exc
        with self._lock:
            entry = self._entries.get(key)
            # Another object that had the same id() and is gone: its flags are not this one's.
            before = entry[1] if entry is not None and _held(entry[0]) is exc else 0
            self._entries[key] = (ref, before | flags)
            self._entries.move_to_end(key)
            while len(self._entries) > LIMIT:
                self._entries.popitem(last=False)
        return before

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _held(ref: Any) -> object:
    return ref() if type(ref) is weakref.ref else ref


_registry = _Registry()
_reporters: tuple[Reporter, ...] = ()
# error_capture_logged: an exception on a line at ERROR is handed to the reporters too.
_report_logged = False


def install(reporters: tuple[Reporter, ...], *, report_logged: bool = False) -> None:
    """The reporters every capture is handed to, chosen by ``init()`` (``()`` at shutdown).

    Args:
        report_logged: a line at ERROR carrying an exception (``log.exception(...)``) hands it
            to the reporters as a capture does (``error_capture_logged``).
    """
    global _reporters, _report_logged
    _reporters = reporters
    _report_logged = report_logged and bool(reporters)
    if not reporters:
        _registry.clear()


def capture(error: BaseException, *, logger: str, message: str, log: bool, **fields: Any) -> None:
    """The application let ``error`` out: decide its line, and hand it to the reporters.

    Args:
        logger: msatrace's logger for the exception's line.
        message: the line's message.
        log: ``False`` when the framework writes the exception's line itself, inside the trace
            (Flask's ``app.logger``, Django's ``django.request``, Celery's task failure).
        fields: extra fields for msatrace's line.

    Never raises: a failing reporter is reported once (``safety.failed``) and the others still run.
    """
    before = _registry.add(error, _CAPTURED | (_DECIDED if log else 0))
    event = Captured(
        error=error,
        logger=logger,
        message=message,
        fields=fields,
        first=not before & _CAPTURED,
        write_line=log and not before & (_SEEN | _DECIDED),
    )
    _hand_over(event)


def _hand_over(event: Captured) -> None:
    for reporter in _reporters:
        try:
            reporter(event)
        except Exception as exc:
            failed(f"errors.{getattr(reporter, '__name__', 'reporter')}", exc)


# Loggers whose lines never become reports: msatrace's own and the OpenTelemetry SDK's (an
# exporter failing), which would report the observability pipeline's trouble as the app's bugs.
_NOT_REPORTED = ("msatrace", "opentelemetry")


def line_written(error: BaseException, logger: str = "") -> None:
    """A line at ERROR carrying ``error`` was written: a later ``capture`` writes no second one.

    With ``error_capture_logged``, the line also counts as the exception's capture: it is
    reported now (a later ``capture`` of it, by the request's middleware, is then not its first),
    unless ``logger`` is msatrace's or OpenTelemetry's own.
    """
    if not _report_logged or logger.partition(".")[0] in _NOT_REPORTED:
        _registry.add(error, _SEEN)
        return
    before = _registry.add(error, _SEEN | _CAPTURED)
    if not before & _CAPTURED:
        _hand_over(
            Captured(error=error, logger="", message="", fields={}, first=True, write_line=False)
        )


def line_decided(error: BaseException) -> bool:
    """Whether ``error``'s one line is written or chosen: a later record of it is a duplicate."""
    return bool(_registry.flags(error) & _DECIDED)
