"""Shutdown and the exit flush end within their bound whatever the collector does.

Each case runs a fresh interpreter that ends 3,000 spans (several export batches) and then exits,
through ``atexit`` or an explicit ``msatrace.shutdown(timeout=5)``; the time from its last span
to its exit must stay within the 5-s bound plus a wide margin for a loaded machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.integration.faulty_collectors import KINDS, faulty_collector

BOUND = 5.0
MARGIN = 10.0  # process start-up and teardown on a loaded 2-core machine; not a speed target

PROGRAM = textwrap.dedent(
    """
    import sys, time
    import msatrace
    from opentelemetry import trace
    msatrace.init(service_name="bounded", traces_exporter="otlp", otlp_endpoint=sys.argv[1])
    tracer = trace.get_tracer("t")
    for i in range(3000):
        tracer.start_span("s").end()
    # The exporter's threads write to stdout too: the timestamp goes to its own file.
    with open(sys.argv[3], "w") as marker:
        marker.write(repr(time.time()))
    if sys.argv[2] == "shutdown":
        msatrace.shutdown(timeout=5)
    """
)


def _run(url: str, how: str, tmp: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MSATRACE_"))}
    env.update({"MSATRACE_LOG_FORMAT": "json", "OTEL_BSP_SCHEDULE_DELAY": "60000"})
    marker = tmp / "spans-ended"
    proc = subprocess.run(
        [sys.executable, "-c", PROGRAM, url, how, str(marker)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert marker.exists(), proc.stdout[-2000:] + proc.stderr[-2000:]
    ended = float(marker.read_text())
    return time.time() - ended, proc


@pytest.mark.parametrize("how", ["atexit", "shutdown"])
@pytest.mark.parametrize("kind", KINDS)
def test_process_exits_within_the_shutdown_bound(kind: str, how: str, tmp_path: Path) -> None:
    """With a collector that refuses, fails, hangs or is slow, exit comes within the bound."""
    with faulty_collector(kind) as url:
        elapsed, proc = _run(url, how, tmp_path)

    assert proc.returncode == 0, proc.stderr
    assert elapsed < BOUND + MARGIN, (elapsed, proc.stdout[-2000:], proc.stderr[-2000:])
    output = proc.stdout + proc.stderr
    assert output.count("not exported at shutdown") == 1, output[-3000:]
