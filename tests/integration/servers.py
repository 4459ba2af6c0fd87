"""Real servers on 127.0.0.1 for integration tests: start them, read their stdout, stop them.

    from tests.integration.servers import start_uvicorn

    with start_uvicorn("fastapi_app:app", env={"OTEL_SERVICE_NAME": "api"}) as srv:  # tests/apps
        httpx.get(srv.url + "/items/1")
        srv.wait_for(lambda lines: any(ln.get("logger") == "msatrace.access" for ln in lines))

Each server is a subprocess (``sys.executable -m uvicorn|gunicorn ...``) on a free port, started
in its own process group with ``PYTHONUNBUFFERED=1``. Two daemon threads drain its stdout and
stderr line by line, so pipes never fill up; every line is kept as a :class:`Line` (JSON objects
parsed, other lines kept as text). ``stop()`` terminates the server, waits, and kills its whole
process group on timeout; it is idempotent and runs from fixture finalizers, so a failing test
never leaves a server behind.

API (all keyword arguments are optional):

- ``start(argv, name=, env=, cwd=, health_path=, ready_timeout=)``: any server; ``"{port}"`` in
  ``argv`` is replaced by the free port chosen; ``env`` is set on top of ``server_env()``.
  Returns a ready :class:`Server` (raises :class:`ServerError` with its output if it never is).
- ``start_uvicorn(app_import, ...)``, ``start_gunicorn(wsgi_import, workers=, threads=,
  preload=, access_log=, ...)``, ``start_django_gunicorn(...)``, ``start_django_uvicorn(...)``.
- ``server_env(otlp_endpoint=, service_name=, env=)``: the environment a server gets: the
  caller's, minus any ``OTEL_*``/``MSATRACE_*``, plus JSON logs, a short batch-export delay,
  ``PYTHONPATH`` with ``tests/apps`` (where the test apps live) and the given overrides.
- ``Server``: ``.url``, ``.port``, ``.pid``, ``.lines(since=)`` (JSON objects on stdout),
  ``.records(since=)`` (every :class:`Line`, both streams), ``.mark()`` (a position for
  ``since=``), ``.wait_for(predicate, since=, timeout=)``, ``.output()`` (text, for failure
  messages), ``.wait_ready()``, ``.stop()``; usable as a context manager.
- ``ServerPool``: starts servers with a shared default environment (e.g. the OTLP receiver's
  endpoint) and stops all of them at ``close()``; the ``servers`` fixture in ``conftest.py``.

Imports: the standard library only (the tests' fixtures add httpx and msatrace.testing).
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

APPS_DIR = Path(__file__).resolve().parent.parent / "apps"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_READY_TIMEOUT = 60.0  # generous: a 2-core CI machine runs 4 Pythons and Django is slow
DEFAULT_STOP_TIMEOUT = 15.0
_START_ATTEMPTS = 3  # free ports are probed then released: retry if another process took it
_live: set[Server] = set()  # started and not yet stopped: killed at exit if a finalizer never ran


@dataclass(frozen=True)
class Line:
    """One line a server wrote: its stream, its text, and the JSON object if it was one."""

    stream: str
    text: str
    data: dict[str, Any] | None


class ServerError(RuntimeError):
    """The server exited or never answered; the message carries the tail of its output."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_env(
    *,
    otlp_endpoint: str | None = None,
    service_name: str | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a test server (see the module docstring); ``env`` wins over defaults.

    Args:
        otlp_endpoint: base OTLP/HTTP URL (``OTLPReceiver.base_endpoint``); ``/v1/traces`` is
            appended by msatrace, as the OTLP exporter specification says.
        service_name: ``OTEL_SERVICE_NAME``.
        env: extra or overriding variables, e.g. ``{"MSATRACE_TRUST_INCOMING": "false"}``.
    """
    out = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MSATRACE_"))}
    out.pop("DJANGO_SETTINGS_MODULE", None)
    for name in ("NO_COLOR", "FORCE_COLOR"):  # the caller's colour choice: tests read plain lines
        out.pop(name, None)
    paths = [str(APPS_DIR), str(REPO_ROOT / "src")]
    if out.get("PYTHONPATH"):
        paths.append(out["PYTHONPATH"])
    out.update(
        {
            "PYTHONPATH": os.pathsep.join(paths),
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "MSATRACE_LOG_FORMAT": "json",
            "MSATRACE_ENVIRONMENT": "production",
            "OTEL_BSP_SCHEDULE_DELAY": "100",  # milliseconds: spans reach the receiver quickly
        }
    )
    if otlp_endpoint:
        out["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp_endpoint
    if service_name:
        out["OTEL_SERVICE_NAME"] = service_name
    if env:
        out.update(env)
    return out


class Server:
    """A server subprocess on 127.0.0.1 whose output is read by background threads."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        name: str = "server",
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        health_path: str = "/health",
        port: int | None = None,
    ) -> None:
        self.name = name
        self.port = port if port is not None else free_port()
        self.argv = [a.replace("{port}", str(self.port)) for a in argv]
        self.env = server_env(env=env)
        self.cwd = str(cwd) if cwd is not None else str(APPS_DIR)
        self.health_path = health_path
        self._lines: list[Line] = []
        self._cond = threading.Condition()
        self._readers: list[threading.Thread] = []
        self._proc: subprocess.Popen[bytes] | None = None

    # --- lifecycle ---

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The main process's pid (gunicorn: the master)."""
        assert self._proc is not None, "server not started"
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        """Exit status once the process has exited, else ``None``."""
        return None if self._proc is None else self._proc.poll()

    def start(self) -> Server:
        """Spawn the process (in a new process group) and start draining its output."""
        self._proc = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        _live.add(self)
        for stream_name, stream in (("stdout", self._proc.stdout), ("stderr", self._proc.stderr)):
            assert stream is not None
            t = threading.Thread(
                target=self._drain,
                args=(stream_name, stream),
                name=f"{self.name}-{stream_name}",
                daemon=True,
            )
            t.start()
            self._readers.append(t)
        return self

    def _drain(self, stream_name: str, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            text = raw.decode("utf-8", "backslashreplace").rstrip("\r\n")
            data: dict[str, Any] | None = None
            if text.startswith("{"):
                with contextlib.suppress(ValueError):
                    parsed = json.loads(text)
                    data = parsed if isinstance(parsed, dict) else None
            with self._cond:
                self._lines.append(Line(stream_name, text, data))
                self._cond.notify_all()
        stream.close()

    def wait_ready(self, timeout: float = DEFAULT_READY_TIMEOUT) -> Server:
        """Poll ``health_path`` until the server answers any HTTP response (or raise)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.returncode is not None:
                raise ServerError(f"{self.name} exited with {self.returncode}:\n{self.output()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                try:
                    conn.request("GET", self.health_path)
                    conn.getresponse().read()
                    return self
                finally:
                    conn.close()
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise ServerError(f"{self.name} not ready after {timeout}s:\n{self.output()}")
            time.sleep(0.1)

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> int | None:
        """Terminate (SIGTERM), wait, then kill the process group; always. Idempotent."""
        proc = self._proc
        if proc is None:
            return None
        try:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout)
        finally:
            # Whatever happened above, nothing of this server survives: workers included.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
            for t in self._readers:
                t.join(5)
            _live.discard(self)
        return proc.returncode

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- output ---

    def mark(self) -> int:
        """A position in the output; pass it as ``since=`` to see only what came after."""
        with self._cond:
            return len(self._lines)

    def records(self, since: int = 0) -> list[Line]:
        """Every line from both streams since ``since``, in arrival order per stream."""
        with self._cond:
            return self._lines[since:]

    def lines(self, since: int = 0) -> list[dict[str, Any]]:
        """The JSON objects the server wrote on stdout since ``since``."""
        return [ln.data for ln in self.records(since) if ln.stream == "stdout" and ln.data]

    def wait_for(
        self,
        predicate: Callable[[list[dict[str, Any]]], bool],
        *,
        since: int = 0,
        timeout: float = 30.0,
    ) -> list[dict[str, Any]]:
        """Wait until ``predicate(self.lines(since))`` holds; return those lines (or raise)."""
        deadline = time.monotonic() + timeout
        seen = -1
        while True:
            with self._cond:  # never evaluate under the lock: the drain threads need it
                if len(self._lines) == seen:
                    self._cond.wait(max(0.0, min(deadline - time.monotonic(), 0.5)))
                seen = len(self._lines)
            lines = self.lines(since)
            if predicate(lines):
                return lines
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)  # let a burst of lines arrive before evaluating again
        raise AssertionError(
            f"{self.name}: output never satisfied the predicate within {timeout}s:\n"
            f"{self.output(since)}"
        )

    def output(self, since: int = 0, tail: int = 60) -> str:
        """The last ``tail`` lines (both streams) as text, for failure messages."""
        recs = self.records(since)[-tail:]
        return "\n".join(f"[{r.stream}] {r.text}" for r in recs)


@atexit.register
def _stop_leftovers() -> None:
    """Last resort (an interrupted session): no server outlives the test process."""
    for srv in list(_live):
        with contextlib.suppress(Exception):
            srv.stop(timeout=2)


def start(
    argv: Sequence[str],
    *,
    name: str = "server",
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    health_path: str = "/health",
    ready_timeout: float = DEFAULT_READY_TIMEOUT,
) -> Server:
    """Start ``argv`` (``"{port}"`` replaced by a free port) and return it once it answers.

    Args:
        env: variables set on top of :func:`server_env`'s defaults (a full ``server_env(...)``
            result works too).
        cwd: working directory; default ``tests/apps``.
        health_path: polled until it answers; it should not be traced or logged.
    """
    last: ServerError | None = None
    for _ in range(_START_ATTEMPTS):
        srv = Server(argv, name=name, env=env, cwd=cwd, health_path=health_path).start()
        try:
            return srv.wait_ready(ready_timeout)
        except ServerError as exc:
            srv.stop()
            last = exc
            if "address already in use" not in srv.output().lower():
                raise
        except BaseException:
            srv.stop()
            raise
    assert last is not None
    raise last


def start_uvicorn(
    app_import: str,
    *,
    name: str | None = None,
    env: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
    health_path: str = "/health",
    ready_timeout: float = DEFAULT_READY_TIMEOUT,
) -> Server:
    """uvicorn serving ``app_import`` (``module:attr``, importable from ``tests/apps``).

    Pure-Python loop and HTTP parser (``asyncio``, ``h11``) so every Python in CI behaves alike;
    uvicorn's own access log stays on (its default), as a user would run it.
    """
    argv = [
        sys.executable, "-m", "uvicorn", app_import,
        "--host", "127.0.0.1", "--port", "{port}",
        "--loop", "asyncio", "--http", "h11", "--no-use-colors",
        "--timeout-graceful-shutdown", "5",
        *extra_args,
    ]  # fmt: skip
    return start(
        argv,
        name=name or f"uvicorn:{app_import}",
        env=env,
        health_path=health_path,
        ready_timeout=ready_timeout,
    )


def start_gunicorn(
    wsgi_import: str,
    *,
    workers: int = 1,
    threads: int = 1,
    preload: bool = False,
    access_log: bool = True,
    name: str | None = None,
    env: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
    health_path: str = "/health",
    ready_timeout: float = DEFAULT_READY_TIMEOUT,
) -> Server:
    """gunicorn serving ``wsgi_import``; ``threads > 1`` selects the gthread worker.

    Args:
        access_log: ``--access-logfile -`` (gunicorn's access log on stdout), as many users run
            it; msatrace must then either carry the trace fields or replace it.
        preload: ``--preload``: the app is imported in the master and workers are forked from it.
    """
    argv = [
        sys.executable, "-m", "gunicorn", wsgi_import,
        "--bind", "127.0.0.1:{port}",
        "--workers", str(workers),
        "--graceful-timeout", "5", "--timeout", "120",
    ]  # fmt: skip
    if _gunicorn_has_control_socket():
        argv.append("--no-control-socket")  # one fixed path per user: parallel servers collide
    if threads > 1:
        # gthread keeps idle connections 2 s by default: on a loaded machine a test client that
        # reuses one after longer races the server's close ("Server disconnected without sending
        # a response"), so the server keeps them as a load balancer's would.
        argv += ["--threads", str(threads), "--keep-alive", "75"]
    if preload:
        argv.append("--preload")
    if access_log:
        argv += ["--access-logfile", "-"]
    argv += list(extra_args)
    return start(
        argv,
        name=name or f"gunicorn:{wsgi_import}",
        env=env,
        health_path=health_path,
        ready_timeout=ready_timeout,
    )


def _gunicorn_has_control_socket() -> bool:
    """gunicorn >= 25 opens a control socket at a fixed path unless told not to."""
    try:
        from gunicorn.config import KNOWN_SETTINGS
    except ImportError:
        return False
    return any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS)


def _django_env(env: Mapping[str, str] | None, settings: str) -> dict[str, str]:
    base = dict(env or {})
    base.setdefault("DJANGO_SETTINGS_MODULE", settings)
    return base


def start_django_gunicorn(
    *,
    settings: str = "djproject.settings",
    wsgi_import: str = "djproject.wsgi:application",
    env: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> Server:
    """The Django test project under gunicorn (WSGI); other arguments as :func:`start_gunicorn`."""
    kwargs.setdefault("name", "gunicorn:django")
    return start_gunicorn(wsgi_import, env=_django_env(env, settings), **kwargs)


def start_django_uvicorn(
    *,
    settings: str = "djproject.settings",
    asgi_import: str = "djproject.asgi:application",
    env: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> Server:
    """The Django test project under uvicorn (ASGI); other arguments as :func:`start_uvicorn`."""
    kwargs.setdefault("name", "uvicorn:django")
    return start_uvicorn(asgi_import, env=_django_env(env, settings), **kwargs)


class ServerPool:
    """Starts servers with shared defaults and stops every one of them at :meth:`close`.

    ``env`` given to a start method is merged over the pool's defaults (``server_env`` with the
    pool's OTLP endpoint); ``name`` also becomes ``OTEL_SERVICE_NAME`` unless ``env`` sets it.
    """

    def __init__(self, *, otlp_endpoint: str | None = None) -> None:
        self.otlp_endpoint = otlp_endpoint
        self.started: list[Server] = []

    def env(self, name: str | None, env: Mapping[str, str] | None) -> dict[str, str]:
        """The full environment for a server of this pool."""
        return server_env(otlp_endpoint=self.otlp_endpoint, service_name=name, env=env)

    def _track(self, factory: Callable[..., Server], *args: Any, **kwargs: Any) -> Server:
        kwargs["env"] = self.env(kwargs.get("name"), kwargs.get("env"))
        srv = factory(*args, **kwargs)
        self.started.append(srv)
        return srv

    def start(self, argv: Sequence[str], **kwargs: Any) -> Server:
        """As :func:`start`, tracked."""
        return self._track(start, argv, **kwargs)

    def uvicorn(self, app_import: str, **kwargs: Any) -> Server:
        """As :func:`start_uvicorn`, tracked."""
        return self._track(start_uvicorn, app_import, **kwargs)

    def gunicorn(self, wsgi_import: str, **kwargs: Any) -> Server:
        """As :func:`start_gunicorn`, tracked."""
        return self._track(start_gunicorn, wsgi_import, **kwargs)

    def django_gunicorn(self, **kwargs: Any) -> Server:
        """As :func:`start_django_gunicorn`, tracked."""
        return self._track(start_django_gunicorn, **kwargs)

    def django_uvicorn(self, **kwargs: Any) -> Server:
        """As :func:`start_django_uvicorn`, tracked."""
        return self._track(start_django_uvicorn, **kwargs)

    def close(self) -> None:
        """Stop every server started here (errors in one never keep the others running)."""
        while self.started:
            with contextlib.suppress(Exception):
                self.started.pop().stop()

    def __enter__(self) -> ServerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
