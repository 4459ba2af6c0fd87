"""Per-line cost of msatrace's kinds of log line, without peers; two trees side by side.

    PYTHONPATH=src python benchmarks/log_lines.py [--rounds 15] [--number 20000]
    python benchmarks/log_lines.py --trees before=/tmp/old/src after=src [--rounds 40]

- ``event``: ``get_logger("bench").info("user logged in", user="alice", attempt=3)`` inside a
  sampled span with a request ID bound (as in a request handler);
- ``stdlib``: a standard-library record with two ``extra`` fields, bridged by msatrace;
- ``access``: one access line as ``RequestScope.end`` writes it (``access.write_access_line``,
  nothing bound but the request ID);
- ``access-bound``: the same with a field the application bound.

Lines are JSON and go to the real ``sys.stdout``, whose descriptor points at ``/dev/null``. Each
round times every kind once, in every tree; the figure is the median over rounds, in µs of
process CPU time per line. With ``--trees``, one worker process per tree (its ``PYTHONPATH``)
runs the batches in turn, the order rotated per round, and the difference to the first tree is
taken within each round: drift of a shared machine hits every tree alike.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

KINDS = ("event", "stdlib", "access", "access-bound")


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


def _worker(number: int) -> None:
    """Run batches on command (``KIND``) from stdin; answer µs per line on the real stdout."""
    report = os.fdopen(os.dup(1), "w")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    kinds = _kinds()
    for op in kinds.values():  # warm up
        for _ in range(number // 4):
            op()
    for command in sys.stdin:
        op = kinds[command.strip()]
        start = time.process_time_ns()
        for _ in range(number):
            op()
        report.write(f"{(time.process_time_ns() - start) / number / 1000}\n")
        report.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--number", type=int, default=20000)
    parser.add_argument("--trees", nargs="*", default=[], help="NAME=SRC_DIR ...")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.number)
        return
    trees = dict(tree.split("=", 1) for tree in args.trees) or {
        "this": os.environ.get("PYTHONPATH", "")
    }
    workers = {
        name: subprocess.Popen(
            [sys.executable, __file__, "--worker", "--number", str(args.number)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": os.path.abspath(src)},
        )
        for name, src in trees.items()
    }
    names = list(trees)
    results: dict[tuple[str, str], list[float]] = {}
    for r in range(args.rounds):
        for kind in KINDS:
            for name in names[r % len(names) :] + names[: r % len(names)]:
                worker = workers[name]
                assert worker.stdin is not None
                assert worker.stdout is not None
                worker.stdin.write(kind + "\n")
                worker.stdin.flush()
                results.setdefault((name, kind), []).append(float(worker.stdout.readline()))
    for worker in workers.values():
        assert worker.stdin is not None
        worker.stdin.close()
        worker.wait()
    first = names[0]
    for kind in KINDS:
        row = [f"{kind:13}"]
        for name in names:
            values = results[(name, kind)]
            row.append(f"{name} {statistics.median(values):6.2f} µs")
            if name != first:
                diffs = [v - b for v, b in zip(values, results[(first, kind)], strict=True)]
                q = statistics.quantiles(diffs, n=4)
                row[-1] += f" ({statistics.median(diffs):+.2f}, IQR {q[0]:+.2f}..{q[2]:+.2f})"
        print("   ".join(row))


if __name__ == "__main__":
    sys.exit(main())
