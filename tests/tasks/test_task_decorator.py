"""@msatrace.task: a span per run, the task's name in its log lines, exceptions logged once."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

import msatrace
from tests.tasks.conftest import Captured

log = msatrace.get_logger("jobs")


class ReportError(Exception):
    """The user's own exception type."""


@msatrace.task
def send_report(user: str) -> str:
    log.info("sending report", user=user)
    return f"sent to {user}"


@msatrace.task(name="reindex")
async def reindex(n: int) -> int:
    await asyncio.sleep(0)
    log.info("reindexing", n=n)
    return n * 2


@msatrace.task
def broken() -> None:
    log.info("about to fail")
    raise ReportError("disk full")


def test_sync_task_is_a_child_span_named_after_the_function(captured: Captured) -> None:
    """A sync task's run is an INTERNAL span named after it, child of the current span."""
    with trace.get_tracer("test").start_as_current_span("request") as parent:
        result = send_report("ada")

    span = next(s for s in captured.spans.get_finished_spans() if s.name == "send_report")
    assert result == "sent to ada"
    assert span.kind is SpanKind.INTERNAL
    assert span.parent is not None
    assert (span.parent.span_id, span.context.trace_id) == (
        parent.get_span_context().span_id,
        parent.get_span_context().trace_id,
    )
    assert span.attributes is not None
    assert span.attributes["code.function.name"] == f"{__name__}.send_report"


def test_task_log_lines_carry_trace_and_task_name(captured: Captured) -> None:
    """Log lines written by a task carry its trace ID, its span ID and task=<name>."""
    with trace.get_tracer("test").start_as_current_span("request") as parent:
        send_report("ada")

    (line,) = captured.logged("sending report")
    task_span = next(s for s in captured.spans.get_finished_spans() if s.name == "send_report")
    assert (line["trace_id"], line["span_id"], line["task"]) == (
        f"{parent.get_span_context().trace_id:032x}",
        f"{task_span.context.span_id:016x}",
        "send_report",
    )


def test_async_task_with_a_given_name(captured: Captured) -> None:
    """An async task named by name= is a span of that name; its logs carry task=<name>."""

    result = asyncio.run(reindex(21))

    (span,) = [s for s in captured.spans.get_finished_spans() if s.name == "reindex"]
    (line,) = captured.logged("reindexing")
    assert result == 42
    assert (line["task"], line["trace_id"]) == ("reindex", f"{span.context.trace_id:032x}")


def test_task_outside_a_trace_starts_a_new_one(captured: Captured) -> None:
    """A task run outside any trace is the root span of a new trace."""

    send_report("bob")

    span = next(s for s in captured.spans.get_finished_spans() if s.name == "send_report")
    assert span.parent is None
    assert captured.logged("sending report")[0]["trace_id"] == f"{span.context.trace_id:032x}"


def test_task_exception_is_reraised_unchanged(captured: Captured) -> None:
    """The task's own exception object leaves the decorator, not a wrapper."""

    with pytest.raises(ReportError) as info:
        broken()

    assert (type(info.value), str(info.value), info.value.__cause__) == (
        ReportError,
        "disk full",
        None,
    )


def test_task_exception_is_logged_once_structured(captured: Captured) -> None:
    """A failing task logs one ERROR line with the exception as fields, its trace and its name."""

    with pytest.raises(ReportError):
        broken()

    errors = [e for e in captured.events if e["level"] == "error"]
    span = next(s for s in captured.spans.get_finished_spans() if s.name == "broken")
    assert len(errors) == 1
    assert errors[0]["exception"]["type"] == f"{__name__}.ReportError"
    assert errors[0]["exception"]["message"] == "disk full"
    assert (errors[0]["task"], errors[0]["trace_id"]) == (
        "broken",
        f"{span.context.trace_id:032x}",
    )


def test_task_exception_is_recorded_on_the_span(captured: Captured) -> None:
    """A failing task's span has status ERROR, error.type and an exception event."""

    with pytest.raises(ReportError):
        broken()

    span = next(s for s in captured.spans.get_finished_spans() if s.name == "broken")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == f"{__name__}.ReportError"
    assert [e.name for e in span.events] == ["exception"]


def test_task_bound_field_ends_with_the_run(captured: Captured) -> None:
    """The task's name is bound only while it runs; the caller's fields are untouched."""
    with msatrace.bound(request_id="r1"):
        send_report("ada")
        log.info("after")

    (line,) = captured.logged("after")
    assert "task" not in line
    assert captured.logged("sending report")[0]["request_id"] == "r1"


def test_task_in_a_traced_executor_is_a_child_of_the_submitter(captured: Captured) -> None:
    """Submitted through TracedExecutor, a task's span is a child of the submitting span."""
    with (
        msatrace.TracedExecutor(ThreadPoolExecutor(2)) as pool,
        trace.get_tracer("test").start_as_current_span("request") as parent,
    ):
        pool.submit(send_report, "ada").result()

    span = next(s for s in captured.spans.get_finished_spans() if s.name == "send_report")
    assert span.parent is not None
    assert span.parent.span_id == parent.get_span_context().span_id


def test_task_before_init_runs_untouched(env: pytest.MonkeyPatch) -> None:
    """Before msatrace.init() a task is just its function: same result, no trace."""

    result = send_report("ada")

    assert (result, msatrace.current_trace_id()) == ("sent to ada", None)
    assert send_report.__name__ == "send_report"
