"""A private redis-server for a test: on a free 127.0.0.1 port, without persistence.

``running()`` gives its URL for the length of a ``with`` block (a test needing it fails under
``CI=true`` when Debian's redis-server is missing, as ``require`` says); ``start`` and ``stop``
are for tests that stop it and start it again on the same port.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

from tests.conftest import require
from tests.integration.servers import free_port

REDIS = shutil.which("redis-server")


def start(port: int, *extra: str) -> subprocess.Popen[bytes]:
    """redis-server on ``port`` (``extra``: more of its arguments), once it accepts connections."""
    assert REDIS is not None
    argv = [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", *extra]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return proc
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"redis-server did not listen on {port} within 30 s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)
    if proc.poll() is None:
        proc.kill()
        proc.wait(5)


@contextlib.contextmanager
def running(*extra: str) -> Iterator[str]:
    """The URL (``redis://127.0.0.1:<port>/0``) of a redis-server (``extra``: more of its
    arguments) stopped at the end."""
    require("redis-server", REDIS is not None)
    port = free_port()
    proc = start(port, *extra)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(proc)
