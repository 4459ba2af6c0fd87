"""A real Prometheus (and Alertmanager) on 127.0.0.1, scraping a stand-in exposition.

``Exposition`` serves, at ``/metrics``, a Prometheus text exposition with the metric names of
``msatrace._alerting.names`` (as OpenTelemetry's exporter translates them); its counters grow at
rates the test sets and may change mid-run (``error_share``, ``down``). ``prometheus()`` starts
Debian's ``/usr/bin/prometheus`` with a temporary configuration and the generated rules;
``alertmanager()`` starts ``prometheus-alertmanager`` with a generated configuration;
``install_secrets()`` runs the generated secrets script. Imports the standard library, the tests'
server helper and msatrace's generator names.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from msatrace._alerting import names as n
from tests.conftest import require
from tests.integration.servers import Server, free_port, start

ROUTE = "/orders/{id}"
LE = (*(b if "." in b else b + ".0" for b in n.HTTP_BUCKETS), "+Inf")
SLOW_BUCKET = LE.index("7.5")  # slow requests take between 5 and 7.5 s: above every threshold


def binary(name: str) -> str:
    """The path of a Debian binary; missing, the test skips (fails under CI=true)."""
    path = shutil.which(name)
    require(name, path is not None, "Debian's prometheus / prometheus-alertmanager packages")
    assert path is not None
    return path


class Exposition:
    """A /metrics endpoint whose request, task and consumer counters grow at set rates."""

    def __init__(self, per_second: float = 50.0, error_share: float = 0.5) -> None:
        self.per_second, self.error_share = per_second, error_share
        self.health = 0  # the critical check fails
        self._counts: dict[str, float] = {}
        self._last = time.monotonic()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Exposition:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving: the target is down from Prometheus' point of view."""
        self._server.shutdown()
        self._server.server_close()

    def set_error_share(self, share: float) -> None:
        with self._lock:
            self._advance()
            self.error_share = share

    def _advance(self) -> None:
        now = time.monotonic()
        dt, self._last = now - self._last, now
        ok, bad = self.per_second * (1 - self.error_share), self.per_second * self.error_share
        for key, rate in (("ok", ok), ("bad", bad)):
            self._counts[key] = self._counts.get(key, 0.0) + rate * dt

    def text(self) -> str:
        """The exposition now."""
        with self._lock:
            self._advance()
            ok, bad = self._counts.get("ok", 0.0), self._counts.get("bad", 0.0)
        out: list[str] = []
        common = 'otel_scope_name="msatrace"'
        server = n.HTTP_SERVER_DURATION
        out.append(f"# TYPE {server} histogram")
        for status, count in (("200", ok), ("500", bad)):
            labels = f'{common},{n.METHOD}="GET",{n.ROUTE}="{ROUTE}",{n.STATUS}="{status}"'
            if status == "500":
                labels += f',{n.ERROR_TYPE}="500"'
            out += _histogram(server, labels, count, SLOW_BUCKET)
        out.append(f"# TYPE {n.HTTP_SERVER_ACTIVE} gauge")
        out.append(f'{n.HTTP_SERVER_ACTIVE}{{{common},{n.METHOD}="GET"}} 3')
        out.append(f"# TYPE {n.HTTP_CLIENT_DURATION} histogram")
        for status, count in (("200", ok), ("503", bad)):
            labels = (
                f'{common},{n.METHOD}="GET",{n.SERVER_ADDRESS}="payments",{n.STATUS}="{status}"'
            )
            if status == "503":
                labels += f',{n.ERROR_TYPE}="503"'
            out += _histogram(n.HTTP_CLIENT_DURATION, labels, count, 3)
        out.append(f"# TYPE {n.TASK_DURATION} histogram")
        for outcome, count in ((n.OUTCOME_SUCCESS, ok), (n.OUTCOME_FAILURE, bad)):
            labels = f'{common},{n.TASK_NAME}="send_email",{n.OUTCOME}="{outcome}"'
            out += _histogram(n.TASK_DURATION, labels, count, 5)
        out.append(f"# TYPE {n.MESSAGING_PROCESS_DURATION} histogram")
        for error, count in (("", ok), ("TimeoutError", bad)):
            labels = f'{common},{n.MESSAGING_OPERATION}="process"'
            if error:
                labels += f',{n.ERROR_TYPE}="{error}"'
            out += _histogram(n.MESSAGING_PROCESS_DURATION, labels, count, 5)
        out.append(f"# TYPE {n.HEALTH_STATUS} gauge")
        out.append(f'{n.HEALTH_STATUS}{{{n.CHECK}="database",{n.CRITICAL}="true"}} {self.health}')
        out.append(f'{n.HEALTH_STATUS}{{{n.CHECK}="cache",{n.CRITICAL}="false"}} 1')
        return "\n".join(out) + "\n"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        exposition = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = exposition.text().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def _histogram(metric: str, labels: str, count: float, bucket: int) -> list[str]:
    """Bucket, sum and count lines: every observation in bucket index ``bucket`` of LE."""
    c = int(count)
    lines = [
        f'{metric}_bucket{{{labels},le="{le}"}} {c if i >= bucket else 0}'
        for i, le in enumerate(LE)
    ]
    lines.append(f"{metric}_sum{{{labels}}} {c * 6}")
    lines.append(f"{metric}_count{{{labels}}} {c}")
    return lines


@contextmanager
def prometheus(
    tmp: Path, rule_file: Path, jobs: dict[str, int], alertmanager_port: int | None = None
) -> Iterator[Server]:
    """Prometheus scraping 127.0.0.1:<port> for each job every second, with ``rule_file``."""
    exe = binary("prometheus")
    scrape = "\n".join(
        f"  - job_name: {job}\n    static_configs:\n      - targets: ['127.0.0.1:{port}']"
        for job, port in jobs.items()
    )
    alerting = ""
    if alertmanager_port is not None:
        alerting = (
            "alerting:\n  alertmanagers:\n    - static_configs:\n"
            f"        - targets: ['127.0.0.1:{alertmanager_port}']\n"
        )
    config = tmp / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
        f"rule_files: ['{rule_file}']\n{alerting}scrape_configs:\n{scrape}\n"
    )
    argv = [
        exe,
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp / 'tsdb'}",
        "--web.listen-address=127.0.0.1:{port}",
    ]
    srv = start(argv, name="prometheus", cwd=tmp, health_path="/-/ready")
    try:
        _ready(srv)
        yield srv
    finally:
        srv.stop()


@contextmanager
def alertmanager(tmp: Path, config: Path) -> Iterator[Server]:
    """prometheus-alertmanager with ``config``, gossip off, on a free port."""
    exe = binary("prometheus-alertmanager")
    argv = [
        exe,
        f"--config.file={config}",
        f"--storage.path={tmp / 'am'}",
        "--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    srv = start(argv, name="alertmanager", cwd=tmp, health_path="/-/ready")
    try:
        _ready(srv)
        yield srv
    finally:
        srv.stop()


def _ready(srv: Server) -> None:
    """Wait for 200 on /-/ready (start() returns on any answer; 503 while starting)."""

    def ok() -> bool:
        try:
            with urllib.request.urlopen(srv.url + "/-/ready", timeout=5) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    if not wait(ok, timeout=60):
        raise AssertionError(f"{srv.name} never ready:\n{srv.output()}")


def query(srv: Server, expr: str) -> list[dict[str, Any]]:
    """The instant vector ``expr`` gives now (an error if the query fails)."""
    url = f"{srv.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def get(srv: Server, path: str) -> Any:
    with urllib.request.urlopen(srv.url + path, timeout=10) as response:
        return json.load(response)


def wait(predicate: Any, timeout: float = 90.0, step: float = 0.5) -> Any:
    """Poll ``predicate()`` until it returns something truthy; that value, or None at timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


__all__ = ["Exposition", "alertmanager", "free_port", "prometheus", "query", "wait"]


def install_secrets(script: Path, secrets: dict[str, str]) -> None:
    """Run the generated secrets script (``render.SECRETS``) with ``secrets`` in its environment."""
    installed = subprocess.run(
        ["sh", str(script)], env={**os.environ, **secrets}, capture_output=True
    )
    assert installed.returncode == 0, installed.stderr


def error_ratio(body: dict[str, Any]) -> bool:
    """A notification of the error-ratio alert."""
    return "MsatraceHighErrorRatio" in json.dumps(body)
