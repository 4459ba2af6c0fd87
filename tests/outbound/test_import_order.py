"""Every order of init(), the adapter import and the library import patches the library.

Each order runs in a fresh interpreter (import hooks and ``sys.modules`` are process-wide) and
sends a real request to the recording server: it must carry the trace of a CLIENT span.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.outbound.conftest import EchoServer
from tests.outbound.helpers import traceparent_ids

# The patched client runs in a child process, where tests/span_paths.py's fixtures do not reach.
pytestmark = pytest.mark.span_paths("lean")

ORDERS = {
    "init, adapter, library": "msatrace.init(**SETTINGS); import msatrace.{lib}; import {lib}",
    "init, library": "msatrace.init(**SETTINGS); import {lib}",
    "init, adapter through the facade": "msatrace.init(**SETTINGS); msatrace.{lib}; import {lib}",
    "library, init": "import {lib}; msatrace.init(**SETTINGS)",
    "library, init, adapter": "import {lib}; msatrace.init(**SETTINGS); import msatrace.{lib}",
    "adapter, init": "import msatrace.{lib}; msatrace.init(**SETTINGS); import {lib}",
    "library, adapter, init": "import {lib}; import msatrace.{lib}; msatrace.init(**SETTINGS)",
}

SCRIPT = """
import json, sys
import msatrace
from msatrace import testing
SETTINGS = dict(service_name="order", log_format="json", access_log=False)
assert "{lib}" not in sys.modules
{steps}
with testing.capture_spans() as exporter:
    {lib}.get("{url}/echo", timeout=10)
spans = [s for s in exporter.get_finished_spans() if s.kind.name == "CLIENT"]
ids = [(format(s.context.trace_id, "032x"), format(s.context.span_id, "016x")) for s in spans]
print(json.dumps(ids))
"""


@pytest.mark.parametrize("library", ["httpx", "requests"])
@pytest.mark.parametrize("order", list(ORDERS))
def test_every_import_order_patches_the_library(echo: EchoServer, library: str, order: str) -> None:
    """The request carries traceparent naming its one CLIENT span, whatever the import order."""
    steps = ORDERS[order].format(lib=library).replace("; ", "\n")
    script = textwrap.dedent(SCRIPT).format(lib=library, steps=steps, url=echo.url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MSATRACE_"))}

    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env
    )

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "internal error" not in done.stdout
    spans = [tuple(ids) for ids in json.loads(done.stdout.splitlines()[-1])]
    assert spans == [traceparent_ids(echo.only().get("traceparent"))]


def test_celery_adapter_imported_after_init_is_patched() -> None:
    """init(), then import msatrace.celery (which imports Celery): Celery is patched."""
    script = textwrap.dedent(
        """
        import msatrace
        msatrace.init(service_name="order", log_format="json", access_log=False)
        import msatrace.celery
        from celery import Celery
        from msatrace._core import patching
        print(patching.is_patched(Celery, "send_task"))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MSATRACE_"))}

    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "True"  # after init()'s start-up line
