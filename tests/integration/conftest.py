"""Fixtures for real-server tests: an OTLP receiver for the whole session, a pool of servers.

    def test_something(servers, otlp_receiver):
        srv = servers.uvicorn("fastapi_app:app", name="api")
        ...

Every server a test module starts through ``servers`` is stopped when the module ends, whether
its tests passed or failed. Servers export their spans to ``otlp_receiver``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import require
from tests.integration.servers import ServerPool

try:
    import opentelemetry.exporter.otlp.proto.http  # noqa: F401  (the servers' exporter)

    from msatrace.testing import OTLPReceiver

    HAVE_OTLP = True
except ImportError:  # pragma: no cover - the otlp extra is missing
    HAVE_OTLP = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this directory starts real servers: mark it ``integration``."""
    for item in items:
        if "tests/integration/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def otlp_receiver() -> Iterator[OTLPReceiver]:
    """One OTLP/HTTP receiver on 127.0.0.1 for the session; filter its spans by trace or service."""
    require("opentelemetry-exporter-otlp-proto-http (msatrace[otlp])", HAVE_OTLP)
    with OTLPReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def servers(otlp_receiver: OTLPReceiver) -> Iterator[ServerPool]:
    """Start servers exporting to ``otlp_receiver``; all are stopped when the module ends."""
    pool = ServerPool(otlp_endpoint=otlp_receiver.base_endpoint)
    try:
        yield pool
    finally:
        pool.close()
