"""The per-request debug mode: normal, buffer the lines below the level, or DEBUG throughout.

One ``ContextVar`` holds the mode of the request or task being served. A request sets it when it
begins and resets it with its token when it ends; threads started by the request (which copy the
context, ``_core.trace.threads``) and asyncio tasks (which copy it too) see the same object, so
their lines land in the request's buffer; every other request has its own. Nothing here is a
process-wide "current request": a line outside any request finds no mode and follows the level.

A :class:`Buffer` is bounded in lines and in bytes (estimated from the message and the text
fields, without rendering); when full, the oldest lines go first and are counted.

Imports: the standard library and ``msatrace._core.config``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping, MutableMapping
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any, Final

from msatrace._core.config.settings import Settings

# A line's fixed share of the byte estimate (the head fields every line carries).
_LINE_OVERHEAD = 160


class _Force:
    """The mode of a request that logs at DEBUG throughout (debug on demand)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "FORCE"


FORCE: Final = _Force()

# One buffered line: logger name, level, the call's fields, time, the span current then (or
# None), bound fields.
Entry = tuple[str, str, MutableMapping[str, Any], float, object, Mapping[str, Any]]


class Buffer:
    """The lines below the level of one request or task, oldest first, bounded."""

    __slots__ = ("_lock", "dropped", "lines", "max_bytes", "max_lines", "size")

    def __init__(self, max_lines: int, max_bytes: int) -> None:
        self.lines: deque[tuple[Entry, int]] = deque()
        self.size = 0
        self.dropped = 0
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        # The request's threads write into the same buffer.
        self._lock = threading.Lock()

    def add(self, entry: Entry) -> None:
        """Keep ``entry``; drop (and count) the oldest lines while over either bound."""
        size = _LINE_OVERHEAD  # roughly the bytes of the line: text values by length
        for value in entry[2].values():
            size += len(value) if value.__class__ in _SIZED else 16
        with self._lock:
            self.lines.append((entry, size))
            self.size += size
            if len(self.lines) > self.max_lines or self.size > self.max_bytes:
                self._trim()

    def _trim(self) -> None:
        lines = self.lines
        while lines and (len(lines) > self.max_lines or self.size > self.max_bytes):
            _, old = lines.popleft()
            self.size -= old
            self.dropped += 1

    def take(self) -> tuple[list[Entry], int]:
        """Every kept line, oldest first, and how many were dropped; the buffer is then empty."""
        with self._lock:
            entries = [entry for entry, _ in self.lines]
            dropped = self.dropped
            self.lines.clear()
            self.size = self.dropped = 0
        return entries, dropped

    def __bool__(self) -> bool:
        return bool(self.lines) or bool(self.dropped)


class Deferred:
    """A kept line's message, formatted only if the line is ever written: ``format(msg, args)``."""

    __slots__ = ("args", "format", "msg")

    def __init__(self, format: Callable[[object, Any], str], msg: object, args: Any) -> None:
        self.format, self.msg, self.args = format, msg, args

    def __len__(self) -> int:  # the byte estimate of Buffer.add
        return len(self.msg) if self.msg.__class__ is str else 16

    def text(self) -> str:
        """The message."""
        return self.format(self.msg, self.args)


_SIZED = (str, Deferred)
Mode = Buffer | _Force | None
_mode: ContextVar[Mode] = ContextVar("msatrace.debug_mode", default=None)
current = _mode.get


@dataclass(frozen=True, slots=True)
class Config:
    """What ``init()`` set: read per request, replaced whole by :func:`configure`."""

    on_error: bool = False
    max_lines: int = 200
    max_bytes: int = 65536
    secret: bytes | None = None
    header: str = "x-msatrace-debug"
    # Traces whose low 64 bits are below this log at DEBUG throughout (debug_sample_rate).
    sample_below: int = 0

    @property
    def active(self) -> bool:
        """Whether any request may get a mode: lines below the level must then reach us."""
        return self.on_error or self.secret is not None or self.sample_below > 0


config = Config()


def configure(settings: Settings | None) -> None:
    """Take the debug settings of ``init()`` (``None``: ``shutdown()``, everything off)."""
    global config
    if settings is None:
        config = Config()
        return
    secret = settings.debug_secret
    config = Config(
        on_error=settings.debug_on_error,
        max_lines=settings.debug_buffer_lines,
        max_bytes=settings.debug_buffer_bytes,
        secret=secret.encode("utf-8") if secret else None,
        header=settings.debug_header_name.lower(),
        sample_below=int(settings.debug_sample_rate * (1 << 64)),
    )


def enter(mode: Mode) -> Token[Mode] | None:
    """Make ``mode`` the current request's; ``None`` (nothing set) for no mode."""
    return _mode.set(mode) if mode is not None else None


def leave(token: Token[Mode] | None) -> None:
    """Undo :func:`enter`: the mode from before the request (its buffer is dropped)."""
    if token is not None:
        _mode.reset(token)


def new_buffer() -> Buffer:
    """An empty buffer with the configured bounds."""
    cfg = config
    return Buffer(cfg.max_lines, cfg.max_bytes)
