"""The trace crosses into threads, executors and asyncio: by msatrace.wrap or by the stdlib."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from opentelemetry import trace

import msatrace
from tests.tasks.conftest import Captured

log = msatrace.get_logger("work")


@contextmanager
def request(name: str = "GET /orders") -> Iterator[str]:
    """A stand-in for a request: a current span and a bound request ID; yields the trace ID."""
    with (
        trace.get_tracer("test").start_as_current_span(name) as span,
        msatrace.bound(request_id=f"req-{name}"),
    ):
        yield f"{span.get_span_context().trace_id:032x}"


def work(label: str) -> str | None:
    log.info("working", label=label)
    return msatrace.current_trace_id()


def test_plain_thread_starts_with_an_empty_context(threads_off: Captured) -> None:
    """With propagate_threads off, a plain threading.Thread does not inherit the trace."""
    seen: list[str | None] = []

    with request():
        t = threading.Thread(target=lambda: seen.append(work("plain")))
        t.start()
        t.join()

    assert seen == [None]


def test_wrap_carries_trace_and_fields_into_a_thread(captured: Captured) -> None:
    """A thread running msatrace.wrap(fn) logs the submitting request's trace ID and fields."""
    with request() as trace_id:
        t = threading.Thread(target=msatrace.wrap(work), args=("thread",))
        t.start()
        t.join()

    (line,) = captured.logged("working")
    assert (line["trace_id"], line["request_id"], line["label"]) == (
        trace_id,
        "req-GET /orders",
        "thread",
    )


def test_wrap_runs_later_outside_the_request(captured: Captured) -> None:
    """The context is captured when wrap() is called, not when the function runs."""
    with request() as trace_id:
        later = msatrace.wrap(work)

    result = later("after")

    assert (result, msatrace.current_trace_id()) == (trace_id, None)


def test_one_wrapped_function_runs_concurrently(captured: Captured) -> None:
    """Each call gets its own copy of the captured context, so concurrent calls never collide."""
    with request() as trace_id:
        wrapped = msatrace.wrap(work)
    barrier = threading.Barrier(4)

    def call() -> str | None:
        barrier.wait()
        return wrapped("concurrent")

    with ThreadPoolExecutor(4) as pool:
        results = [f.result() for f in [pool.submit(call) for _ in range(4)]]

    assert results == [trace_id] * 4


def test_traced_executor_submit_carries_the_trace(captured: Captured) -> None:
    """TracedExecutor.submit runs the callable in the submitter's trace."""
    with ThreadPoolExecutor(2) as inner, request() as trace_id:
        result = msatrace.TracedExecutor(inner).submit(work, "submit").result()

    assert result == trace_id


def test_traced_executor_map_carries_the_trace(captured: Captured) -> None:
    """TracedExecutor.map runs every item in the caller's trace."""
    with msatrace.TracedExecutor(ThreadPoolExecutor(2)) as pool, request() as trace_id:
        results = list(pool.map(work, ["a", "b", "c"]))

    assert results == [trace_id] * 3


def test_run_in_executor_does_not_copy_the_context(threads_off: Captured) -> None:
    """With propagate_threads off, run_in_executor alone loses the trace; wrap keeps it."""

    async def main() -> tuple[str | None, str | None, str]:
        loop = asyncio.get_running_loop()
        with request() as trace_id:
            bare = await loop.run_in_executor(None, work, "bare")
            wrapped = await loop.run_in_executor(None, msatrace.wrap(work), "wrapped")
        return bare, wrapped, trace_id

    bare, wrapped, trace_id = asyncio.run(main())

    assert (bare, wrapped) == (None, trace_id)


def test_run_in_executor_with_traced_executor(captured: Captured) -> None:
    """A TracedExecutor given to run_in_executor carries the trace without wrapping each call."""

    async def main() -> tuple[str | None, str]:
        loop = asyncio.get_running_loop()
        with msatrace.TracedExecutor(ThreadPoolExecutor(2)) as pool, request() as trace_id:
            return await loop.run_in_executor(pool, work, "pool"), trace_id

    result, trace_id = asyncio.run(main())

    assert result == trace_id


def test_asyncio_to_thread_copies_the_context(captured: Captured) -> None:
    """asyncio.to_thread copies the context itself: the thread logs the request's trace."""

    async def main() -> tuple[str | None, str]:
        with request() as trace_id:
            return await asyncio.to_thread(work, "to_thread"), trace_id

    result, trace_id = asyncio.run(main())

    assert result == trace_id


def test_asyncio_create_task_copies_the_context(captured: Captured) -> None:
    """asyncio.create_task copies the context: a task outliving the block keeps its trace."""

    async def later() -> str | None:
        await asyncio.sleep(0)
        return work("task")

    async def main() -> tuple[str | None, str]:
        with request() as trace_id:
            task = asyncio.create_task(later())
        return await task, trace_id

    result, trace_id = asyncio.run(main())

    assert result == trace_id


def test_wrap_of_a_coroutine_function_applies_the_captured_trace(captured: Captured) -> None:
    """A wrapped coroutine function runs in the captured trace even when awaited elsewhere."""

    async def job() -> str | None:
        await asyncio.sleep(0)
        return work("coroutine")

    with request() as trace_id:
        wrapped = msatrace.wrap(job)

    async def main() -> tuple[str | None, str | None]:
        with request("other"):
            inside = await wrapped()
            return inside, msatrace.current_trace_id()

    inside, after = asyncio.run(main())

    assert inside == trace_id
    assert after not in (None, trace_id)


def test_200_thread_pool_submissions_never_bleed(captured: Captured) -> None:
    """200 submissions from 200 request contexts each log their own trace ID and request ID."""
    expected: dict[int, str] = {}

    with msatrace.TracedExecutor(ThreadPoolExecutor(8)) as pool:
        futures = []
        for n in range(200):
            with request(f"r{n}") as trace_id, msatrace.bound(n=n):
                expected[n] = trace_id
                futures.append(pool.submit(work, f"r{n}"))
        results = [f.result() for f in futures]

    lines = captured.logged("working")
    assert results == [expected[n] for n in range(200)]
    assert len(lines) == 200
    assert {ln["n"]: (ln["trace_id"], ln["request_id"]) for ln in lines} == {
        n: (expected[n], f"req-r{n}") for n in range(200)
    }


def test_200_asyncio_tasks_never_bleed(captured: Captured) -> None:
    """200 interleaved asyncio tasks, each created in its own request, log only their own IDs."""
    expected: dict[int, str] = {}

    async def job(n: int) -> None:
        for _ in range(3):
            await asyncio.sleep(0)  # interleave with the other 199
            log.info("step", n=n)

    async def main() -> None:
        tasks = []
        for n in range(200):
            with request(f"r{n}") as trace_id:
                expected[n] = trace_id
                tasks.append(asyncio.create_task(job(n)))
        await asyncio.gather(*tasks)

    asyncio.run(main())

    lines = captured.logged("step")
    assert len(lines) == 600
    assert all(
        (ln["trace_id"], ln["request_id"]) == (expected[ln["n"]], f"req-r{ln['n']}") for ln in lines
    )
