"""One log line from an event dict: the timestamp, the JSON and console renderers, the output.

``logs`` builds each event as an ordered dict; this module turns it into one line and writes
it. JSON (the default) is one orjson call, with a fallback that makes any value encodable;
console output escapes control characters so that no value can forge a line. The timestamp is
formatted once per millisecond.

Imports: the standard library, orjson and (for the console format) structlog.
"""

from __future__ import annotations

import decimal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

import orjson

# Control characters (C0, DEL, C1, Unicode line separators) escaped in console output.
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
_ESCAPES.update({0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x2028: "\\u2028", 0x2029: "\\u2029"})


@dataclass
class Output:
    """Where lines go: stdout by default; ``msatrace.testing`` swaps in a list."""

    stream: IO[bytes] | IO[str] | None = None
    captured: list[dict[str, Any]] | None = None
    text: bool = False
    # The stream last written through its binary buffer, with that buffer's write and flush:
    # while the stream stays the same, a line is two calls (access.write_access_line makes them
    # itself). Never set while capturing.
    fast: tuple[object, Callable[[bytes], object], Callable[[], object]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def write(self, line: bytes | str, event: dict[str, Any]) -> None:
        """Write one rendered line (it ends with a newline already) and flush it."""
        if self.captured is not None:
            self.captured.append(event)
            return
        stream = self.stream if self.stream is not None else sys.stdout  # capsys swaps stdout
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


# The last millisecond formatted: (milliseconds since the epoch, its RFC 3339 text). Read-only
# outside this module; a hot path may compare against it before calling timestamp_ms(), as
# timestamp() does (the lines of one request mostly fall in one millisecond).
last_timestamp: tuple[int, str] = (-1, "")
_sec_cache: tuple[int, str] = (-1, "")  # (seconds since the epoch, "YYYY-MM-DDTHH:MM:SS")
_MS_SUFFIX = tuple(f".{ms:03d}Z" for ms in range(1000))  # the new millisecond of each line


def timestamp(now: float) -> str:
    """RFC 3339, UTC, milliseconds: 2026-11-24T12:34:56.789Z (formatted once per millisecond)."""
    ms = int(now * 1000)
    cached = last_timestamp
    if cached[0] == ms:
        return cached[1]
    return timestamp_ms(ms)


def timestamp_ms(ms: int) -> str:
    """:func:`timestamp` of a time in milliseconds since the epoch; formats and caches it."""
    global last_timestamp, _sec_cache
    sec, frac = divmod(ms, 1000)
    prefix = _sec_cache
    if prefix[0] != sec:
        prefix = (sec, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)))
        _sec_cache = prefix
    text = prefix[1] + _MS_SUFFIX[frac]
    last_timestamp = (ms, text)
    return text


def json_default(obj: Any) -> Any:
    if isinstance(obj, decimal.Decimal):
        return str(obj)
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj).decode("utf-8", "backslashreplace")
    if isinstance(obj, (set, frozenset)):
        try:
            return sorted(obj)
        except TypeError:
            return list(obj)
    try:
        return repr(obj)
    except Exception:
        return f"<unrepresentable {type(obj).__qualname__}>"


def _sanitize(obj: Any, depth: int = 0) -> Any:
    """Make anything orjson refused encodable: big ints, surrogates, deep or odd nesting."""
    if depth > 50:
        return "<too deep>"
    if isinstance(obj, str):
        return obj.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(obj, bool) or obj is None or isinstance(obj, float):
        return obj
    if isinstance(obj, int):
        return obj if -(2**63) <= obj < 2**64 else str(obj)
    if isinstance(obj, dict):
        return {_sanitize(str(k), depth + 1): _sanitize(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_sanitize(v, depth + 1) for v in obj]
    try:
        orjson.dumps(obj, default=json_default)
        return obj
    except Exception:
        return _sanitize(json_default(obj), depth + 1)


_LINE = orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE
NEWLINE = orjson.OPT_APPEND_NEWLINE


def json_line(event: dict[str, Any]) -> bytes:
    """One JSON line with its newline (orjson appends it: no copy). Never raises.

    Non-string keys (a field's value may be any dict) cost every line a fifth more when
    allowed, so they are allowed only on a second try.
    """
    try:
        return orjson.dumps(event, default=json_default, option=NEWLINE)
    except Exception:
        try:
            return orjson.dumps(event, default=json_default, option=_LINE)
        except Exception:
            return orjson.dumps(_sanitize(event), default=json_default, option=_LINE)


def _escape(value: Any) -> Any:
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, dict):
        return {_escape(str(k)): _escape(v) for k, v in value.items()}
    try:
        return repr(value).translate(_ESCAPES)
    except Exception:
        return f"<unrepresentable {type(value).__qualname__}>"


def console_renderer(colors: bool) -> Callable[[dict[str, Any]], str]:
    import structlog

    # The event column width goes first, by position: structlog 25.5 renamed the keyword from
    # pad_event to pad_event_to (deprecating the old name); the minimum, 24.1, has only pad_event.
    renderer = structlog.dev.ConsoleRenderer(40, colors=colors, sort_keys=False)

    def render(event: dict[str, Any]) -> str:
        safe = {k: _escape(v) for k, v in event.items()}
        safe.pop("logger_name", None)
        safe.pop("exc_info", None)
        return str(renderer(None, "", safe)).replace("\n", "\\n") + "\n"

    return render
