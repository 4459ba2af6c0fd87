"""Debug on error: the cost of a line kept in a request's buffer and never written.

Issue #19 asks that a buffered line that is never written cost at most a quarter of a written
one. Run directly (``PYTHONPATH=src python benchmarks/bench_debug_buffer.py [--quick]``); the
process's stdout descriptor points at ``/dev/null`` while measuring (each written line is
written and flushed, as on a container's stdout) and the table goes to stderr.

Each variant runs inside a request's context, as in a handler: a sampled span current, a
request ID bound and the request's debug mode set (``debug_on_error`` on, production, INFO), in
batches of 20 lines per "request" whose buffer is then dropped (a successful request):

- ``written``: ``log.info(...)``, one JSON line written per call.
- ``buffered``: ``log.debug(...)`` with the same fields, kept in the buffer, never written.
- ``stdlib-written`` / ``stdlib-buffered``: the same through ``logging.getLogger(...)``.
- ``below-outside``: ``log.debug(...)`` outside any request (the gated no-op).
- ``request-debug-on`` / ``request-debug-off``: one request's lifecycle (begin and end: span,
  access line to ``/dev/null``, sinks), nothing logged by the handler, with ``debug_on_error``
  on and off: what the feature adds to every request.

Rounds are interleaved (every variant once per round) and the median per line is reported.
Times are the thread's CPU time (``time.thread_time_ns``, user and system: the write to
``/dev/null`` counts), so that other processes on a shared machine do not inflate one variant
more than another.
"""

from __future__ import annotations

import gc
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable

from _setup import init_msatrace

LINES_PER_REQUEST = 20


def _setup(debug_on_error: bool) -> None:
    init_msatrace(debug_on_error=debug_on_error)


def _variants() -> dict[str, Callable[[int], int]]:
    from opentelemetry import context as otel_context
    from opentelemetry import trace

    import msatrace
    from msatrace._core import runtime
    from msatrace._core.debug import buffer
    from msatrace._core.trace import context

    _setup(debug_on_error=True)
    rt = runtime.current()
    assert rt is not None
    assert rt.tracing.tracer is not None
    span = rt.tracing.tracer.start_span("GET /orders/{order_id}", kind=trace.SpanKind.SERVER)
    log = msatrace.get_logger("bench.orders")
    std = logging.getLogger("bench.std")

    def in_request(op: Callable[[], object]) -> Callable[[int], int]:
        def batch(n: int) -> int:
            token = otel_context.attach(trace.set_span_in_context(span))
            scope = context.start_scope({"request_id": "3f1c2a9e-bench"})
            perf = time.thread_time_ns
            total = 0
            try:
                for _ in range(n // LINES_PER_REQUEST):
                    start = perf()
                    mode = buffer.enter(buffer.new_buffer())  # as a request's begin does
                    for _ in range(LINES_PER_REQUEST):
                        op()
                    buffer.leave(mode)  # a successful request: its buffer is dropped
                    total += perf() - start
            finally:
                context.end_scope(scope)
                otel_context.detach(token)
            return total

        return batch

    def plain(op: Callable[[], object]) -> Callable[[int], int]:
        def batch(n: int) -> int:
            perf = time.thread_time_ns
            start = perf()
            for _ in range(n):
                op()
            return perf() - start

        return batch

    return {
        "written": in_request(lambda: log.info("user logged in", user="alice", attempt=3)),
        "buffered": in_request(lambda: log.debug("user logged in", user="alice", attempt=3)),
        "stdlib-written": in_request(lambda: std.info("user %s logged in", "alice")),
        "stdlib-buffered": in_request(lambda: std.debug("user %s logged in", "alice")),
        "below-outside": plain(lambda: log.debug("user logged in", user="alice", attempt=3)),
    }


def _request_cost(rounds: int, n: int) -> dict[str, float]:
    """ns per request of the request lifecycle alone (begin, end: span, access line, sinks),
    with debug on error on and off, interleaved; nothing logged by the handler."""
    import msatrace
    from msatrace._core.lifecycle import inbound
    from msatrace._core.trace.propagation import HeaderBag

    def one() -> None:
        assert inbound.active is not None
        inbound.active.begin(inbound.RequestFacts("GET", "/x", "http", HeaderBag())).end(200)

    out: dict[str, list[float]] = {"request-debug-on": [], "request-debug-off": []}
    for _ in range(rounds):
        for name, on in (("request-debug-on", True), ("request-debug-off", False)):
            _setup(debug_on_error=on)
            for _ in range(n // 10):
                one()
            gc.collect()
            start = time.thread_time_ns()
            for _ in range(n):
                one()
            out[name].append((time.thread_time_ns() - start) / n)
            msatrace.shutdown()
    return {name: statistics.median(values) for name, values in out.items()}


def main() -> None:
    quick = "--quick" in sys.argv
    rounds, n = (5, 2000) if quick else (21, 10000)
    devnull = os.open(os.devnull, os.O_WRONLY)
    saved = os.dup(1)
    os.dup2(devnull, 1)
    try:
        variants = _variants()
        for batch in variants.values():  # warm up
            batch(n // 10)
        samples: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(rounds):
            for name, batch in variants.items():
                gc.collect()
                samples[name].append(batch(n) / n)
        import msatrace

        msatrace.shutdown()
        requests = _request_cost(rounds, n // 10)
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
    med = {name: statistics.median(values) for name, values in samples.items()} | requests
    print(f"{'variant':<18} {'ns (median)':>18}", file=sys.stderr)
    for name, value in med.items():
        print(f"{name:<18} {value:>18.0f}", file=sys.stderr)
    for kind in ("", "stdlib-"):
        ratio = med[f"{kind}buffered"] / med[f"{kind}written"]
        print(f"{kind or 'structlog-'}buffered / written = {ratio:.3f}", file=sys.stderr)


if __name__ == "__main__":
    main()
