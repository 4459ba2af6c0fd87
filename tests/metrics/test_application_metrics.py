"""/metrics answers the application's own prometheus_client metrics beside msatrace's: the
default registry in one process, prometheus_client's multi-process files with a metrics
directory; a family named like one of msatrace's is left out, so the scrape stays valid."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import msatrace
from msatrace._core import runtime
from tests.conftest import need

need("prometheus_client")

from prometheus_client import REGISTRY, Counter, Histogram  # noqa: E402
from prometheus_client.openmetrics.parser import text_string_to_metric_families  # noqa: E402


@pytest.fixture
def orders() -> Iterator[Counter]:
    counter = Counter("orders", "Orders placed.")
    yield counter
    REGISTRY.unregister(counter)


def _scrape(accept: str | None = None) -> str:
    rt = runtime.current()
    assert rt is not None
    assert rt.metrics is not None
    return rt.metrics.respond(accept)[2].decode()


def test_the_default_registry_is_answered_beside_msatraces_metrics(
    env: pytest.MonkeyPatch, orders: Counter
) -> None:
    msatrace.init(service_name="shop", patch="none", metrics_exporter="prometheus")
    orders.inc(3)

    text = _scrape()

    assert "orders_total 3.0" in text.splitlines()
    assert "target_info{" in text  # msatrace's own
    if sys.platform == "linux":  # prometheus_client's process collector reads /proc
        assert "process_cpu_seconds_total " in text


def test_a_family_named_like_msatraces_is_left_out_and_the_scrape_stays_valid(
    env: pytest.MonkeyPatch,
) -> None:
    clash = Histogram("http_server_request_duration_seconds", "Another instrumentator's.")
    try:
        msatrace.init(service_name="shop", patch="none", metrics_exporter="prometheus")
        rt = runtime.current()
        assert rt is not None
        assert rt.metrics is not None
        rt.metrics.recorder.record_server(
            method="GET", route="/a", status=200, scheme="http", error_type=None, duration_s=0.01
        )
        clash.observe(5.0)

        om = _scrape("application/openmetrics-text; version=1.0.0")
        families = [f.name for f in text_string_to_metric_families(om)]  # strict: no duplicates
    finally:
        REGISTRY.unregister(clash)

    assert families.count("http_server_request_duration_seconds") == 1
    assert 'le="5.0"} 1' not in om  # the other histogram's observation is not there


def test_with_a_metrics_directory_prometheus_clients_multiprocess_files_are_answered(
    tmp_path: Path,
) -> None:
    """PROMETHEUS_MULTIPROC_DIR: two processes' counters summed, as prometheus_client does."""
    code = textwrap.dedent(
        """
        import sys
        from prometheus_client import Counter
        Counter("orders", "Orders placed.").inc(int(sys.argv[1]))
        if sys.argv[1] == "5":
            import msatrace
            from msatrace._core import runtime
            msatrace.init(service_name="shop", patch="none", metrics_exporter="prometheus")
            print(runtime.current().metrics.respond(None)[2].decode())
            msatrace.shutdown()
        """
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MSATRACE_"))}
    env = {**clean, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for n in ("2", "5"):
        done = subprocess.run(
            [sys.executable, "-c", code, n], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr

    assert "orders_total 7.0" in done.stdout.splitlines()
    assert "target_info{" in done.stdout
