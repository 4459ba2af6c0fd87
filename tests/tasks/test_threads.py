"""Work a request hands to a thread or a thread pool keeps its trace (``propagate_threads``).

No ``msatrace.wrap`` here: plain ``threading.Thread``, ``ThreadPoolExecutor`` and asyncio's
executor, as an application writes them. The real-server version is
``tests/integration/test_threads.py``.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from opentelemetry import trace

import msatrace
from msatrace._core import patching
from msatrace._core.config.settings import resolve
from msatrace._core.trace import threads
from tests.tasks.conftest import Captured

log = msatrace.get_logger("work")


@contextmanager
def request(name: str = "GET /orders") -> Iterator[tuple[str, int]]:
    """A stand-in for a request: a current span and a bound request ID; (trace ID, span ID)."""
    with (
        trace.get_tracer("test").start_as_current_span(name) as span,
        msatrace.bound(request_id=f"req-{name}"),
    ):
        ctx = span.get_span_context()
        yield f"{ctx.trace_id:032x}", ctx.span_id


@msatrace.task
def job(label: str) -> str | None:
    log.info("job", label=label)
    return msatrace.current_trace_id()


def run_thread(thread: threading.Thread) -> None:
    thread.start()
    thread.join()


def test_thread_runs_in_the_trace_of_the_code_that_started_it(captured: Captured) -> None:
    """A Thread started in a request logs its trace and request ID; its task span is a child."""
    with request() as (trace_id, span_id):
        run_thread(threading.Thread(target=job, args=("thread",)))

    (line,) = captured.logged("job")
    assert (line["trace_id"], line["request_id"]) == (trace_id, "req-GET /orders")
    (span,) = [s for s in captured.spans.get_finished_spans() if s.name == "job"]
    assert span.parent is not None
    assert span.parent.span_id == span_id


def test_thread_subclass_and_timer_run_in_the_trace(captured: Captured) -> None:
    """A Thread subclass with its own run(), and a threading.Timer, keep the trace too."""
    seen: list[str | None] = []

    class Worker(threading.Thread):
        def run(self) -> None:
            seen.append(job("subclass"))

    with request() as (trace_id, _):
        run_thread(Worker())
        run_thread(threading.Timer(0.001, lambda: seen.append(job("timer"))))

    assert seen == [trace_id, trace_id]


def test_thread_context_is_taken_at_start(captured: Captured) -> None:
    """The context carried is the one current at start(), not at construction."""
    seen: list[str | None] = []
    thread = threading.Thread(target=lambda: seen.append(msatrace.current_trace_id()))

    with request() as (trace_id, _):
        run_thread(thread)

    assert seen == [trace_id]


def test_thread_is_left_as_it_was(captured: Captured) -> None:
    """After the thread ends, its run attribute is the class's again, or the one the app set."""
    plain = threading.Thread(target=lambda: None)
    own = threading.Thread()
    mine = functools.partial(log.info, "own run")
    own.run = mine  # type: ignore[method-assign] # an application may do this

    with request():
        run_thread(plain)
        run_thread(own)

    assert "run" not in vars(plain)
    assert own.run is mine
    assert len(captured.logged("own run")) == 1


def test_thread_started_twice_fails_as_before(captured: Captured) -> None:
    """start() on a started thread raises Python's own RuntimeError and changes nothing."""
    thread = threading.Thread(target=lambda: None)
    run_thread(thread)

    with pytest.raises(RuntimeError, match="threads can only be started once"):
        thread.start()

    assert "run" not in vars(thread)


def test_thread_exception_reaches_the_excepthook_unchanged(
    captured: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception escaping the thread reaches threading.excepthook as the very object raised."""
    error = ValueError("boom")
    got: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: got.append(args.exc_value))

    def fail() -> None:
        raise error

    with request():
        run_thread(threading.Thread(target=fail))

    assert got == [error]


def test_pool_submit_and_map_run_in_the_submitters_trace(captured: Captured) -> None:
    """Pool submit and map: each call logs the submitter's trace; its task span is a child."""
    with ThreadPoolExecutor(2) as pool, request() as (trace_id, span_id):
        results = [pool.submit(job, "submit").result(), *pool.map(job, ["map1", "map2"])]

    assert results == [trace_id] * 3
    assert {ln["request_id"] for ln in captured.logged("job")} == {"req-GET /orders"}
    spans = [s for s in captured.spans.get_finished_spans() if s.name == "job"]
    assert [s.parent.span_id if s.parent else None for s in spans] == [span_id] * 3


def test_pool_workers_do_not_keep_the_first_submitters_context(captured: Captured) -> None:
    """A pool's worker threads belong to the pool: its initializer sees no request's trace."""
    seen: list[str | None] = []

    with (
        ThreadPoolExecutor(1, initializer=lambda: seen.append(msatrace.current_trace_id())) as pool,
        request() as (trace_id, _),
    ):
        result = pool.submit(msatrace.current_trace_id).result()

    assert (seen, result) == ([None], trace_id)


def test_asyncio_executor_and_to_thread_keep_the_trace(captured: Captured) -> None:
    """loop.run_in_executor (default executor) and asyncio.to_thread both run in the trace."""

    async def main() -> tuple[list[str | None], str]:
        loop = asyncio.get_running_loop()
        with request() as (trace_id, _):
            return [
                await loop.run_in_executor(None, job, "executor"),
                await asyncio.to_thread(job, "to_thread"),
                await loop.run_in_executor(None, msatrace.wrap(job), "wrapped"),
            ], trace_id

    results, trace_id = asyncio.run(main())

    assert results == [trace_id] * 3


def test_hundreds_of_submissions_and_threads_each_keep_their_own_trace(
    captured: Captured,
) -> None:
    """300 pool submissions and 100 threads from 400 request contexts: no line has another's IDs."""
    expected: dict[str, str] = {}
    started: list[threading.Thread] = []

    with ThreadPoolExecutor(8) as pool:
        futures = []
        for n in range(400):
            with request(f"r{n}") as (trace_id, _):
                expected[f"r{n}"] = trace_id
                if n % 4 == 3:
                    started.append(threading.Thread(target=job, args=(f"r{n}",)))
                    started[-1].start()
                else:
                    futures.append(pool.submit(job, f"r{n}"))
        for future in futures:
            future.result()
    for thread in started:
        thread.join()

    lines = captured.logged("job")
    assert sorted(ln["label"] for ln in lines) == sorted(expected)
    for ln in lines:
        assert (ln["trace_id"], ln["request_id"]) == (expected[ln["label"]], f"req-{ln['label']}")


def test_callables_that_bring_their_own_context_are_not_wrapped_again() -> None:
    """msatrace.wrap, ctx.run and partials of ctx.run (asyncio.to_thread) are left alone."""
    ctx = contextvars.copy_context()

    assert threads.carries_context(msatrace.wrap(job))
    assert threads.carries_context(ctx.run)
    assert threads.carries_context(functools.partial(ctx.run, job, "x"))
    assert not threads.carries_context(job)
    assert not threads.carries_context(functools.partial(job, "x"))


def test_switched_off_threads_and_pools_start_empty(threads_off: Captured) -> None:
    """propagate_threads=False: a thread and a pool's work start outside the request's trace."""
    seen: list[str | None] = []

    with ThreadPoolExecutor(1) as pool, request():
        run_thread(threading.Thread(target=lambda: seen.append(msatrace.current_trace_id())))
        seen.append(pool.submit(msatrace.current_trace_id).result())

    assert seen == [None, None]
    assert not patching.is_patched(threading.Thread, "start")
    assert not patching.is_patched(ThreadPoolExecutor, "submit")


def test_shutdown_restores_thread_and_pool_exactly(env: pytest.MonkeyPatch) -> None:
    """After shutdown() Thread.start and ThreadPoolExecutor.submit are the original functions."""
    start, submit = vars(threading.Thread)["start"], vars(ThreadPoolExecutor)["submit"]
    msatrace.init(patch="none")
    patched = (vars(threading.Thread)["start"], vars(ThreadPoolExecutor)["submit"])

    msatrace.shutdown()

    assert patched[0] is not start
    assert patched[1] is not submit
    assert vars(threading.Thread)["start"] is start
    assert vars(ThreadPoolExecutor)["submit"] is submit


@pytest.mark.parametrize(
    ("arguments", "variables", "expected"),
    [
        ({}, {}, True),
        ({}, {"MSATRACE_PROPAGATE_THREADS": "false"}, False),
        ({"propagate_threads": True}, {"MSATRACE_PROPAGATE_THREADS": "false"}, True),
    ],
)
def test_propagate_threads_setting(
    arguments: dict[str, Any], variables: dict[str, str], expected: bool
) -> None:
    """propagate_threads defaults to on; MSATRACE_PROPAGATE_THREADS and the keyword set it."""
    assert resolve(arguments, variables).propagate_threads is expected
