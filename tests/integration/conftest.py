"""Fixtures for real-server tests: an OTLP receiver for the whole session, a pool of servers.

    def test_something(servers, otlp_receiver):
        srv = servers.uvicorn("fastapi_app:app", name="api")
        ...

Every server a test module starts through ``servers`` is stopped when the module ends, whether
its tests passed or failed. Servers export their spans to ``otlp_receiver``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import require
from tests.integration.inbound import KINDS, Kind
from tests.integration.servers import Server, ServerPool

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


# --- the four servers of the inbound suite (test_inbound_*.py) ---------------------------------


@pytest.fixture(scope="session")
def inbound_pool(otlp_receiver: OTLPReceiver) -> Iterator[ServerPool]:
    """The pool the inbound suite's servers come from, shared by its modules."""
    pool = ServerPool(otlp_endpoint=otlp_receiver.base_endpoint)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(scope="session", params=KINDS, ids=[k.id for k in KINDS])
def kind(request: pytest.FixtureRequest) -> Kind:
    """Which of the four servers the test runs against (missing framework: skip, or fail in CI)."""
    k: Kind = request.param
    for module in k.modules:
        require(module, importlib.util.find_spec(module) is not None)
    return k


@pytest.fixture(scope="session")
def srv(kind: Kind, inbound_pool: ServerPool) -> Iterator[Server]:
    """The server of ``kind``: started once per session, stopped when the next kind starts."""
    server = kind.start(inbound_pool, f"it-{kind.id}", {})
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def client(srv: Server) -> Iterator[httpx.Client]:
    """A keep-alive client for one test, so that ``settle(srv, client)`` reuses its connection."""
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        yield c
