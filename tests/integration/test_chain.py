"""Three real services in a chain: one trace from the first to the last, in logs and in spans.

FastAPI (uvicorn) calls Flask (gunicorn) with ``httpx.AsyncClient``, which calls Django (gunicorn)
with ``requests`` (the apps are in ``tests/apps/chain``). Nothing in the apps passes trace IDs
along by hand: ``msatrace.init()`` patched both clients.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from msatrace.testing import OTLPReceiver, ReceivedSpan
from tests.conftest import require
from tests.integration.servers import Server, ServerPool


@dataclass(frozen=True)
class Chain:
    """The three running services, first to last."""

    api: Server
    middle: Server
    backend: Server


@pytest.fixture(scope="module")
def chain(servers: ServerPool) -> Chain:
    """api (FastAPI) -> middle (Flask) -> backend (Django), started last to first."""
    for module in ("fastapi", "flask", "django", "uvicorn", "gunicorn"):
        require(module, _importable(module))
    backend = servers.gunicorn("chain.backend:application", name="chain-backend")
    middle = servers.gunicorn(
        "chain.middle:app", name="chain-middle", env={"CHAIN_NEXT_URL": backend.url}
    )
    api = servers.uvicorn("chain.api:app", name="chain-api", env={"CHAIN_NEXT_URL": middle.url})
    return Chain(api, middle, backend)


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _call(chain: Chain) -> tuple[httpx.Response, list[int]]:
    marks = [chain.api.mark(), chain.middle.mark(), chain.backend.mark()]
    response = httpx.get(chain.api.url + "/chain", timeout=60)
    assert response.status_code == 200, response.text
    return response, marks


def test_every_service_sees_the_same_trace(chain: Chain) -> None:
    """Each of the three services handled the request in the trace the first one started."""
    response, _ = _call(chain)

    trace_id, body = response.headers["x-trace-id"], response.json()
    seen = [body["trace_id"], body["next"]["trace_id"], body["next"]["next"]["trace_id"]]
    assert seen == [trace_id] * 3


@pytest.mark.parametrize(
    ("which", "events"),
    [
        ("api", {"calling middle", "middle answered"}),
        ("middle", {"calling backend", "backend answered"}),
        ("backend", {"backend working"}),
    ],
)
def test_log_lines_of_each_service_carry_the_trace_id(
    chain: Chain, which: str, events: set[str]
) -> None:
    """Every log line a service wrote for the request (app, client, access) has its trace ID."""
    response, marks = _call(chain)
    srv: Server = getattr(chain, which)
    since = marks[("api", "middle", "backend").index(which)]

    lines = srv.wait_for(
        lambda ls: (
            events <= {ln.get("event") for ln in ls}
            and any(ln.get("logger") == "msatrace.access" for ln in ls)
        ),
        since=since,
    )

    # the previous test's access line may land after our mark: keep this request's lines
    trace_id, request_id = response.headers["x-trace-id"], response.headers["x-request-id"]
    mine = [
        ln for ln in lines if trace_id == ln.get("trace_id") or request_id == ln.get("request_id")
    ]
    assert {(ln.get("trace_id"), ln.get("request_id")) for ln in mine} == {(trace_id, request_id)}
    assert events <= {ln.get("event") for ln in mine}
    assert all(ln.get("trace_id") for ln in lines), lines  # no line of any request lacks one


def test_spans_form_one_tree(chain: Chain, otlp_receiver: OTLPReceiver) -> None:
    """server -> client -> server -> client -> server, each span's parent the one before it."""
    response, _ = _call(chain)
    trace_id = response.headers["x-trace-id"]

    otlp_receiver.wait_for(lambda spans: len([s for s in spans if s.trace_id == trace_id]) >= 5)
    spans = otlp_receiver.trace(trace_id)

    shape = [(s.service, s.kind) for s in _in_tree_order(spans)]
    assert shape == [
        ("chain-api", "SERVER"),
        ("chain-api", "CLIENT"),
        ("chain-middle", "SERVER"),
        ("chain-middle", "CLIENT"),
        ("chain-backend", "SERVER"),
    ]


def _in_tree_order(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    """The spans as a single parent -> child path from the root; fails if they are not one."""
    (root,) = [s for s in spans if s.parent_span_id is None]
    path = [root]
    while True:
        children = [s for s in spans if s.parent_span_id == path[-1].span_id]
        if not children:
            break
        assert len(children) == 1, [(c.service, c.kind, c.name) for c in children]
        path.append(children[0])
    assert len(path) == len(spans), [(s.service, s.kind, s.name) for s in spans]
    return path
