"""Run a test directory on every way msatrace can make its spans (issue 14).

A test directory's ``conftest.py`` imports ``span_path`` and ``pytest_generate_tests`` from here;
each of its tests then runs three times:

- ``lean``: msatrace installs the provider and its lean tracer makes the spans (the default);
- ``sdk``: msatrace installs the provider, its SDK tracer makes the spans (``lean_spans=False``);
- ``adopted``: a ``TracerProvider`` is set globally before ``init()``, as
  ``opentelemetry-instrument`` does, and msatrace adopts it and uses its tracer.

``@pytest.mark.span_paths("lean", "sdk")`` limits a test to the paths named: a test that
depends on a setting only a provider msatrace installs honours (the sampler, an exporter) runs on
the first two; one whose spans are made in a child process (where these fixtures do not reach)
runs once, on ``lean``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from msatrace._core import runtime, safety

PATHS = ("lean", "sdk", "adopted")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test of the directory once per span path, or per path its ``span_paths`` names."""
    if "span_path" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("span_paths")
    paths = list(marker.args) if marker is not None else list(PATHS)
    unknown = set(paths) - set(PATHS)
    if unknown:
        raise ValueError(f"span_paths{tuple(paths)}: unknown {sorted(unknown)}, expected {PATHS}")
    metafunc.parametrize("span_path", paths, indirect=True)


@pytest.fixture(autouse=True)
def span_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Makes ``init()`` use the span path of this test's parameter."""
    path: str = request.param
    # The same test runs again within the minute in which msatrace warns once per site: each run
    # starts with no warning already given.
    safety.reset()
    if path == "sdk":
        init = runtime.init

        def sdk_init(arguments: Mapping[str, Any]) -> runtime.Runtime:
            return init({"lean_spans": False, **arguments})

        monkeypatch.setattr(runtime, "init", sdk_init)
        yield path
        return
    if path == "lean":
        yield path
        return
    provider = TracerProvider()
    trace.set_tracer_provider(provider)
    try:
        yield path
    finally:
        provider.shutdown()
        trace._TRACER_PROVIDER = None
        trace._TRACER_PROVIDER_SET_ONCE = type(trace._TRACER_PROVIDER_SET_ONCE)()
