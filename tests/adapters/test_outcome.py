"""The outcome step: one Outcome per request, hop and task, handed to the sinks chosen at init()."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from opentelemetry.trace import INVALID_SPAN
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

import msatrace
import msatrace.starlette
from msatrace import testing
from msatrace._core import runtime, safety
from msatrace._core.lifecycle import outbound, outcome
from msatrace._core.lifecycle.outcome import Outcome, Sink
from tests.adapters.asgi_kit import call, init


async def order(request: Request) -> Response:
    return PlainTextResponse("ok")


async def boom(request: Request) -> Response:
    raise ValueError("boom")


def make_app() -> Starlette:
    app = Starlette(routes=[Route("/orders/{order_id}", order), Route("/boom", boom)])
    msatrace.starlette.instrument(app)
    return app


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[Outcome]:
    """A sink added for every kind (before init()): the outcomes it was handed."""
    got: list[Outcome] = []

    def record(rt: runtime.Runtime, kind: outcome.Kind) -> Sink:
        return got.append

    monkeypatch.setattr(outcome, "_factories", [*outcome._factories, record])
    return got


def test_request_outcome_carries_what_the_span_and_access_line_say(seen: list[Outcome]) -> None:
    """A routed request: one server Outcome whose fields match its span and its access line."""
    init(sampler="always_on")

    result = call(make_app(), "/orders/7", headers={"User-Agent": "probe/1"})

    (out,) = seen
    span = result.server_span()
    (line,) = result.by_logger("msatrace.access")
    assert (out.kind, out.name, out.method, out.route, out.status) == (
        "server",
        "GET /orders/{order_id}",
        "GET",
        "/orders/{order_id}",
        200,
    )
    assert (out.error, out.error_type, out.sampled) == (None, None, True)
    assert out.trace_id == line["trace_id"] == format(span.context.trace_id, "032x")
    assert out.span_id == line["span_id"] == format(span.context.span_id, "016x")
    assert out.request_id == line["request_id"]
    assert (out.start_ns, out.end_ns) == (span.start_time, span.end_time)
    assert out.request is not None
    assert (out.request.path, out.request.user_agent) == ("/orders/7", "probe/1")


def test_failed_request_outcome_names_the_error(seen: list[Outcome]) -> None:
    """An unhandled exception: the outcome holds it, error.type its class, status 500."""
    init(sampler="always_on")

    call(make_app(), "/boom")

    (out,) = seen
    assert isinstance(out.error, ValueError)
    assert (out.status, out.error_type) == (500, "ValueError")


@pytest.mark.span_paths("lean", "sdk")  # the sampler msatrace installs
def test_unsampled_request_still_reaches_every_sink(seen: list[Outcome]) -> None:
    """Not sampled: the outcome is delivered, marked unsampled, with the trace IDs of the line."""
    init(sampler="always_off")

    result = call(make_app(), "/orders/7", spans=False)

    (out,) = seen
    assert out.sampled is False
    assert out.trace_id == result.by_logger("msatrace.access")[0]["trace_id"]


def test_task_outcome(seen: list[Outcome]) -> None:
    """A @task run: one task Outcome named after the task, with its exception."""
    init(sampler="always_on")

    @msatrace.task(name="orders.add")
    def add() -> None:
        raise KeyError("x")

    with testing.capture_logs(), pytest.raises(KeyError):
        add()

    (out,) = seen
    assert (out.kind, out.name, out.method, out.status) == ("task", "orders.add", None, None)
    assert out.error_type == "KeyError"
    assert out.end_ns >= out.start_ns


def _target(url: Any) -> tuple[str, str, int | None]:
    return "http", "example.test", None


def test_hop_outcome(seen: list[Outcome]) -> None:
    """An outgoing hop answered 404: one client Outcome, error.type the status."""
    init(sampler="always_on")
    call_ = outbound.begin(object(), outbound.Client(_target))
    assert call_ is not None

    with testing.capture_spans() as exporter:
        hop = call_.hop("GET", "http://example.test/x", {})
        assert hop is not None
        hop.detach()
        hop.respond(404)
        hop.end()
    call_.close()

    (out,) = seen
    (span,) = exporter.get_finished_spans()
    assert (out.kind, out.name, out.method, out.status, out.error_type) == (
        "client",
        "GET",
        "GET",
        404,
        "404",
    )
    assert out.span_id == format(span.context.span_id, "016x")
    assert out.end_ns == span.end_time


def test_sinks_are_chosen_at_init() -> None:
    """Tracing on, access log on, debug on error on: the kept debug lines first (requests and
    tasks), span and line sinks (and metrics, when on, for requests, hops and tasks, with the
    active-requests begin hook); tracing, the access log, debug on error and metrics off: none."""
    init(metrics_exporter="none")
    on = outcome.sinks_for(runtime.current())  # type: ignore[arg-type]
    msatrace.shutdown()
    init(metrics_exporter="prometheus")
    measured = outcome.sinks_for(runtime.current())  # type: ignore[arg-type]
    msatrace.shutdown()
    init(tracing=False, access_log=False, metrics_exporter="none", debug_on_error=False)
    off = outcome.sinks_for(runtime.current())  # type: ignore[arg-type]

    debug = outcome.flush_debug_buffer
    assert on.server == (debug, outcome.end_server_span, outcome.write_access_line)
    assert on.client == (outcome.end_client_span,)
    assert on.task == (debug, outcome.end_task_span)
    assert [s.__name__ for s in measured.server[3:]] == ["record_request"]
    assert [s.__name__ for s in measured.task[2:]] == ["record_task"]
    assert measured.client[:1] == on.client
    assert [s.__name__ for s in measured.client[1:]] == ["record_hop"]
    assert [b.__name__ for b in measured.server_begin] == ["request_began"]
    assert on.server_begin == ()
    assert (off.server, off.client, off.task, off.server_begin) == ((), (), (), ())


def test_failing_sink_is_reported_once_and_the_others_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A sink that raises: one warning naming it; the sinks after it still run, per request."""
    after: list[Outcome] = []

    def broken(out: Outcome) -> None:
        raise RuntimeError("sink failed")

    def factories(rt: runtime.Runtime, kind: outcome.Kind) -> Sink:
        return broken

    def tail(rt: runtime.Runtime, kind: outcome.Kind) -> Sink:
        return after.append

    monkeypatch.setattr(outcome, "_factories", [factories, *outcome._factories, tail])
    previous = safety.set_strict(False)
    safety.reset()
    try:
        init(sampler="always_on")
        app = make_app()
        first = call(app, "/orders/1")
        second = call(app, "/orders/2")
    finally:
        safety.set_strict(previous)

    assert len(after) == 2
    assert first.response.status_code == second.response.status_code == 200
    assert len(first.spans) == len(second.spans) == 1
    assert len(first.by_logger("msatrace.access")) == len(second.by_logger("msatrace.access")) == 1
    warnings = [e["event"] for r in (first, second) for e in r.by_logger("msatrace")]
    assert warnings == ["msatrace: internal error in outcome.broken; the request goes on"]


@pytest.mark.parametrize(
    ("kind", "status", "error", "expected"),
    [
        ("server", 503, None, "503"),
        ("server", 404, None, None),
        ("client", 404, None, "404"),
        ("client", 200, None, None),
        ("task", None, None, None),
        ("server", 500, KeyError("k"), "KeyError"),
        ("task", None, TimeoutError(), "TimeoutError"),
    ],
)
def test_error_type_follows_semconv(
    kind: outcome.Kind, status: int | None, error: BaseException | None, expected: str | None
) -> None:
    """error.type: the exception's class, else a server's 5xx or a client's 4xx/5xx status."""
    out = Outcome(
        kind=kind,
        name="n",
        start_ns=2,
        end_ns=1,
        error=error,
        span=INVALID_SPAN,
        sampled=False,
        trace_id=None,
        span_id=None,
        request_id=None,
        status=status,
    )

    assert out.error_type == expected
    assert out.duration_s == 0.0


def test_outcome_of_fills_every_field_by_its_name() -> None:
    """``Outcome.of`` (the lifecycles' keyword builder) takes every field, each to its own place."""
    values = {name: object() for name in Outcome._fields}

    out = Outcome.of(**values)  # type: ignore[arg-type]

    assert list(inspect.signature(Outcome.of).parameters) == list(Outcome._fields)
    assert {name: getattr(out, name) for name in Outcome._fields} == values
    assert out == Outcome(**values)  # type: ignore[arg-type]
