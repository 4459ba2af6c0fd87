"""A real Prometheus (Debian's, exemplar storage on) scrapes the separate-port server of workers."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from msatrace._core.metrics import Metrics
from tests.conftest import require
from tests.metrics.test_multiproc import _run, _start, _stop


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _api(base: str, path: str, **params: str) -> Any:
    url = f"{base}{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())["data"]


def _until(what: Callable[[], Any], ok: Callable[[Any], bool], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        try:
            value = what()
            if ok(value):
                return value
        except OSError:
            pass
        time.sleep(0.5)
    return value


def test_prometheus_stores_the_worker_totals_and_an_exemplar() -> None:
    """Through Prometheus's API: requests of live and recycled workers summed, 5xx counted, and
    an exemplar naming a worker's trace ID."""
    binary = shutil.which("prometheus")
    require("prometheus", binary is not None)
    assert binary is not None
    with tempfile.TemporaryDirectory() as d, tempfile.TemporaryDirectory() as store:
        worker = _start(d, 10)
        _run(d, 15, "close")
        metrics = Metrics(limit=2000, directory=d, address="127.0.0.1", port=0)
        assert metrics.server is not None
        config = f"{store}/prometheus.yml"
        with open(config, "w") as f:
            f.write(
                "global: {scrape_interval: 1s}\n"
                "scrape_configs:\n"
                "  - job_name: app\n"
                f"    static_configs: [{{targets: ['127.0.0.1:{metrics.server.port}']}}]\n"
            )
        web = f"127.0.0.1:{_free_port()}"
        prom = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={store}/data",
                f"--web.listen-address={web}",
                "--enable-feature=exemplar-storage",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://{web}/api/v1"
            total = _until(
                lambda: _api(
                    base, "/query", query="sum(http_server_request_duration_seconds_count)"
                ),
                lambda r: bool(r["result"]) and r["result"][0]["value"][1] == "25",
            )
            errors = _api(
                base,
                "/query",
                query='sum(http_server_request_duration_seconds_count{http_response_status_code="500"})',
            )
            now = time.time()
            exemplars = _until(
                lambda: _api(
                    base,
                    "/query_exemplars",
                    query="http_server_request_duration_seconds_bucket",
                    start=str(now - 300),
                    end=str(now + 60),
                ),
                bool,
            )
        finally:
            prom.terminate()
            prom.wait(timeout=30)
            metrics.close()
            _stop(worker)

    assert total["result"][0]["value"][1] == "25"
    assert errors["result"][0]["value"][1] == "5"  # every fifth request of each worker: 2 + 3
    trace_ids = {e["labels"]["trace_id"] for s in exemplars for e in s["exemplars"]}
    assert trace_ids <= {f"{10:032x}", f"{15:032x}"}
    assert trace_ids
