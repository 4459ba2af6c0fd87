"""The documentation's code examples and the standalone examples work as written.

- Every ``python`` block in ``docs/`` compiles; blocks marked ``<!-- test: run -->`` are run in a
  fresh interpreter and must exit 0.
- Each standalone example (``examples/fastapi_app.py``, ``flask_app.py``, ``django_project/``)
  starts with the command its docstring gives, answers with ``X-Trace-ID``, and writes a JSON
  line carrying that trace ID.
- The demo (``examples/msa/run_demo.py``) exits 0, shows one trace across all four processes and
  tells the whole incident (notifications, page, readiness, resolution, no personal data).
"""

from __future__ import annotations

import ast
import http.client
import importlib.util
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
RUN_MARK = "<!-- test: run -->"
_BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _blocks() -> list[tuple[str, str, bool]]:
    """(id, code, marked to run) for every python block in the docs."""
    found = []
    for page in sorted(DOCS.rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        for n, match in enumerate(_BLOCK.finditer(text)):
            before = text[: match.start()].rstrip().splitlines()
            run = bool(before) and before[-1].strip() == RUN_MARK
            found.append((f"{page.relative_to(DOCS)}#{n}", match.group(1), run))
    return found


BLOCKS = _blocks()
RUNNABLE = [(name, code) for name, code, run in BLOCKS if run]


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MSATRACE_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.mark.parametrize(("name", "code"), [(n, c) for n, c, _ in BLOCKS])
def test_docs_python_block_compiles(name: str, code: str) -> None:
    """Every python code block in the documentation is valid Python syntax."""
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT

    compiled = compile(code, name, "exec", flags=flags)

    assert compiled is not None


@pytest.mark.parametrize(("name", "code"), RUNNABLE)
def test_docs_runnable_block_runs(name: str, code: str, tmp_path: Path) -> None:
    """A documentation block marked to run exits 0 in a fresh interpreter."""
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")

    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_docs_have_runnable_blocks() -> None:
    """The documentation marks some code blocks to be run by this suite."""
    assert len(RUNNABLE) >= 3


def _hooks() -> Any:
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_settings_reference_lists_every_option() -> None:
    """The generated configuration reference has a row per setting with all its variables."""
    from msatrace._core.config.settings import OPTIONS

    table = _hooks().settings_table()

    rows = table.splitlines()[2:]  # after the header and the separator
    assert [row.split("`")[1] for row in rows] == [opt.name for opt in OPTIONS]
    for row, opt in zip(rows, OPTIONS, strict=True):
        assert all(f"`{var}`" in row for var in opt.env)


def test_configuration_page_uses_the_generated_table() -> None:
    """The configuration page carries the marker the docs hook replaces with the table."""
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")

    found = _hooks().MARKER in page

    assert found


def test_benchmark_report_on_the_comparison_page_leaves_out_its_targets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report included in the comparison page keeps every section but the project's Targets."""
    hooks = _hooks()
    report = tmp_path / "RESULTS.md"
    report.write_text(
        "# Benchmark results\n\nintro\n\n## Method\n\nhow\n\n## Targets\n\n"
        "| target | figure | verdict |\n|---|---|---|\n| aim | 1 | **met** |\n\n"
        "## Logging\n\n| variant | µs |\n|---|---|\n| msatrace | 7.19 |\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(hooks, "RESULTS", report)

    included = hooks.benchmark_results()

    assert "### Benchmark results" in included
    assert "#### Method" in included
    assert "#### Logging" in included
    assert "| msatrace | 7.19 |" in included
    assert "Targets" not in included
    assert "verdict" not in included


# --- standalone examples ---------------------------------------------------------------------

EXAMPLES = {
    "fastapi": (ROOT / "examples" / "fastapi_app.py", "/orders/42"),
    "flask": (ROOT / "examples" / "flask_app.py", "/orders/42"),
    "django": (ROOT / "examples" / "django_project" / "mysite" / "__init__.py", "/orders/42/"),
}


def _docstring_command(path: Path) -> list[str]:
    """The ``$ command`` line of a module docstring, split into arguments."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    for line in doc.splitlines():
        if line.strip().startswith("$ "):
            return shlex.split(line.strip()[2:])
    raise AssertionError(f"{path} has no '$ command' line in its docstring")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int, path: str, deadline: float) -> tuple[int, str | None]:
    """GET ``path``, retrying while nothing listens yet; (status, X-Trace-ID)."""
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            conn.close()
            return response.status, response.getheader("X-Trace-ID")
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class ExampleServer:
    """A standalone example started with its docstring's command on a free port."""

    def __init__(self, name: str) -> None:
        self.path = EXAMPLES[name][1]
        argv = _docstring_command(EXAMPLES[name][0])
        self.port = _free_port()
        argv = [a.replace("8000", str(self.port)) for a in argv]
        # uvicorn / gunicorn from the interpreter running the tests
        self.proc = subprocess.Popen(
            [sys.executable, "-m", argv[0], *argv[1:]],
            cwd=ROOT,
            env=_clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.output: list[str] | None = None

    def stop(self) -> list[str]:
        """Stop the server (its whole process group) and return every line it printed."""
        if self.output is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                out, _ = self.proc.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                out, _ = self.proc.communicate()
            self.output = out.decode("utf-8", "replace").splitlines()
        return self.output


@pytest.fixture(params=sorted(EXAMPLES))
def example(request: pytest.FixtureRequest) -> Iterator[ExampleServer]:
    """Each standalone example, answering (``/health``: neither traced nor logged)."""
    server = ExampleServer(request.param)
    try:
        _get(server.port, "/health", time.monotonic() + 60)
        yield server
    finally:
        server.stop()


@pytest.mark.integration
def test_example_answers_with_trace_id(example: ExampleServer) -> None:
    """A standalone example started from its docstring answers with a valid X-Trace-ID."""
    status, trace_id = _get(example.port, example.path, time.monotonic() + 60)

    assert status == 200
    assert trace_id is not None
    assert re.fullmatch("[0-9a-f]{32}", trace_id)


@pytest.mark.integration
def test_example_access_line_carries_the_response_trace_id(example: ExampleServer) -> None:
    """The access line a standalone example writes carries the X-Trace-ID it answered with."""
    _, trace_id = _get(example.port, example.path, time.monotonic() + 60)

    lines = example.stop()

    events = [json.loads(line) for line in lines if line.startswith("{")]
    access = [e for e in events if e.get("logger") == "msatrace.access"]
    assert [e["trace_id"] for e in access] == [trace_id]


# --- the demo --------------------------------------------------------------------------------


@pytest.mark.integration
def test_demo_runs_end_to_end() -> None:
    """The demo exits 0, shows one trace ID in all four services' logs, and saw every step of
    the incident."""
    for binary in ("redis-server", "prometheus", "prometheus-alertmanager"):
        require(binary, shutil.which(binary) is not None)
    env = _clean_env()
    env["NO_COLOR"] = "1"

    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "msa" / "run_demo.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(
        r"[0-9a-f]{32}  gateway yes orders yes inventory yes worker yes", result.stdout
    )
    checks = result.stdout.split("Every step of the incident, seen?")[-1]
    assert re.search(r"^  yes  PagerDuty paged for it$", checks, re.M), checks
    assert re.search(r"^  yes  no e-mail, card or phone number", checks, re.M), checks
    assert not re.search(r"^  NO ", checks, re.M), checks
    timeline = result.stdout.split("Timeline (time since the bug started)")[-1]
    for step in ("Slack #errors:", "Jira: SHOP-1 created", "PagerDuty page:", "/readyz -> 503"):
        assert step in timeline, timeline[:4000]
