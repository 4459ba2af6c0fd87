"""Shared fixtures: every test starts and ends with msatrace shut down and guards strict."""

from __future__ import annotations

import os
from collections.abc import Iterator

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
    """A clean environment: no OTEL_* or MSATRACE_* variable from the caller's shell."""
    for name in list(os.environ):
        if name.startswith(("OTEL_", "MSATRACE_")):
            monkeypatch.delenv(name)
    return monkeypatch


def require(component: str, available: bool) -> None:
    """Skip when a real component is missing, except under CI=true where it is a failure."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{component} is required under CI=true but is not available")
    pytest.skip(f"{component} is not available")
