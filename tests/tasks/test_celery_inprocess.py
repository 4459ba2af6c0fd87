"""msatrace.celery in process: Celery's in-memory broker and a real worker thread.

The cross-process behaviour (Redis, a worker subprocess, a web server) is in
tests/integration/test_celery.py; these tests check spans and fields precisely and quickly.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

import msatrace
import msatrace.testing
from tests.conftest import need
from tests.tasks.conftest import Captured

celery = need("celery")
from celery import Celery, signals  # noqa: E402
from celery.contrib.testing.worker import start_worker  # noqa: E402

log = msatrace.get_logger("jobs")


def make_app() -> Celery:
    app = Celery("inproc", broker="memory://", backend="cache+memory://")
    app.conf.broker_transport_options = {"polling_interval": 0.01}
    app.conf.broker_connection_retry_on_startup = True

    @app.task(name="inproc.add", shared=False)
    def add(x: int, y: int) -> int:
        log.info("adding", x=x, y=y)
        return x + y

    @app.task(name="inproc.flaky", bind=True, max_retries=3, shared=False)
    def flaky(self: Any) -> int:
        log.info("attempt", retries=self.request.retries)
        if self.request.retries < 2:
            raise self.retry(countdown=0, exc=ValueError("not yet"))
        return self.request.retries  # type: ignore[no-any-return]

    @app.task(name="inproc.boom", shared=False)
    def boom() -> None:
        raise KeyError("missing")

    return app


@pytest.fixture(scope="module")
def app() -> Celery:
    """A Celery app on the in-memory broker (one per module: workers are slow to stop)."""
    return make_app()


@pytest.fixture(scope="module")
def worker(app: Celery) -> Iterator[None]:
    """A real Celery worker (solo pool) consuming ``app``'s queue in a thread.

    It outlives each test's ``msatrace.init()``/``shutdown()``: msatrace's receivers look up the
    active runtime on every message, so each test sees its own spans and logs.
    """
    # Celery decides once, when the worker starts, whether to log "Task ... succeeded" (INFO);
    # in a real worker msatrace.init() has set the level by then, here the tests init later.
    trace_logger = logging.getLogger("celery.app.trace")
    previous = trace_logger.level
    trace_logger.setLevel(logging.INFO)
    # The worker starts before any test's init(), so msatrace's setup_logging receiver is not
    # connected yet: this one keeps Celery from taking over the test process's root logger.
    signals.setup_logging.connect(leave_logging_alone, weak=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        signals.setup_logging.disconnect(leave_logging_alone)
        trace_logger.setLevel(previous)


def leave_logging_alone(**_: Any) -> None:
    """A setup_logging receiver that does nothing: Celery then configures no logging."""


@pytest.fixture
def traced(app: Celery, env: pytest.MonkeyPatch) -> Iterator[Captured]:
    """msatrace initialised with the Celery patch on; spans and log events recorded."""
    app.control.purge()  # the in-memory broker is per process: drop other tests' messages
    msatrace.init(service_name="worker", environment="production", patch="celery")
    with msatrace.testing.capture_spans() as spans, msatrace.testing.capture_logs() as events:
        yield Captured(spans, events)


@pytest.fixture
def published(traced: Captured) -> Iterator[list[dict[str, Any]]]:
    """The headers of every message published, as Celery's after_task_publish signal saw them."""
    seen: list[dict[str, Any]] = []

    def record(headers: dict[str, Any] | None = None, **_: Any) -> None:
        seen.append(dict(headers or {}))

    signals.after_task_publish.connect(record, weak=False)
    try:
        yield seen
    finally:
        signals.after_task_publish.disconnect(record)


def spans(captured: Captured, kind: SpanKind) -> list[ReadableSpan]:
    return [s for s in captured.spans.get_finished_spans() if s.kind is kind]


def consumed(n: int) -> Callable[[Captured], bool]:
    """Predicate: ``n`` CONSUMER spans have ended (the worker's postrun ran)."""
    return lambda c: len(spans(c, SpanKind.CONSUMER)) >= n


def hex_trace(span: ReadableSpan) -> str:
    return f"{span.context.trace_id:032x}"


def test_publish_writes_the_producer_span_into_the_message(
    app: Celery, traced: Captured, published: list[dict[str, Any]]
) -> None:
    """The message carries traceparent and X-Trace-ID of the PRODUCER span, and X-Request-ID."""
    with (
        trace.get_tracer("test").start_as_current_span("request"),
        msatrace.bound(request_id="req-1"),
    ):
        app.send_task("inproc.add", (1, 2))

    (producer,) = spans(traced, SpanKind.PRODUCER)
    (headers,) = published
    flags = int(producer.context.trace_flags)
    assert headers["traceparent"] == (
        f"00-{hex_trace(producer)}-{producer.context.span_id:016x}-{flags:02x}"
    )
    assert (headers["X-Trace-ID"], headers["X-Request-ID"]) == (hex_trace(producer), "req-1")


def test_publish_span_follows_messaging_semconv(
    app: Celery, traced: Captured, published: list[dict[str, Any]]
) -> None:
    """The PRODUCER span is "send <task>", child of the request, with messaging attributes."""
    with trace.get_tracer("test").start_as_current_span("request") as request:
        app.send_task("inproc.add", (1, 2))

    (producer,) = spans(traced, SpanKind.PRODUCER)
    assert producer.name == "send inproc.add"
    assert producer.parent is not None
    assert producer.parent.span_id == request.get_span_context().span_id
    assert dict(producer.attributes or {}) == {
        "messaging.system": "celery",
        "messaging.operation.type": "send",
        "messaging.operation.name": "send",
        "celery.task.name": "inproc.add",
        "messaging.message.id": published[0]["id"],
        "messaging.destination.name": "celery",
    }


def test_publish_outside_a_request_starts_a_new_trace(
    app: Celery, traced: Captured, published: list[dict[str, Any]]
) -> None:
    """Publishing with no current trace makes the PRODUCER span a new trace's root."""

    app.send_task("inproc.add", (1, 2))

    (producer,) = spans(traced, SpanKind.PRODUCER)
    assert producer.parent is None
    assert published[0]["X-Trace-ID"] == hex_trace(producer)


def test_worker_continues_the_trace_in_a_consumer_span(
    app: Celery, worker: None, traced: Captured
) -> None:
    """The worker's CONSUMER span is a child of the publish span, with messaging attributes."""
    with trace.get_tracer("test").start_as_current_span("request"):
        result = app.send_task("inproc.add", (2, 3))

    assert result.get(timeout=30) == 5
    traced.wait_for(consumed(1))
    (producer,) = spans(traced, SpanKind.PRODUCER)
    (consumer,) = spans(traced, SpanKind.CONSUMER)
    assert consumer.name == "process inproc.add"
    assert consumer.parent is not None
    assert (consumer.parent.span_id, hex_trace(consumer)) == (
        producer.context.span_id,
        hex_trace(producer),
    )
    assert dict(consumer.attributes or {}) == {
        "messaging.system": "celery",
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "celery.task.name": "inproc.add",
        "messaging.message.id": result.id,
        "messaging.destination.name": "celery",
        "celery.task.retries": 0,
        "celery.task.state": "SUCCESS",
    }


def test_task_log_lines_carry_trace_request_and_task(
    app: Celery, worker: None, traced: Captured
) -> None:
    """A task's own log lines and Celery's "succeeded" line carry the request's trace and IDs."""
    with (
        trace.get_tracer("test").start_as_current_span("request") as request,
        msatrace.bound(request_id="req-7"),
    ):
        result = app.send_task("inproc.add", (2, 3))
    result.get(timeout=30)
    traced.wait_for(consumed(1))

    (line,) = traced.logged("adding")
    succeeded = [e for e in traced.events if "succeeded" in str(e["event"])]
    trace_id = f"{request.get_span_context().trace_id:032x}"
    assert (line["trace_id"], line["request_id"], line["task"], line["task_id"]) == (
        trace_id,
        "req-7",
        "inproc.add",
        result.id,
    )
    assert [(e["logger"], e["trace_id"]) for e in succeeded] == [("celery.app.trace", trace_id)]


def test_retries_stay_in_the_same_trace(app: Celery, worker: None, traced: Captured) -> None:
    """Each retry is published from the failing attempt: all three attempts share one trace."""
    with trace.get_tracer("test").start_as_current_span("request") as request:
        result = app.send_task("inproc.flaky")

    assert result.get(timeout=30) == 2
    traced.wait_for(consumed(3))
    consumers = sorted(spans(traced, SpanKind.CONSUMER), key=lambda s: s.start_time or 0)
    attempts = traced.logged("attempt")
    trace_id = f"{request.get_span_context().trace_id:032x}"
    assert [s.attributes["celery.task.retries"] for s in consumers if s.attributes] == [0, 1, 2]
    assert {hex_trace(s) for s in consumers} == {trace_id}
    assert [(a["retries"], a["trace_id"]) for a in attempts] == [(n, trace_id) for n in range(3)]
    assert [e.name for e in consumers[0].events] == ["retry"]


def test_failing_task_is_recorded_and_logged_by_celery_with_the_trace(
    app: Celery, worker: None, traced: Captured
) -> None:
    """A failure sets the span to ERROR; Celery's error line is structured and in the trace."""
    with trace.get_tracer("test").start_as_current_span("request") as request:
        result = app.send_task("inproc.boom")

    with pytest.raises(KeyError):
        result.get(timeout=30)
    traced.wait_for(consumed(1))
    (consumer,) = spans(traced, SpanKind.CONSUMER)
    errors = [e for e in traced.events if e["level"] == "error"]
    assert consumer.status.status_code is StatusCode.ERROR
    assert (consumer.attributes or {})["celery.task.state"] == "FAILURE"
    assert len(errors) == 1
    assert errors[0]["exception"]["type"] == "KeyError"
    assert errors[0]["trace_id"] == f"{request.get_span_context().trace_id:032x}"


def publish_raw(app: Celery, name: str, headers: dict[str, str]) -> str:
    """Publish like an uninstrumented producer: straight to the broker, our headers as given."""
    task_id = str(uuid.uuid4())
    message_headers, properties, body, _ = app.amqp.create_task_message(task_id, name, (1, 1), {})
    message_headers.update(headers)
    with app.producer_or_acquire() as producer:
        producer.publish(
            body,
            exchange="",
            routing_key="celery",
            serializer="json",
            headers=message_headers,
            **properties,
        )
    return task_id


def test_malformed_trace_headers_start_a_new_trace_with_one_warning(
    app: Celery, worker: None, traced: Captured
) -> None:
    """Bad or missing trace headers: each task runs in a new trace; one warning, no failure."""

    ids = [
        publish_raw(app, "inproc.add", {"traceparent": "00-zz-zz-01", "X-Trace-ID": "bad\n"}),
        publish_raw(app, "inproc.add", {}),
    ]
    results = [app.AsyncResult(i).get(timeout=30) for i in ids]
    traced.wait_for(consumed(2))

    consumers = spans(traced, SpanKind.CONSUMER)
    warnings = [e for e in traced.events if e["level"] == "warning" and e["logger"] == "msatrace"]
    assert results == [2, 2]
    assert [s.parent for s in consumers] == [None, None]
    assert len({hex_trace(s) for s in consumers}) == 2
    assert len(warnings) == 1
    assert "malformed" in warnings[0]["event"]


def test_x_trace_id_alone_continues_that_trace(app: Celery, worker: None, traced: Captured) -> None:
    """A message with only a valid X-Trace-ID (a UUID) runs in that trace."""
    given = uuid.uuid4()

    task_id = publish_raw(app, "inproc.add", {"X-Trace-ID": str(given)})
    app.AsyncResult(task_id).get(timeout=30)
    traced.wait_for(consumed(1))

    (consumer,) = spans(traced, SpanKind.CONSUMER)
    assert hex_trace(consumer) == given.hex


def test_eager_task_is_a_child_of_its_caller(app: Celery, traced: Captured) -> None:
    """task.apply() runs inline: its CONSUMER span is a child of the caller, with no warning."""
    with trace.get_tracer("test").start_as_current_span("request") as request:
        assert app.tasks["inproc.add"].apply((1, 2)).get() == 3

    (consumer,) = spans(traced, SpanKind.CONSUMER)
    assert consumer.parent is not None
    assert consumer.parent.span_id == request.get_span_context().span_id
    assert not [e for e in traced.events if e["level"] == "warning"]


def test_instrument_is_idempotent_and_shutdown_undoes_it(app: Celery, traced: Captured) -> None:
    """instrument() twice connects each receiver once; shutdown() removes the patch and them."""
    import msatrace.celery

    msatrace.celery.instrument(app)
    msatrace.celery.instrument(app)
    connected = [r for r in signals.task_prerun.receivers if "msatrace" in str(r[0])]
    msatrace.shutdown()

    assert len(connected) == 1
    assert not [r for r in signals.task_prerun.receivers if "msatrace" in str(r[0])]
    assert not hasattr(Celery.send_task, "__wrapped__")


def test_publish_and_process_are_measured_under_the_messaging_names(
    app: Celery, worker: None, traced: Captured
) -> None:
    """Each publish is one ``messaging.client.operation.duration`` measurement and each run one
    ``messaging.process.duration`` (``error.type`` for a failed run), per queue; none of them
    is an ``msatrace.task.duration`` (that is for ``@msatrace.task``)."""
    need("prometheus_client")
    from msatrace._core import runtime

    ok = app.send_task("inproc.add", args=(1, 2))
    failing = app.send_task("inproc.boom")
    assert ok.get(timeout=30) == 3
    with pytest.raises(KeyError):
        failing.get(timeout=30)
    traced.wait_for(consumed(2))
    rt = runtime.current()
    assert rt is not None
    metrics = rt.metrics
    assert metrics is not None

    def counts(name: str) -> dict[tuple[str, ...], int]:
        series = metrics.collect().histograms.get(name, {})
        return {k: sum(s.counts) for k, s in series.items()}

    # The metrics sink runs right after the span sink that consumed() waits for.
    deadline = time.monotonic() + 30
    while sum(counts("messaging.process.duration").values()) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)

    assert counts("messaging.client.operation.duration") == {("send", "celery", "celery", ""): 2}
    assert counts("messaging.process.duration") == {
        ("process", "celery", "celery", ""): 1,
        ("process", "celery", "celery", "KeyError"): 1,
    }
    assert counts("msatrace.task.duration") == {}
