"""One log line from an event dict: the timestamp, the JSON renderer, the output.

``event`` builds each event as an ordered dict; this module turns it into one line and writes
it. JSON (the default) is one orjson call, with a fallback that makes any value encodable; the
console format (development, for eyes) is ``console``'s, on the same guarantees and with the
helpers here (``plain``, the depth bound, the fallback's ``HEAD`` fields). Neither renderer
raises: a value that cannot be rendered becomes a placeholder, and should rendering itself fail
the line is a fallback line with the event's own fields (``log_error`` says why), reported once
through ``safety``. Neither lets a value forge a line: JSON escapes every character
``str.splitlines()`` splits on (orjson leaves DEL, C1 controls and U+2028/U+2029 raw), console
escapes every control character. Nesting is bounded (``MAX_DEPTH``), cycles too. Output errors
(a closed stdout, a broken pipe) are counted and reported once on stderr, never raised. The
timestamp is formatted once per millisecond.

Imports: the standard library, orjson and ``msatrace._core.safety``.
"""

from __future__ import annotations

import decimal
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

import orjson

from msatrace._core import safety

# Nesting deeper than this is written as TOO_DEEP, in both formats (orjson stops at 254 levels
# itself, so a deeper JSON value takes the fallback, which cuts it here).
MAX_DEPTH = 50
TOO_DEEP = "<too deep>"
CYCLE = "<cycle>"
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


def unrepresentable(obj: object) -> str:
    """The placeholder written for a value that cannot be rendered."""
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
        return unrepresentable(obj)


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
        return unrepresentable(obj)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


_LINE = orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE
NEWLINE = orjson.OPT_APPEND_NEWLINE
# The fields a fallback line keeps, when they are plain values: enough to find the event.
HEAD = (
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
    return _sanitize(value) if type(value) is str else unrepresentable(value)


def fallback_json(event: object, exc: Exception) -> bytes:
    """The line written when ``event`` could not be rendered: its plain head fields and
    ``log_error``. Reports ``exc`` once (``safety``); never raises otherwise."""
    try:
        out = {k: plain(event[k]) for k in HEAD if k in event}  # type: ignore[operator,index]  # a dict, unless broken too
    except Exception:
        out = {}
    out["log_error"] = f"this line could not be rendered ({type(exc).__name__})"
    line = escape_json(orjson.dumps(out, option=NEWLINE))
    safety.failed("logs.render", exc)
    return line
