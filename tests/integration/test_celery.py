"""Celery across processes: a web server queues tasks on a real Redis, a real worker runs them.

The module starts its own ``redis-server`` on a free 127.0.0.1 port (no persistence), one
uvicorn serving ``celery_app.web:app`` and one ``celery -A celery_app worker`` (threads pool, 4
threads, so tasks of different traces interleave). Both export spans to the session's OTLP
receiver and write JSON logs on stdout, which the tests read.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from msatrace.testing import OTLPReceiver, ReceivedSpan
from tests import redis_server
from tests.conftest import need
from tests.integration.servers import Server, ServerPool

httpx = need("httpx")
need("celery")
need("redis")


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A private redis-server on a free 127.0.0.1 port, without persistence."""
    with redis_server.running("--appendonly", "no") as url:
        yield url


@pytest.fixture(scope="module")
def worker(servers: ServerPool, redis_url: str) -> Iterator[Server]:
    """``celery -A celery_app worker`` as a subprocess, ready to consume."""
    argv = [
        sys.executable, "-m", "celery", "-A", "celery_app", "--quiet", "worker",
        "--pool=threads", "-c", "4", "--loglevel=INFO",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", "tests@%h",
    ]  # fmt: skip
    env = servers.env("worker", {"CELERY_APP_BROKER": redis_url})
    srv = Server(argv, name="celery-worker", env=env).start()
    try:
        srv.wait_for(lambda ls: any("ready." in str(ln.get("event")) for ln in ls), timeout=60)
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def web(servers: ServerPool, redis_url: str, worker: Server) -> Server:
    """uvicorn serving ``celery_app.web:app``, which queues tasks on the same Redis."""
    return servers.uvicorn("celery_app.web:app", name="web", env={"CELERY_APP_BROKER": redis_url})


def ran(label: str) -> Any:
    """Predicate: the worker logged "task ran" for ``label``."""
    return lambda lines: any(
        ln.get("event") == "task ran" and ln.get("label") == label for ln in lines
    )


def by_kind(spans: list[ReceivedSpan], service: str, kind: str) -> list[ReceivedSpan]:
    return [s for s in spans if s.service == service and s.kind == kind]


def test_task_logs_carry_the_request_trace_id(web: Server, worker: Server) -> None:
    """The task queued by a request logs that request's trace ID and request ID."""
    since = worker.mark()

    response = httpx.post(f"{web.url}/enqueue/one", timeout=30)
    lines = worker.wait_for(ran("one"), since=since)

    (line,) = [ln for ln in lines if ln.get("event") == "task ran"]
    assert response.status_code == 202
    assert (line["trace_id"], line["request_id"], line["task"]) == (
        response.headers["x-trace-id"],
        response.headers["x-request-id"],
        "celery_app.record",
    )


def test_consumer_span_is_a_child_of_the_request_publish_span(
    web: Server, worker: Server, otlp_receiver: OTLPReceiver
) -> None:
    """Server span → PRODUCER "send" (web) → CONSUMER "process" (worker): one trace."""
    since = worker.mark()

    trace_id = httpx.post(f"{web.url}/enqueue/two", timeout=30).headers["x-trace-id"]
    worker.wait_for(ran("two"), since=since)
    spans = otlp_receiver.wait_for(
        lambda all_spans: len([s for s in all_spans if s.trace_id == trace_id]) >= 3
    )

    mine = [s for s in spans if s.trace_id == trace_id]
    (server,) = by_kind(mine, "web", "SERVER")
    (producer,) = by_kind(mine, "web", "PRODUCER")
    (consumer,) = by_kind(mine, "worker", "CONSUMER")
    assert (producer.name, producer.parent_span_id) == ("send celery_app.record", server.span_id)
    assert (consumer.name, consumer.parent_span_id) == (
        "process celery_app.record",
        producer.span_id,
    )
    assert consumer.attributes["messaging.system"] == "celery"
    assert consumer.attributes["messaging.operation.type"] == "process"
    message_id = producer.attributes["messaging.message.id"]
    assert consumer.attributes["messaging.message.id"] == message_id


def test_retried_task_keeps_the_trace_id(web: Server, worker: Server) -> None:
    """A task that fails twice and is retried logs every attempt under the request's trace ID."""
    since = worker.mark()

    trace_id = httpx.post(f"{web.url}/flaky/three", timeout=30).headers["x-trace-id"]
    # Each retry is published before Celery logs "retry:", so wait for both kinds of lines.
    lines = worker.wait_for(
        lambda ls: (
            any(ln.get("event") == "attempt" and ln.get("retries") == 2 for ln in ls)
            and len([ln for ln in ls if " retry: " in str(ln.get("event"))]) >= 2
        ),
        since=since,
    )

    attempts = [ln for ln in lines if ln.get("event") == "attempt"]
    retry_lines = [ln for ln in lines if " retry: " in str(ln.get("event"))]
    assert [(a["retries"], a["trace_id"]) for a in attempts] == [(n, trace_id) for n in range(3)]
    assert len(retry_lines) == 2
    assert {ln["trace_id"] for ln in retry_lines} == {trace_id}


def test_100_tasks_from_100_traces_each_log_their_own(web: Server, worker: Server) -> None:
    """100 requests each queue a task; each task logs the trace ID of its own request."""
    since = worker.mark()
    expected: dict[str, str] = {}

    with httpx.Client(base_url=web.url, timeout=30) as client:
        for n in range(100):
            expected[f"n{n}"] = client.post(f"/enqueue/n{n}").headers["x-trace-id"]
    lines = worker.wait_for(
        lambda ls: len({ln.get("label") for ln in ls if ln.get("event") == "task ran"}) >= 100,
        since=since,
        timeout=120,
    )

    ran_lines = [ln for ln in lines if ln.get("event") == "task ran"]
    assert len(set(expected.values())) == 100
    assert len(ran_lines) == 100
    assert {ln["label"]: ln["trace_id"] for ln in ran_lines} == expected


def test_worker_stdout_is_msatrace_json_including_celery_loggers(worker: Server) -> None:
    """Every line the running worker wrote on stdout is JSON; Celery's own loggers among them."""

    records = [r for r in worker.records() if r.stream == "stdout"]

    assert records
    assert [r.text for r in records if r.data is None] == []
    celery_lines = [r.data for r in records if r.data and r.data["logger"].startswith("celery.")]
    assert {"celery.apps.worker", "celery.worker.consumer.connection"} <= {
        d["logger"] for d in celery_lines
    }
    assert all(d["service"] == "worker" for d in celery_lines)
