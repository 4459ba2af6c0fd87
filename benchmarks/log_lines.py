"""Per-line cost of msatrace's three kinds of log line, in one process, without peers.

    PYTHONPATH=src python benchmarks/log_lines.py [--rounds 15] [--number 20000]

- ``event``: ``get_logger("bench").info("user logged in", user="alice", attempt=3)`` inside a
  sampled span with a request ID bound (as in a request handler);
- ``stdlib``: a standard-library record with two ``extra`` fields, bridged by msatrace;
- ``access``: one access line as ``RequestScope.end`` writes it (``access.write_access_line``,
  nothing bound since the request began: the known-fields path);
- ``access-bound``: the same with a field the application bound (the general path).

Lines are JSON and go to the real ``sys.stdout``, whose descriptor points at ``/dev/null``.
Each round times every kind once (rotated order); the figure is the median over rounds, in µs
of process CPU time per line. To compare two trees, run this script once per tree, interleaved
(``benchmarks/RESULTS.md`` carries the comparisons of whole requests).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable


def _kinds() -> dict[str, Callable[[], object]]:
    from opentelemetry import context as otel_context
    from opentelemetry import trace

    import msatrace
    from msatrace._core import runtime
    from msatrace._core.logs import access
    from msatrace._core.trace import context

    msatrace.init(
        service_name="bench", service_version="1.0.0", traces_exporter="none", patch="none"
    )
    rt = runtime.current()
    assert rt is not None
    assert rt.tracing.tracer is not None
    span = rt.tracing.tracer.start_span("GET /orders/{order_id}", kind=trace.SpanKind.SERVER)
    otel_context.attach(trace.set_span_in_context(span))
    context.start_scope({"request_id": "3f1c2a9ebench"})
    sc = span.get_span_context()
    ids = (format(sc.trace_id, "032x"), format(sc.span_id, "016x"))
    log = msatrace.get_logger("bench")
    std = logging.getLogger("bench.std")
    extra = {"user": "alice", "attempt": 3}

    def access_line(request_id: str | None) -> Callable[[], object]:
        def op() -> None:
            access.write_access_line(
                "msatrace.access", "info", "GET /orders/{order_id} 200", ids, request_id, "GET",
                "/orders/{order_id}", "/orders/42", 200, 0.412, "127.0.0.1", "bench/1.0",
                time.time_ns(),
            )  # fmt: skip

        return op

    def bound_access() -> None:
        with context.bound(tenant="acme"):
            access_line(None)()

    return {
        "event": lambda: log.info("user logged in", user="alice", attempt=3),
        "stdlib": lambda: std.info("user logged in", extra=extra),
        "access": access_line("3f1c2a9ebench"),
        "access-bound": bound_access,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--number", type=int, default=20000)
    args = parser.parse_args()
    report = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    kinds = _kinds()
    names = list(kinds)
    results: dict[str, list[float]] = {name: [] for name in names}
    for op in kinds.values():  # warm up
        for _ in range(args.number // 4):
            op()
    for r in range(args.rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            op = kinds[name]
            start = time.process_time_ns()
            for _ in range(args.number):
                op()
            results[name].append((time.process_time_ns() - start) / args.number / 1000)
    for name in names:
        values = sorted(results[name])
        q = statistics.quantiles(values, n=4)
        print(
            f"{name:13} {statistics.median(values):6.2f} µs  (IQR {q[0]:.2f}-{q[2]:.2f})",
            file=report,
        )
    report.flush()


if __name__ == "__main__":
    sys.exit(main())
