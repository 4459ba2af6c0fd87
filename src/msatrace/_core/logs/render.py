"""One log line from an event dict: the timestamp, the JSON and console renderers, the output.

``event`` builds each event as an ordered dict; this module turns it into one line and writes
it. JSON (the default) is one orjson call, with a fallback that makes any value encodable;
the console format, for eyes in development (the service fields said once, short IDs, no empty
fields, colours by the terminal and ``NO_COLOR`` / ``FORCE_COLOR``), is written here too.
Neither renderer raises: a value that cannot be rendered
becomes a placeholder, and should rendering itself fail the line is a fallback line with the
event's own fields (``log_error`` says why), reported once through ``safety``. Neither lets a
value forge a line: JSON escapes every character ``str.splitlines()`` splits on (orjson leaves
DEL, C1 controls and U+2028/U+2029 raw), console escapes every control character. Nesting is
bounded (``MAX_DEPTH``), cycles too. Output errors (a closed stdout, a broken pipe) are counted
and reported once on stderr, never raised. The timestamp is formatted once per millisecond.

Imports: the standard library, orjson and ``msatrace._core.safety``.
"""

from __future__ import annotations

import decimal
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import IO, Any

import orjson

from msatrace._core import safety

# Nesting deeper than this is written as TOO_DEEP, in both formats (orjson stops at 254 levels
# itself, so a deeper JSON value takes the fallback, which cuts it here).
MAX_DEPTH = 50
TOO_DEEP = "<too deep>"
CYCLE = "<cycle>"
# Control characters (C0, DEL, C1, Unicode line separators) escaped in console output.
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
_ESCAPES.update({0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x2028: "\\u2028", 0x2029: "\\u2029"})
# What orjson leaves raw in JSON strings though str.splitlines() (or a JavaScript reader) splits
# lines on some of them: DEL, C1 controls (NEL is U+0085), U+2028 and U+2029, as UTF-8 bytes.
# Each sequence is a whole character wherever it occurs: 0x7F, 0xC2 and 0xE2 are never a
# continuation byte, and orjson writes every other byte of a line outside strings as ASCII.
_RAW = re.compile(rb"\x7f|\xc2[\x80-\x9f]|\xe2\x80[\xa8\xa9]")
_JSON_ESCAPES = {
    chr(c).encode(): b"\\u%04x" % c for c in (0x7F, *range(0x80, 0xA0), 0x2028, 0x2029)
}
_output_lock = threading.Lock()  # only taken when a write failed


@dataclass
class Output:
    """Where lines go: stdout by default; ``msatrace.testing`` swaps in a list.

    A line that cannot be written (stdout closed, its reader gone) is dropped and counted in
    ``errors``; the first such failure is reported on stderr, once. Never raises.
    """

    stream: IO[bytes] | IO[str] | None = None
    captured: list[dict[str, Any]] | None = None
    text: bool = False
    # The stream last written through its binary buffer, with that buffer's write and flush:
    # while the stream stays the same, a line is two calls. Never set while capturing.
    fast: tuple[object, Callable[[bytes], object], Callable[[], object]] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    errors: int = field(default=0, init=False, compare=False)

    def write(self, line: bytes | str, event: dict[str, Any]) -> None:
        """Write one rendered line (it ends with a newline already) and flush it."""
        if self.captured is not None:
            self.captured.append(event)
            return
        stream = self.stream if self.stream is not None else sys.stdout  # capsys swaps stdout
        try:
            fast = self.fast
            if fast is not None and fast[0] is stream and type(line) is bytes:
                fast[1](line)
                fast[2]()
                return
            if isinstance(line, str):
                line = line.encode("utf-8", "backslashreplace")
            buffer = getattr(stream, "buffer", None)
            if buffer is not None:
                buffer.write(line)
                buffer.flush()
                self.fast = (stream, buffer.write, buffer.flush)
            elif self.text or "b" not in getattr(stream, "mode", ""):
                stream.write(line.decode("utf-8"))  # type: ignore[call-overload]  # a text stream
                stream.flush()
            else:
                stream.write(line)  # type: ignore[arg-type]  # a binary stream
                stream.flush()
        except Exception as exc:
            self.failed(exc)

    def failed(self, exc: Exception) -> None:
        """A line was not written: count it; report the first failure on stderr."""
        self.fast = None  # the next line looks at the stream again
        with _output_lock:
            self.errors += 1
            first = self.errors == 1
        if first:
            stream = self.stream if self.stream is not None else sys.stdout
            name = getattr(stream, "name", None) or type(stream).__name__
            # Not through logging: its lines go to the output that just failed.
            try:
                sys.stderr.write(
                    f"msatrace: cannot write log lines to {name}: {type(exc).__name__}: {exc}; "
                    "lines that cannot be written are dropped and counted, without another "
                    "report\n"
                )
                sys.stderr.flush()
            except Exception:  # stderr gone too: nowhere left to say it
                pass


# The last millisecond formatted: (milliseconds since the epoch, its RFC 3339 text); the lines
# of one request mostly fall in one millisecond.
_last_ms: tuple[int, str] = (-1, "")
_sec_cache: tuple[int, str] = (-1, "")  # (seconds since the epoch, "YYYY-MM-DDTHH:MM:SS")
_MS_SUFFIX = tuple(f".{ms:03d}Z" for ms in range(1000))  # the new millisecond of each line


def timestamp(now: float) -> str:
    """RFC 3339, UTC, milliseconds: 2026-11-24T12:34:56.789Z (formatted once per millisecond)."""
    ms = int(now * 1000)
    cached = _last_ms
    return cached[1] if cached[0] == ms else timestamp_ms(ms)


def timestamp_ms(ms: int) -> str:
    """:func:`timestamp` of a time in milliseconds since the epoch."""
    global _last_ms, _sec_cache
    cached = _last_ms  # one read: another thread may replace the tuple, never mutate it
    if cached[0] == ms:
        return cached[1]
    sec, frac = divmod(ms, 1000)
    prefix = _sec_cache
    if prefix[0] != sec:
        prefix = (sec, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)))
        _sec_cache = prefix
    text = prefix[1] + _MS_SUFFIX[frac]
    _last_ms = (ms, text)
    return text


# --- JSON ---


def _json_escape(match: re.Match[bytes]) -> bytes:
    return _JSON_ESCAPES[match.group()]


def escape_json(line: bytes) -> bytes:
    """``line`` with DEL, C1 controls and U+2028/U+2029 written as ``\\uXXXX`` escapes.

    The common line is ASCII without DEL: two scans in C, and the line itself comes back.
    """
    if line.isascii() and 0x7F not in line:  # an int: memchr (a bytes needle: a slower search)
        return line
    return _RAW.sub(_json_escape, line)


def _unrepresentable(obj: object) -> str:
    return f"<unrepresentable {type(obj).__qualname__}>"


def json_default(obj: Any) -> Any:
    """What orjson cannot encode by itself, as something it can. Never raises."""
    try:
        if isinstance(obj, decimal.Decimal):
            return str(obj)
        if isinstance(obj, (bytes, bytearray, memoryview)):
            return bytes(obj).decode("utf-8", "backslashreplace")
        if isinstance(obj, (set, frozenset)):
            try:
                return sorted(obj)
            except Exception:  # mixed types, or a __lt__ that raises
                return list(obj)
        return repr(obj)
    except Exception:
        return _unrepresentable(obj)


def _sanitize(obj: Any, depth: int = 0, path: frozenset[int] = frozenset()) -> Any:
    """Make anything orjson refused encodable: big ints, surrogates, deep, cyclic or odd values."""
    if depth > MAX_DEPTH:
        return TOO_DEEP
    if isinstance(obj, str):
        return obj.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(obj, bool) or obj is None or isinstance(obj, float):
        return obj
    if isinstance(obj, int):
        return obj if -(2**63) <= obj < 2**64 else str(obj)
    if isinstance(obj, (dict, list, tuple)):
        if id(obj) in path:
            return CYCLE
        inner = path | {id(obj)}
        if isinstance(obj, dict):
            return {_key(k): _sanitize(v, depth + 1, inner) for k, v in obj.items()}
        return [_sanitize(v, depth + 1, inner) for v in obj]
    try:
        orjson.dumps(obj, default=json_default)
        return obj
    except Exception:
        return _sanitize(json_default(obj), depth + 1, path)


def _key(obj: object) -> str:
    try:
        text = obj if isinstance(obj, str) else str(obj)
    except Exception:
        return _unrepresentable(obj)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


_LINE = orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE
NEWLINE = orjson.OPT_APPEND_NEWLINE
# The fields a fallback line keeps, when they are plain values: enough to find the event.
_HEAD = (
    "timestamp", "level", "logger", "event", "service", "environment", "version",
    "trace_id", "span_id", "request_id",
)  # fmt: skip


def json_line(event: dict[str, Any]) -> bytes:
    """One JSON line with its newline (orjson appends it: no copy). Never raises.

    Non-string keys (a field's value may be any dict) are allowed only on a second try: the
    option slows down every line, and few lines need it.
    """
    try:
        return escape_json(orjson.dumps(event, default=json_default, option=NEWLINE))
    except Exception:
        pass
    try:
        try:
            line = orjson.dumps(event, default=json_default, option=_LINE)
        except Exception:
            line = orjson.dumps(_sanitize(event), default=json_default, option=_LINE)
        return escape_json(line)
    except Exception as exc:
        return fallback_json(event, exc)


def plain(value: object) -> object:
    """``value`` if JSON and the console write it as it is (None, bool, float, a 64-bit int, a
    str, surrogates escaped), else a placeholder naming its type. Never raises."""
    if value is None or type(value) in (bool, float):
        return value
    if type(value) is int and -(2**63) <= value < 2**63:
        return value
    return _sanitize(value) if type(value) is str else _unrepresentable(value)


def fallback_json(event: object, exc: Exception) -> bytes:
    """The line written when ``event`` could not be rendered: its plain head fields and
    ``log_error``. Reports ``exc`` once (``safety``); never raises otherwise."""
    try:
        out = {k: plain(event[k]) for k in _HEAD if k in event}  # type: ignore[operator,index]  # a dict, unless broken too
    except Exception:
        out = {}
    out["log_error"] = f"this line could not be rendered ({type(exc).__name__})"
    line = escape_json(orjson.dumps(out, option=NEWLINE))
    safety.failed("logs.render", exc)
    return line


# --- console ---

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
        return _unrepresentable(value)


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
        head = {k: event[k] for k in _HEAD if k in event}  # type: ignore[operator,index]  # a dict, unless broken too
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
