"""tests.conftest.need(): a missing optional package skips, except under CI=true where it fails.

The helper is checked the way CI meets it: pytest runs in a subprocess on two tiny test files,
one needing a missing package at its top level, one inside a test, with CI=true and without.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import need

ROOT = Path(__file__).resolve().parent.parent
MISSING = "msatrace_no_such_package"
TINY = {
    "test_top_level.py": f"""
        from tests.conftest import need

        need("{MISSING}")

        def test_never_runs():
            pass
        """,
    "test_inside.py": f"""
        from tests.conftest import need

        def test_needs_it():
            need("{MISSING}")
        """,
}


def run_tiny(tmp_path: Path, *, ci: bool) -> tuple[dict[str, str], str]:
    """Run pytest on the tiny files; each file's outcome (collection or test) and the output."""
    for name, code in TINY.items():
        (tmp_path / name).write_text(textwrap.dedent(code))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # not this repository's configuration
    report = tmp_path / "report.jsonl"
    plugin = tmp_path / "outcomes.py"
    plugin.write_text(
        textwrap.dedent(
            f"""
            import json

            def _write(nodeid, outcome):
                with open({str(report)!r}, "a") as f:
                    f.write(json.dumps([nodeid.split("::")[0], outcome]) + "\\n")

            def pytest_collectreport(report):
                if not report.passed:
                    _write(report.nodeid, report.outcome)

            def pytest_runtest_logreport(report):
                if report.when == "call" or not report.passed:
                    _write(report.nodeid, report.outcome)
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), str(tmp_path), env.get("PYTHONPATH")])
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "outcomes",
            "--continue-on-collection-errors",
            "-c",
            str(tmp_path / "pytest.ini"),
            *TINY,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    lines = report.read_text().splitlines() if report.exists() else []
    return dict(json.loads(line) for line in lines), proc.stdout + proc.stderr


def test_need_returns_the_module_when_it_is_installed() -> None:
    """need() imports and returns a module that is there."""

    module = need("json")

    assert module is json


def test_a_missing_package_skips_outside_ci(tmp_path: Path) -> None:
    """Without CI=true, a missing package skips the module or the test that needs it."""

    outcomes, output = run_tiny(tmp_path, ci=False)

    assert outcomes == {"test_top_level.py": "skipped", "test_inside.py": "skipped"}, output


def test_a_missing_package_fails_under_ci(tmp_path: Path) -> None:
    """Under CI=true, a missing package fails the module or the test that needs it, naming it."""

    outcomes, output = run_tiny(tmp_path, ci=True)

    assert outcomes == {"test_top_level.py": "failed", "test_inside.py": "failed"}, output
    assert f"{MISSING} is required under CI=true" in output, output


def test_no_test_calls_importorskip() -> None:
    """Every optional package goes through need(): pytest.importorskip would skip in CI too."""

    callers = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "tests").rglob("*.py"))
        if path.relative_to(ROOT).as_posix() not in ("tests/conftest.py", "tests/test_need.py")
        and "importorskip(" in path.read_text(encoding="utf-8")
    ]

    assert callers == []
