"""The built-in checks: an HTTP URL, a TCP port, Redis, a Celery broker and disk space.

Each factory returns a :class:`~msatrace._core.health.checks.Check` whose probe uses only the
standard library (no Redis or AMQP client as a dependency) and its own socket timeout, so a run
that outlives the registry's wait still ends. A check's name never contains a URL's credentials.

Imports: the standard library and this package.
"""

from __future__ import annotations

import http.client
import shutil
import socket
import ssl
from collections.abc import Sequence
from urllib.parse import unquote, urlsplit

from msatrace._core.health.checks import Check, Observation


def http_check(
    url: str,
    *,
    name: str | None = None,
    timeout: float = 2.0,
    critical: bool = True,
    expect: range = range(200, 400),
) -> Check:
    """GET ``url``: passes when the status is in ``expect`` (2xx and 3xx by default)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"health check URL {url!r}: expected http(s)://host[:port]/path")
    host, port = parts.hostname, parts.port
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    https = parts.scheme == "https"

    def probe() -> None:
        cls = http.client.HTTPSConnection if https else http.client.HTTPConnection
        conn = cls(host, port, timeout=timeout)
        try:
            conn.request("GET", target, headers={"User-Agent": "msatrace-health"})
            status = conn.getresponse().status
        finally:
            conn.close()
        if status not in expect:
            raise RuntimeError(f"HTTP {status}")

    return Check(
        name=name or host,
        probe=probe,
        component_type="component",
        timeout=timeout,
        critical=critical,
    )


def tcp_check(
    host: str, port: int, *, name: str | None = None, timeout: float = 2.0, critical: bool = True
) -> Check:
    """Open a TCP connection to ``host:port``: passes when it is accepted."""

    def probe() -> None:
        socket.create_connection((host, port), timeout=timeout).close()

    return Check(
        name=name or f"{host}:{port}",
        probe=probe,
        component_type="component",
        timeout=timeout,
        critical=critical,
    )


def redis_check(
    url: str = "redis://127.0.0.1:6379/0",
    *,
    name: str = "redis",
    timeout: float = 2.0,
    critical: bool = True,
) -> Check:
    """Send Redis a ``PING`` (after ``AUTH`` when the URL has a password): passes on ``PONG``."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ValueError(f"Redis URL for health check {name!r}: expected redis(s)://host[:port]")
    host, port, tls = parts.hostname, parts.port or 6379, parts.scheme == "rediss"
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None

    def probe() -> None:
        with _connect(host, port, timeout, tls) as sock:
            if password is not None:
                args = ["AUTH", user, password] if user else ["AUTH", password]
                reply = _redis_call(sock, args)
                if not reply.startswith(b"+OK"):
                    raise RuntimeError("Redis refused AUTH")
            reply = _redis_call(sock, ["PING"])
            if not reply.startswith(b"+PONG"):
                raise RuntimeError(f"Redis answered PING with {_printable(reply)}")

    return Check(
        name=name, probe=probe, component_type="datastore", timeout=timeout, critical=critical
    )


def celery_broker_check(
    url: str, *, name: str = "celery-broker", timeout: float = 2.0, critical: bool = True
) -> Check:
    """The Celery broker at ``url``: Redis gets a ``PING``, AMQP a protocol handshake."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[0]
    if scheme in ("redis", "rediss"):
        return redis_check(url, name=name, timeout=timeout, critical=critical)
    if not parts.hostname:
        raise ValueError(f"broker URL for health check {name!r}: no host")
    host = parts.hostname
    if scheme in ("amqp", "amqps", "pyamqp"):
        port = parts.port or (5671 if scheme == "amqps" else 5672)
        tls = scheme == "amqps"

        def probe() -> None:
            with _connect(host, port, timeout, tls) as sock:
                sock.sendall(b"AMQP\x00\x00\x09\x01")
                # A broker speaking AMQP 0-9-1 answers with a method frame (type 1):
                # Connection.Start; anything else is not a usable broker.
                first = sock.recv(1)
                if first != b"\x01":
                    raise RuntimeError("the broker did not start an AMQP 0-9-1 connection")

        return Check(
            name=name, probe=probe, component_type="component", timeout=timeout, critical=critical
        )
    if parts.port is None:
        raise ValueError(f"broker URL for health check {name!r}: no port for {scheme!r}")
    return tcp_check(host, parts.port, name=name, timeout=timeout, critical=critical)


def disk_check(
    path: str = "/",
    *,
    name: str = "disk",
    min_free_ratio: float = 0.05,
    critical: bool = True,
) -> Check:
    """Free space on the file system holding ``path``: fails under ``min_free_ratio``."""
    if not 0.0 <= min_free_ratio <= 1.0:
        raise ValueError(f"min_free_ratio={min_free_ratio!r}: expected 0..1")

    def probe() -> Observation:
        usage = shutil.disk_usage(path)
        free = usage.free / usage.total if usage.total else 0.0
        percent = round(free * 100.0, 1)
        if free < min_free_ratio:
            return Observation(percent, "fail", f"{percent} % free, under {min_free_ratio:.0%}")
        return Observation(percent)

    return Check(
        name=name,
        probe=probe,
        measurement="freeSpace",
        component_type="system",
        unit="%",
        critical=critical,
        timeout=2.0,
    )


def _connect(host: str, port: int, timeout: float, tls: bool) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=timeout)
    if not tls:
        return sock
    return ssl.create_default_context().wrap_socket(sock, server_hostname=host)


def _redis_call(sock: socket.socket, args: Sequence[str | None]) -> bytes:
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = (arg or "").encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    sock.sendall(b"".join(parts))
    reply = b""
    while not reply.endswith(b"\r\n"):
        chunk = sock.recv(512)
        if not chunk:
            raise RuntimeError("Redis closed the connection")
        reply += chunk
        if len(reply) > 4096:
            break
    return reply


def _printable(reply: bytes) -> str:
    return reply[:60].decode("ascii", "replace").strip()
