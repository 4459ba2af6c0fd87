"""Log rendering on real servers: exceptions and odd values in console and JSON format, a closed
stdout, and ``shutdown()`` with a request in flight (issue 13, items 1, 11, 12 and 13).

The four servers of the inbound suite (FastAPI/uvicorn, Flask/gunicorn, Django under gunicorn
and under uvicorn) serve ``tests/apps/logging_app.py``. Whatever
the application logs, the request answers as it would without msatrace, no
``--- Logging error ---`` dump appears, and every line keeps its trace ID.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.conftest import require
from tests.integration import servers as servers_module
from tests.integration.inbound import new_trace_id
from tests.integration.servers import Server, ServerPool

LOGGING_ERROR = "--- Logging error ---"
OUTPUT_REPORT = "msatrace: cannot write log lines"
# The four servers of the inbound suite: what each needs, its server, the app it serves.
APPS = {
    "fastapi-uvicorn": (("fastapi", "uvicorn"), "uvicorn", "logging_app:asgi"),
    "flask-gunicorn": (("flask", "gunicorn"), "gunicorn", "logging_app:wsgi"),
    "django-gunicorn": (("django", "gunicorn"), "gunicorn", "logging_app:django_wsgi"),
    "django-uvicorn": (("django", "uvicorn"), "uvicorn", "logging_app:django_asgi"),
}


def _start(pool: ServerPool, app: str, fmt: str, name: str) -> Server:
    modules, server, target = APPS[app]
    for module in modules:
        require(module, importlib.util.find_spec(module) is not None)
    env = {"MSATRACE_LOG_FORMAT": fmt}
    if server == "uvicorn":
        return pool.uvicorn(target, name=name, env=env)
    return pool.gunicorn(target, name=name, env=env, threads=4)


@pytest.fixture(
    scope="module",
    params=[(app, fmt) for app in APPS for fmt in ("console", "json")],
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def logging_srv(request: pytest.FixtureRequest, servers: ServerPool) -> Iterator[Server]:
    """The app of ``logging_app`` under its server, in console or JSON format."""
    app, fmt = request.param
    server = _start(servers, app, fmt, f"logs-{app}-{fmt}")
    try:
        yield server
    finally:
        server.stop()


def _texts(srv: Server, since: int) -> list[str]:
    return [r.text for r in srv.records(since)]


def _wait_text(srv: Server, since: int, found: Callable[[list[str]], bool]) -> list[str]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        texts = _texts(srv, since)
        if found(texts):
            return texts
        time.sleep(0.05)
    raise AssertionError(f"never found in:\n{srv.output(since)}")


def _get(srv: Server, path: str, trace_id: str) -> tuple[int, list[str]]:
    """GET ``path`` with ``trace_id``; the response status and the output until its access line."""
    mark = srv.mark()
    status = httpx.get(srv.url + path, headers={"X-Trace-ID": trace_id}, timeout=30).status_code
    texts = _wait_text(
        srv, mark, lambda ts: any("msatrace.access" in t and trace_id in t for t in ts)
    )
    return status, texts


def _events(texts: list[str], trace_id: str) -> dict[str, str]:
    """Each line of the trace by its event (JSON or console), with its continuation lines."""
    out: dict[str, str] = {}
    current = ""
    for text in texts:
        if text.startswith("    ") and current:
            out[current] += "\n" + text
            continue
        current = ""
        # The console shows the trace ID's first 8 hex digits (the access line shows it whole).
        if trace_id not in text and f"trace_id={trace_id[:8]} " not in text:
            continue
        if text.startswith("{"):
            current = json.loads(text)["event"]
        else:
            current = text.split("] ", 1)[1].split("  ", 1)[0].strip()
        out[current] = text
    return out


def test_logged_exceptions_are_written_and_the_request_answers(logging_srv: Server) -> None:
    """log.exception and the stdlib's exception() inside except: 200, each line with its stack."""
    trace_id = new_trace_id()

    status, texts = _get(logging_srv, "/caught", trace_id)

    assert status == 200
    assert not [t for t in texts if LOGGING_ERROR in t], "\n".join(texts)
    events = _events(texts, trace_id)
    for event, chain in (
        ("declined (raise from)", "The above exception was the direct cause"),
        ("declined via the stdlib bridge", "The above exception was the direct cause"),
        ("division (implicit context)", "During handling of the above exception"),
        ("stdlib error with exc_info", "During handling of the above exception"),
    ):
        line = events[event]
        stack = json.loads(line)["exception"]["stack"] if line.startswith("{") else line
        assert chain in stack, line
        assert "KeyError" in stack or "Refused" in stack, line


def test_odd_values_are_written_and_the_request_answers(logging_srv: Server) -> None:
    """Unprintable, deep, cyclic, binary values and odd keys: 200, one line, placeholders."""
    trace_id = new_trace_id()

    status, texts = _get(logging_srv, "/odd", trace_id)

    assert status == 200
    assert not [t for t in texts if LOGGING_ERROR in t], "\n".join(texts)
    line = _events(texts, trace_id)["odd values"]
    assert "\n" not in line
    assert "<unrepresentable Unprintable>" in line
    assert "<too deep>" in line
    assert "<cycle>" in line
    if line.startswith("{"):
        event = json.loads(line)
        assert event["field\n\x85\u2028\x7f"] == "value\x9b\u2029"
        assert "\x85" not in line
        assert "\u2028" not in line
    else:
        assert "field\\n\\x85\\u2028\\x7f=value\\x9b\\u2029" in line
    assert "stdlib %s %s % ('one',)" in _events(texts, trace_id)


def test_unhandled_exception_is_logged_once_without_a_logging_error(logging_srv: Server) -> None:
    """An unhandled exception: a 500, and its error line with the trace and the stack."""
    trace_id = new_trace_id()

    status, texts = _get(logging_srv, "/boom", trace_id)

    assert status == 500
    assert not [t for t in texts if LOGGING_ERROR in t], "\n".join(texts)
    errors = [t for t in _events(texts, trace_id).values() if "boom from the app" in t]
    assert len(errors) == 1, "\n".join(texts)


@pytest.mark.parametrize("app", list(APPS))
def test_lines_after_shutdown_keep_format_and_trace(servers: ServerPool, app: str) -> None:
    """shutdown() with a request in flight: its later line is JSON with the trace ID, and its
    access line is written."""
    srv = _start(servers, app, "json", f"logs-{app}-shutdown")
    trace_id = new_trace_id()
    try:
        status, texts = _get(srv, "/shutdown", trace_id)
    finally:
        srv.stop()

    assert status == 200
    lines = [json.loads(t) for t in texts if t.startswith("{")]
    after = [ln for ln in lines if ln.get("event") == "after shutdown"]
    assert [(ln["trace_id"], ln["service"]) for ln in after] == [(trace_id, srv.name)]
    access = [ln for ln in lines if ln.get("logger") == "msatrace.access"]
    assert [(ln["trace_id"], ln["status"]) for ln in access] == [(trace_id, 200)]


class _StdoutClosed(Server):
    """A server whose stdout is a pipe whose reader has gone (a log shipper that died)."""

    def start(self) -> Server:
        self._proc = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        assert self._proc.stdout is not None
        self._proc.stdout.close()  # every write to stdout now fails with EPIPE
        servers_module._live.add(self)
        reader = threading.Thread(
            target=self._drain, args=("stderr", self._proc.stderr), daemon=True
        )
        reader.start()
        self._readers.append(reader)
        return self


def _argv(app: str) -> list[str]:
    _, server, target = APPS[app]
    if server == "uvicorn":
        return [
            sys.executable, "-m", "uvicorn", target,
            "--host", "127.0.0.1", "--port", "{port}",
            "--loop", "asyncio", "--http", "h11", "--no-use-colors",
        ]  # fmt: skip
    argv = [
        sys.executable, "-m", "gunicorn", target,
        "--bind", "127.0.0.1:{port}", "--threads", "4", "--access-logfile", "-",
    ]  # fmt: skip
    if servers_module._gunicorn_has_control_socket():
        argv.append("--no-control-socket")
    return argv


@pytest.mark.parametrize("fmt", ["json", "console"])
@pytest.mark.parametrize("app", list(APPS))
def test_closed_stdout_never_fails_a_request(servers: ServerPool, app: str, fmt: str) -> None:
    """With stdout closed every request answers as usual; the failure is reported once."""
    for module in APPS[app][0]:
        require(module, importlib.util.find_spec(module) is not None)
    name = f"logs-{app}-closed"
    srv = _StdoutClosed(_argv(app), name=name, env=servers.env(name, {"MSATRACE_LOG_FORMAT": fmt}))

    srv.start()
    try:
        srv.wait_ready()
        with httpx.Client(base_url=srv.url, timeout=30) as client:
            statuses = [client.get(path).status_code for path in ("/caught", "/odd") * 10]
    finally:
        srv.stop()

    assert statuses == [200] * 20
    stderr = [r.text for r in srv.records() if r.stream == "stderr"]
    assert len([t for t in stderr if OUTPUT_REPORT in t]) == 1, "\n".join(stderr)
    assert not [t for t in stderr if LOGGING_ERROR in t], "\n".join(stderr)
