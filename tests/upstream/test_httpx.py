"""httpx entry: ``_send_single_request``, and tracing at ``send`` when it is gone."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from msatrace import testing
from msatrace._core import patching, upstream
from tests.conftest import need
from tests.outbound.conftest import EchoServer
from tests.outbound.helpers import client_spans, hex_ids, traceparent_ids
from tests.upstream.conftest import canary

httpx = need("httpx")
import msatrace.httpx  # noqa: E402  # after need(): fails under CI=true if httpx is missing


@pytest.mark.parametrize("client_class", [httpx.Client, httpx.AsyncClient])
def test_canary_send_single_request(client_class: type[Any]) -> None:
    """httpx still has a per-physical-request ``_send_single_request(self, request)``."""
    found = upstream.httpx_hop_method(client_class)

    assert found == "_send_single_request", canary(
        "httpx.send-single-request", f"httpx {httpx.__version__}", client_class.__qualname__
    )


@pytest.fixture
def renamed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A future httpx: ``_send_single_request`` takes another shape (here: another signature)."""
    for cls in (httpx.Client, httpx.AsyncClient):
        original = cls._send_single_request
        if cls is httpx.Client:

            def changed(self: Any, request: Any, extra: object = None, _o: Any = original) -> Any:
                return _o(self, request)
        else:

            async def changed(  # type: ignore[misc]
                self: Any, request: Any, extra: object = None, _o: Any = original
            ) -> Any:
                return await _o(self, request)

        monkeypatch.setattr(cls, "_send_single_request", changed)


def test_probe_reports_a_changed_method(renamed: None) -> None:
    """The probe answers ``None`` for a changed method and reports the entry once."""
    assert upstream.httpx_hop_method(httpx.Client) is None
    assert upstream.fallen_back() == {"httpx.send-single-request"}


def test_fallback_traces_at_send(renamed: None, traced: None, echo: EchoServer) -> None:
    """Without the private method each send() is one hop: a CLIENT span and its trace headers."""
    with testing.capture_spans() as exporter, httpx.Client() as client:
        client.get(echo.url + "/echo")

    (span,) = client_spans(exporter.get_finished_spans())
    assert traceparent_ids(echo.only().get("traceparent")) == hex_ids(span)
    assert not patching.is_patched(httpx.Client, "_send_single_request")
    assert patching.is_patched(httpx.Client, "send")


def test_fallback_traces_async_send(renamed: None, traced: None, echo: EchoServer) -> None:
    """The same for ``AsyncClient``."""

    async def get() -> None:
        async with httpx.AsyncClient() as client:
            await client.get(echo.url + "/echo")

    with testing.capture_spans() as exporter:
        asyncio.run(get())

    (span,) = client_spans(exporter.get_finished_spans())
    assert traceparent_ids(echo.only().get("traceparent")) == hex_ids(span)


def test_fallback_is_undone_by_unpatch(renamed: None, traced: None) -> None:
    """``unpatch()`` restores ``send`` after the fallback patched it."""
    msatrace.httpx.unpatch()

    assert not patching.is_patched(httpx.Client, "send")
    assert not patching.is_patched(httpx.AsyncClient, "send")
