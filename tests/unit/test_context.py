"""The trace context API: one source of truth for IDs, bound fields per context."""

from __future__ import annotations

import asyncio
import threading

import pytest
from opentelemetry import trace

import msatrace
import msatrace._core.trace.context
import msatrace.testing


def test_ids_are_none_outside_a_trace() -> None:
    """Outside any span there is no trace or span ID."""

    assert (msatrace.current_trace_id(), msatrace.current_span_id()) == (None, None)


def test_ids_follow_the_current_span(env: pytest.MonkeyPatch) -> None:
    """current_trace_id()/current_span_id() read OpenTelemetry's current span, nothing else."""

    msatrace.init(service_name="svc", patch="none")

    with trace.get_tracer("t").start_as_current_span("s") as span:
        sc = span.get_span_context()
        assert msatrace.current_trace_id() == f"{sc.trace_id:032x}"
        assert msatrace.current_span_id() == f"{sc.span_id:016x}"


def test_unsampled_span_still_has_ids(env: pytest.MonkeyPatch) -> None:
    """With sampling off, a trace ID still exists for logs and headers."""

    msatrace.init(service_name="svc", patch="none", sampler="always_off")

    with trace.get_tracer("t").start_as_current_span("s") as span:
        assert not span.is_recording()
        assert msatrace.current_trace_id() is not None


def test_bound_restores_previous_fields() -> None:
    """bound() adds fields for a block and restores what was there after it."""

    msatrace.bind(a=1)
    with msatrace.bound(a=2, b=3):
        inside = dict(msatrace._core.trace.context.fields())
    after = dict(msatrace._core.trace.context.fields())
    msatrace.unbind("a")

    assert inside == {"a": 2, "b": 3}
    assert after == {"a": 1}


def test_bind_in_a_thread_does_not_leak() -> None:
    """Fields bound in another thread's context never appear in this one."""

    seen: dict[str, object] = {}

    def other() -> None:
        msatrace.bind(who="thread")
        seen.update(msatrace._core.trace.context.fields())

    t = threading.Thread(target=other)
    t.start()
    t.join()

    assert seen == {"who": "thread"}
    assert "who" not in msatrace._core.trace.context.fields()


def test_asyncio_tasks_bind_independently() -> None:
    """Each asyncio task binds its own fields (200 tasks, zero bleed)."""

    async def one(i: int) -> bool:
        msatrace.bind(i=i)
        await asyncio.sleep(0)
        return msatrace._core.trace.context.fields()["i"] == i

    async def main() -> list[bool]:
        return await asyncio.gather(*(one(i) for i in range(200)))

    assert all(asyncio.run(main()))


def test_set_user_tags_the_span(env: pytest.MonkeyPatch) -> None:
    """set_user() binds user_id and sets user.id on the current span."""

    msatrace.init(service_name="svc", patch="none")

    with msatrace.testing.capture_spans() as spans:
        with trace.get_tracer("t").start_as_current_span("s"):
            msatrace.set_user(42)
        msatrace.set_user(None)

    assert spans.get_finished_spans()[0].attributes == {"user.id": "42"}
    assert "user_id" not in msatrace._core.trace.context.fields()
