"""The console format, for eyes in development: one line per event, never raising.

``timestamp [level] event [logger] key=value ...``, an exception's stack indented below it. The
fields that never change in a process (service, environment, version) are said once, on the
first line (``init()``'s start-up line); trace and span IDs, and a request ID msatrace
generated, are cut to their first 8 hex digits except on the access line; ``None`` and empty
fields are left out; ANSI colours on a terminal, by the ``NO_COLOR`` / ``FORCE_COLOR``
conventions. Every control character is escaped, so that no value can forge a line; nesting
and cycles are bounded as in JSON (``render``). A line that cannot be rendered is the fallback
line with the event's own fields and ``log_error``, reported once through ``safety``.

Imports: the standard library, ``msatrace._core.safety`` and ``render``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from msatrace._core import safety
from msatrace._core.logs.render import CYCLE, HEAD, MAX_DEPTH, TOO_DEEP, plain, unrepresentable

# Control characters (C0, DEL, C1, Unicode line separators) escaped in console output.
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
_ESCAPES.update({0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x2028: "\\u2028", 0x2029: "\\u2029"})

_RESET, _DIM, _BRIGHT = "\x1b[0m", "\x1b[2m", "\x1b[1m"
_LEVEL_COLORS = {
    "critical": "\x1b[31m", "error": "\x1b[31m", "warning": "\x1b[33m",
    "info": "\x1b[32m", "debug": "\x1b[32m",
}  # fmt: skip
_KEY_COLOR, _VALUE_COLOR, _LOGGER_COLOR = "\x1b[36m", "\x1b[35m", "\x1b[34m"


def console_value(value: Any, depth: int = 0, path: frozenset[int] = frozenset()) -> str:
    """``repr(value)`` with control characters escaped, nesting and cycles bounded; never raises.

    A top-level string is written as it is (escaped), without quotes.
    """
    if depth == 0 and type(value) is str:
        return value.translate(_ESCAPES)
    if depth > MAX_DEPTH:
        return TOO_DEEP
    if isinstance(value, (dict, list, tuple, set, frozenset)):
        if id(value) in path:
            return CYCLE
        inner = path | {id(value)}
        if isinstance(value, dict):
            items = ", ".join(
                f"{console_value(k, depth + 1, inner)}: {console_value(v, depth + 1, inner)}"
                for k, v in value.items()
            )
            return f"{{{items}}}"
        parts = [console_value(v, depth + 1, inner) for v in value]
        if isinstance(value, list):
            return f"[{', '.join(parts)}]"
        if isinstance(value, tuple):
            return f"({parts[0]},)" if len(parts) == 1 else f"({', '.join(parts)})"
        return f"{{{', '.join(parts)}}}" if parts else f"{type(value).__name__}()"
    try:
        return repr(value).translate(_ESCAPES)
    except Exception:  # a __repr__ that raises, or recurses without end
        return unrepresentable(value)


# Shortened on the console (``console_renderer``): the trace and span IDs, and a request ID
# msatrace generated (32 hex digits); a request ID a caller sent is shown as it came.
SHORT_ID = 8
_SHORTENED = frozenset(("trace_id", "span_id"))
_HEX = frozenset("0123456789abcdef")
# Lines that show their IDs in full on the console: one per request, to copy into a trace viewer.
FULL_ID_LOGGERS = frozenset(("msatrace.access",))
_OMIT = object()  # a field the console leaves out


def _shown(key: object, value: Any, hidden: Mapping[object, object], full_ids: bool) -> Any:
    """What the console shows of one field: ``_OMIT`` for an empty or a process-wide one."""
    if value is None or (type(value) is str and not value):
        return _OMIT
    if type(value) is not str:
        return value
    if key in hidden and hidden[key] == value:
        return _OMIT
    short = key in _SHORTENED or (
        key == "request_id" and len(value) == 32 and _HEX.issuperset(value)
    )
    return value[:SHORT_ID] if short and not full_ids and len(value) > SHORT_ID else value


def _console_line(
    event: dict[str, Any], colors: bool, hidden: Mapping[object, object] = MappingProxyType({})
) -> str:
    fields = dict(event)
    timestamp = console_value(fields.pop("timestamp", ""))
    level = console_value(fields.pop("level", ""))
    logger = console_value(fields.pop("logger", ""))
    message = console_value(fields.pop("event", ""))
    # The exception msatrace built (``event.exception_fields``): its stack goes below the line.
    exception = fields.get("exception")
    stack = exception.get("stack") if type(exception) is dict else None
    if type(stack) is str:
        del fields["exception"]
    else:
        stack = None
    full_ids = logger in FULL_ID_LOGGERS
    shown = []
    for key, value in fields.items():
        value = _shown(key, value, hidden, full_ids)
        if value is not _OMIT:
            shown.append((console_value(key), console_value(value)))
    if colors:
        color = _LEVEL_COLORS.get(level, "")
        head = (
            f"{_DIM}{timestamp}{_RESET} [{color}{_BRIGHT}{level:<9}{_RESET}] "
            f"{_BRIGHT}{message:<40}{_RESET} [{_LOGGER_COLOR}{_BRIGHT}{logger}{_RESET}]"
        )
        pairs = (f"{_KEY_COLOR}{k}{_RESET}={_VALUE_COLOR}{v}{_RESET}" for k, v in shown)
    else:
        head = f"{timestamp} [{level:<9}] {message:<40} [{logger}]"
        pairs = (f"{k}={v}" for k, v in shown)
    line = " ".join((head, *pairs))
    if stack:
        # Indented, so that no line of it (an exception message included) can pass for an
        # event line, which starts with its timestamp.
        parts = stack.rstrip("\n").split("\n")  # not rstrip(): NEL, U+2028 are whitespace
        line += "".join(f"\n    {part.translate(_ESCAPES)}" for part in parts)
    return line + "\n"


def fallback_console(event: object, exc: Exception) -> str:
    """:func:`fallback_json` for the console format: the plain head fields and ``log_error``."""
    try:
        head = {k: event[k] for k in HEAD if k in event}  # type: ignore[operator,index]  # a dict, unless broken too
        fields = " ".join(f"{k}={console_value(plain(v))}" for k, v in head.items())
    except Exception:
        fields = ""
    line = f"{fields} log_error='this line could not be rendered ({type(exc).__name__})'\n"
    safety.failed("logs.render", exc)
    return line.lstrip()


def console_renderer(
    colors: bool, static: Mapping[str, object] | None = None
) -> Callable[[dict[str, Any]], str]:
    """The console format, for eyes: ``timestamp [level] event [logger] key=value ...``.

    ``colors`` adds ANSI colours (see :func:`use_colors`). ``static``, the fields that never
    change in the process (service, environment, version), are shown on the first line only
    (``init()``'s start-up line) and left out of every later line that carries the same values.
    Empty fields (``None``, ``""``) are left out; trace and span IDs, and a request ID msatrace
    generated, are cut to their first ``SHORT_ID`` hex digits, except on the lines of
    ``FULL_ID_LOGGERS`` (the access line). An exception's stack follows, indented. Never raises.
    """
    hidden: Mapping[object, object] = MappingProxyType(dict((static or {}).items()))
    first = [bool(hidden)]  # the first line is the banner: it shows the static fields

    def render(event: dict[str, Any]) -> str:
        try:
            if first[0]:
                first[0] = False
                return _console_line(event, colors)
            return _console_line(event, colors, hidden)
        except Exception as exc:
            return fallback_console(event, exc)

    return render


def use_colors(stream: object, environ: Mapping[str, str]) -> bool:
    """Whether console lines to ``stream`` get ANSI colours: ``NO_COLOR`` (set and not empty)
    turns them off, then ``FORCE_COLOR`` (set, not empty, not ``0``/``false``) on; otherwise
    only a terminal gets them (``TERM=dumb`` not). Never raises."""
    if environ.get("NO_COLOR"):
        return False
    force = environ.get("FORCE_COLOR")
    if force:
        return force.lower() not in ("0", "false")
    if environ.get("TERM") == "dumb":
        return False
    try:
        return bool(getattr(stream, "isatty", lambda: False)())
    except Exception:  # a closed or odd stream
        return False
