"""An internal failure of msatrace never reaches the application: the call goes on untouched."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests

from msatrace._core import runtime, safety
from tests.outbound.conftest import EchoServer


@pytest.fixture
def broken_inject(traced: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Header injection raises (an msatrace bug), with production guards (warn, carry on)."""
    rt = runtime.current()
    assert rt is not None

    def explode(carrier: Any, ctx: Any = None) -> None:
        raise RuntimeError("injected failure")

    monkeypatch.setattr(rt.propagation, "inject", explode)
    previous = safety.set_strict(False)
    try:
        yield
    finally:
        safety.set_strict(previous)
        safety.reset()


@pytest.mark.parametrize("client", ["httpx", "requests"])
def test_internal_failure_leaves_the_call_alone(
    broken_inject: None, echo: EchoServer, client: str
) -> None:
    """If msatrace fails while preparing a call, the call is still sent and answered."""
    get = httpx.get if client == "httpx" else requests.get

    response = get(echo.url + "/echo", timeout=10)

    assert response.status_code == 200
    assert echo.only().get("traceparent") is None
