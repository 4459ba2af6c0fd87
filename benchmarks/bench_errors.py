"""Error tracking: what capturing and queueing one exception costs the caller, against sentry-sdk.

    python benchmarks/bench_errors.py            # about 2 minutes on a 2-core machine
    python benchmarks/bench_errors.py --quick    # about 30 seconds

The operation: raise an exception three in-app calls deep and catch it, then report it. Variants:

- ``bare``: raise and catch only (the baseline every figure is relative to);
- ``msatrace``: ``msatrace.capture_exception()`` after ``msatrace.init(notify=...)`` with a
  Slack notifier whose sends go nowhere (a local stand-in answering 200): the caller builds the
  event (exception chain, frames, source lines, fingerprint) and puts it in the inbox; redaction,
  grouping and delivery run on msatrace's thread;
- ``sentry``: ``sentry_sdk.capture_exception()`` after ``sentry_sdk.init(dsn=...)`` with a
  transport that drops the envelope (Sentry builds and serialises the event on the caller's
  thread; its HTTP transport then only hands the envelope to its worker thread). Sentry's
  defaults, local variables included.

Half the exceptions carry a new number in their message (the same bug), half are identical.
Each round times one batch per variant, in a shuffled order; the figure is the median over rounds
of (variant - bare) per operation, in microseconds, CPU time of the process (the background
threads' work included, since they compete for the same cores) and wall time of the caller.
Both SDKs run in one process, initialised once; neither patches the other's path. Writes
``benchmarks/RESULTS-errors.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import os
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))

import _report  # noqa: E402  (next to this script)

import msatrace  # noqa: E402


def checkout(order: int) -> None:
    reserve(order)


def reserve(order: int) -> None:
    charge(order)


def charge(order: int) -> None:
    raise ValueError(f"payment for order {order} declined")


def stand_in() -> str:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/hook"


def variants() -> dict[str, Callable[[int], None]]:
    import sentry_sdk
    from sentry_sdk.transport import Transport

    class Drop(Transport):
        def capture_envelope(self, envelope: object) -> None:
            pass

    msatrace.init(service_name="bench", patch="none", notify=[f"slack:{stand_in()}"])
    sentry_sdk.init(dsn="https://key@127.0.0.1/1", transport=Drop)

    def bare(i: int) -> None:
        with contextlib.suppress(ValueError):
            checkout(i if i % 2 else 7)

    def with_msatrace(i: int) -> None:
        try:
            checkout(i if i % 2 else 7)
        except ValueError:
            msatrace.capture_exception()

    def with_sentry(i: int) -> None:
        try:
            checkout(i if i % 2 else 7)
        except ValueError:
            sentry_sdk.capture_exception()

    return {"bare": bare, "msatrace": with_msatrace, "sentry": with_sentry}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds, n = (10, 300) if args.quick else (40, 500)
    ops = variants()
    for op in ops.values():  # warm-up: imports, caches, the delivery thread started
        for i in range(200):
            op(i)
    cpu: dict[str, list[float]] = {k: [] for k in ops}
    wall: dict[str, list[float]] = {k: [] for k in ops}
    load = os.getloadavg()
    for _ in range(rounds):
        order = list(ops)
        random.shuffle(order)
        for name in order:
            op = ops[name]
            c0, w0 = time.process_time_ns(), time.perf_counter_ns()
            for i in range(n):
                op(i)
            w1 = time.perf_counter_ns()
            time.sleep(0.05)  # let background threads finish this batch's work: counted in CPU
            c1 = time.process_time_ns()
            cpu[name].append((c1 - c0) / n / 1000)
            wall[name].append((w1 - w0) / n / 1000)
    msatrace.shutdown()

    def added(table: dict[str, list[float]], name: str) -> float:
        return statistics.median(a - b for a, b in zip(table[name], table["bare"], strict=True))

    import sentry_sdk

    lines = [
        "# Error tracking: capturing and queueing one exception",
        "",
        f"{_report.made_with('bench_errors.py', args.quick, load[0])}, sentry-sdk "
        f"{sentry_sdk.VERSION}. {rounds} interleaved rounds of {n} operations. Method: see the "
        "docstring of `bench_errors.py`.",
        "",
        "Microseconds added per captured exception (median over rounds of variant - bare).",
        "",
        "| variant | caller's wall time | process CPU (background threads included) |",
        "|---|---:|---:|",
    ]
    for name in ("msatrace", "sentry"):
        lines.append(f"| {name} | {added(wall, name):.1f} | {added(cpu, name):.1f} |")
    lines += [
        "",
        f"Raising and catching alone (bare): {statistics.median(wall['bare']):.1f} µs.",
        "",
    ]
    _report.write("RESULTS-errors.md", lines)


if __name__ == "__main__":
    main()
