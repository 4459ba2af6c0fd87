"""A minimal Redis client (RESP2 over one socket) for the state workers share.

Just what shared noise control needs (``SET ... NX PX``, ``INCR``, lists, ``GETDEL``); no client
library is a dependency. One connection per process, opened lazily, opened again after a fork or
an error; every call has a timeout and raises :class:`OSError` on trouble, which callers turn into
the per-process fallback.

Imports: the standard library only.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import threading
from urllib.parse import unquote, urlsplit

Reply = bytes | int | list["Reply"] | None


class RespError(OSError):
    """Redis answered with an error."""


class Redis:
    def __init__(self, url: str, *, timeout: float = 0.5) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise ValueError(f"expected redis://host[:port][/db], got {url!r}")
        self.host, self.port = parts.hostname, parts.port or 6379
        self.tls = parts.scheme == "rediss"
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.db = int(parts.path.strip("/") or 0)
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._file: object = None
        self._pid = 0
        self._lock = threading.Lock()

    def call(self, *args: str | int) -> Reply:
        with self._lock:
            try:
                return self._call(args)
            except (OSError, ValueError):
                self._close()
                raise

    def close(self) -> None:
        """Close the connection (the next call opens a new one)."""
        with self._lock:
            self._close()

    def _call(self, args: tuple[str | int, ...]) -> Reply:
        if self._sock is None or self._pid != os.getpid():
            self._connect()
        assert self._sock is not None
        self._sock.sendall(_encode(args))
        reply = self._read()
        if isinstance(reply, RespError):
            raise reply
        return reply

    def _connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        if self.tls:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
        self._sock, self._pid = sock, os.getpid()
        self._buffer = b""
        if self.password is not None:
            auth = (
                ("AUTH", self.username, self.password) if self.username else ("AUTH", self.password)
            )
            self._checked(auth)
        if self.db:
            self._checked(("SELECT", self.db))

    def _checked(self, args: tuple[str | int | None, ...]) -> None:
        assert self._sock is not None
        self._sock.sendall(_encode(tuple(a for a in args if a is not None)))
        reply = self._read()
        if isinstance(reply, RespError):
            raise reply

    def _close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        self._sock = None

    def _line(self) -> bytes:
        assert self._sock is not None
        while b"\r\n" not in self._buffer:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise OSError("Redis closed the connection")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\r\n", 1)
        return line

    def _exact(self, n: int) -> bytes:
        assert self._sock is not None
        while len(self._buffer) < n + 2:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise OSError("Redis closed the connection")
            self._buffer += chunk
        data, self._buffer = self._buffer[:n], self._buffer[n + 2 :]
        return data

    def _read(self) -> Reply | RespError:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            return RespError(rest.decode("utf-8", "replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            if n < 0:
                return None
            items: list[Reply] = []
            for _ in range(n):
                item = self._read()
                if isinstance(item, RespError):
                    raise item
                items.append(item)
            return items
        raise ValueError(f"unexpected Redis reply {line[:40]!r}")


def _encode(args: tuple[str | int, ...]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)
