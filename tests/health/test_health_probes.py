"""The built-in probes against real components: redis-server, an HTTP server, a TCP port, disk."""

from __future__ import annotations

import contextlib
import http.server
import socket
import threading
from collections.abc import Iterator

import pytest
from tests.conftest import require
from tests.integration.servers import free_port
from tests.redis_server import REDIS
from tests.redis_server import start as _start_redis
from tests.redis_server import stop as _stop

from msatrace._core.health.checks import Check
from msatrace._core.health.probes import (
    celery_broker_check,
    disk_check,
    http_check,
    redis_check,
    tcp_check,
)
from msatrace._core.health.registry import Registry


def _status(check: Check) -> tuple[str, str | None]:
    reg = Registry(ttl=0.0)
    try:
        reg.add(check)
        result = reg.results()[0]
        return result.status, result.output
    finally:
        reg.clear()


def test_redis_check_follows_a_real_redis_server_down_and_back() -> None:
    """PING passes against redis-server, fails once it is stopped, passes when it is back."""
    require("redis-server", REDIS is not None)
    port = free_port()
    check = redis_check(f"redis://127.0.0.1:{port}/0", timeout=1.0)
    proc = _start_redis(port)
    try:
        assert _status(check) == ("pass", None)
    finally:
        _stop(proc)
    status, output = _status(check)
    assert status == "fail"
    assert output is not None
    assert "ConnectionRefusedError" in output
    proc = _start_redis(port)
    try:
        assert _status(check) == ("pass", None)
    finally:
        _stop(proc)


def test_redis_check_authenticates_and_never_shows_the_password() -> None:
    """A password in the URL is sent with AUTH; a wrong one fails without echoing it."""
    require("redis-server", REDIS is not None)
    port = free_port()
    proc = _start_redis(port, "--requirepass", "s3cret-pw")
    try:
        good = redis_check(f"redis://:s3cret-pw@127.0.0.1:{port}/0")
        assert _status(good) == ("pass", None)
        bad = redis_check(f"redis://:wrong-pw@127.0.0.1:{port}/0")
        status, output = _status(bad)
        assert status == "fail"
        assert output == "RuntimeError: Redis refused AUTH"
        unauthenticated = redis_check(f"redis://127.0.0.1:{port}/0")
        status, output = _status(unauthenticated)
        assert status == "fail"
        assert output is not None
        assert "NOAUTH" in output
        assert good.name == "redis"
        assert "s3cret" not in repr(good.name)
    finally:
        _stop(proc)


def test_celery_broker_check_uses_redis_ping_for_a_redis_broker() -> None:
    """A redis:// broker URL gets the Redis check."""
    require("redis-server", REDIS is not None)
    port = free_port()
    proc = _start_redis(port)
    try:
        check = celery_broker_check(f"redis://127.0.0.1:{port}/1")
        assert check.component_type == "datastore"
        assert _status(check) == ("pass", None)
    finally:
        _stop(proc)


@contextlib.contextmanager
def _amqp_stand_in(reply: bytes) -> Iterator[int]:
    """A socket that reads the AMQP protocol header and answers with ``reply``."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = server.accept()
            with conn:
                assert conn.recv(8) == b"AMQP\x00\x00\x09\x01"
                conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        server.close()
        thread.join(5)


def test_celery_broker_check_speaks_the_amqp_handshake() -> None:
    """An AMQP broker passes when it answers the protocol header with a method frame."""
    # Connection.Start begins with frame type 1, channel 0 (RabbitMQ's first bytes).
    with _amqp_stand_in(b"\x01\x00\x00\x00\x00\x01\xf4") as port:
        assert _status(celery_broker_check(f"amqp://guest:guest@127.0.0.1:{port}//"))[0] == "pass"
    with _amqp_stand_in(b"HTTP/1.1 400 Bad Request\r\n") as port:
        status, output = _status(celery_broker_check(f"amqp://127.0.0.1:{port}//"))
    assert status == "fail"
    assert output == "RuntimeError: the broker did not start an AMQP 0-9-1 connection"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code = 200 if self.path == "/ok" else 503
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_http_check_passes_on_2xx_and_fails_on_5xx_and_refusal() -> None:
    """GET: 200 passes, 503 fails with the status, a closed port fails with the refusal."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert _status(http_check(f"http://127.0.0.1:{port}/ok")) == ("pass", None)
        assert _status(http_check(f"http://127.0.0.1:{port}/bad")) == (
            "fail",
            "RuntimeError: HTTP 503",
        )
    finally:
        server.shutdown()
        server.server_close()
    assert _status(http_check(f"http://127.0.0.1:{port}/ok"))[0] == "fail"


def test_http_check_refuses_a_url_it_cannot_use() -> None:
    """A URL without http(s) and a host is refused when the check is made."""
    with pytest.raises(ValueError, match="expected http"):
        http_check("ftp://example.com/")


def test_tcp_check_follows_a_listening_socket() -> None:
    """A listening port passes; once closed, the check fails."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    check = tcp_check("127.0.0.1", port, name="db")
    try:
        assert _status(check) == ("pass", None)
    finally:
        server.close()
    assert _status(check)[0] == "fail"


def test_disk_check_reports_free_space_and_fails_under_the_floor() -> None:
    """The free share of the disk is observed in %; a floor above it fails."""
    reg = Registry(ttl=0.0)
    try:
        reg.add(disk_check("/", min_free_ratio=0.0))
        result = reg.results()[0]
        assert result.status == "pass"
        assert isinstance(result.value, float)
        assert 0.0 <= result.value <= 100.0
        assert result.check.key == "disk:freeSpace"
    finally:
        reg.clear()
    status, output = _status(disk_check("/", min_free_ratio=1.0))
    assert status == "fail"
    assert output is not None
    assert "% free" in output
