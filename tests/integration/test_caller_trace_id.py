"""A caller's own X-Trace-ID, sent through patched httpx and requests, names the trace a real
server continues (uvicorn on 127.0.0.1 running ``fastapi_app:app``)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import httpx
import pytest
import requests

import msatrace
from tests.conftest import require
from tests.integration.servers import Server, ServerPool

MINE = "4bf92f3577b34da6a3ce929d0e0e4736"
OTHER = "0af7651916cd43dd8448eb211c80319c"


@pytest.fixture(scope="module")
def api(servers: ServerPool) -> Server:
    """The FastAPI test app under uvicorn."""
    for module in ("fastapi", "uvicorn"):
        require(module, importlib.util.find_spec(module) is not None)
    return servers.uvicorn("fastapi_app:app", name="it-caller-trace-id")


def _httpx(url: str, headers: dict[str, str]) -> tuple[str, str]:
    with httpx.Client(timeout=30) as client:
        response = client.get(url, headers=headers)
    return response.headers["x-trace-id"], response.json()["trace_id"]


def _requests(url: str, headers: dict[str, str]) -> tuple[str, str]:
    response = requests.get(url, headers=headers, timeout=30)
    return response.headers["x-trace-id"], response.json()["trace_id"]


CLIENTS = pytest.mark.parametrize("get", [_httpx, _requests], ids=["httpx", "requests"])


@CLIENTS
def test_callers_x_trace_id_is_continued(
    env: pytest.MonkeyPatch, api: Server, get: Callable[[str, dict[str, str]], tuple[str, str]]
) -> None:
    """A patched client sending only the caller's X-Trace-ID: the server continues that trace."""
    msatrace.init(service_name="caller", log_format="json", access_log=False)

    echoed, seen = get(api.url + "/items/1", {"X-Trace-ID": MINE})

    assert (echoed, seen) == (MINE, MINE)


@CLIENTS
def test_callers_disagreeing_headers_arrive_as_set(
    env: pytest.MonkeyPatch, api: Server, get: Callable[[str, dict[str, str]], tuple[str, str]]
) -> None:
    """Both set by the caller, naming different traces: the server continues traceparent's."""
    msatrace.init(service_name="caller", log_format="json", access_log=False)
    headers = {"X-Trace-ID": MINE, "traceparent": f"00-{OTHER}-b7ad6b7169203331-01"}

    echoed, seen = get(api.url + "/items/1", headers)

    assert (echoed, seen) == (OTHER, OTHER)
