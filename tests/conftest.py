"""Shared fixtures: every test starts and ends with msatrace shut down and guards strict."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from types import ModuleType

import pytest
from hypothesis import settings

import msatrace
from msatrace import testing

IN_CI = os.environ.get("CI") == "true"

# No per-example deadline: these machines are shared and noisy, and a slow example is not a
# failure (speed lives in benchmarks/). The properties' example counts stay hypothesis' defaults.
settings.register_profile("msatrace", deadline=None)
settings.load_profile("msatrace")


@pytest.fixture(autouse=True)
def _clean_msatrace() -> Iterator[None]:
    """No test leaves msatrace initialised, patched, or with relaxed guards behind."""
    msatrace.shutdown()
    with testing.strict_guards():
        yield
    msatrace.shutdown()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A clean environment: no OTEL_*, MSATRACE_*, NO_COLOR or FORCE_COLOR from the caller."""
    for name in list(os.environ):
        if name.startswith(("OTEL_", "MSATRACE_")) or name in ("NO_COLOR", "FORCE_COLOR"):
            monkeypatch.delenv(name)
    return monkeypatch


def require(component: str, available: bool, detail: str = "") -> None:
    """Skip when a real component is missing, except under CI=true where it is a failure.

    Works inside a test or fixture and at a test module's top level (the whole module skips).
    """
    if available:
        return
    why = f" ({detail})" if detail else ""
    if IN_CI:
        pytest.fail(f"{component} is required under CI=true but is not available{why}")
    pytest.skip(f"{component} is not available{why}", allow_module_level=True)


def need(module: str) -> ModuleType:
    """Import an optional package's module; missing, it skips (a failure under CI=true).

    The one way a test depends on an optional package: ``pytest.importorskip`` would skip in CI
    too (tests/test_need.py checks that no test calls it).
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        require(module, False, f"{type(exc).__name__}: {exc}")
        raise  # unreachable: require() skipped or failed
