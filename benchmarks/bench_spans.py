"""The cost of one span msatrace starts: the lean tracer against the SDK tracer, sampled and not.

    PYTHONPATH=src python benchmarks/bench_spans.py [--rounds 30] [--number 2000]

A span as a request makes it: a SERVER span with ten attributes, named and described only when
sampled, one attribute set later (the status code), then ended; the provider's processors are
the SDK's ``SynchronousMultiSpanProcessor`` with one processor that does nothing, so what is
timed is the span, not an export. The variants run interleaved (one batch each per round, the
order rotated every round) and the figure is the median over rounds, in µs per span. The same
script runs against an older tree (``PYTHONPATH=/path/to/old/src``) for a before/after.
"""

from __future__ import annotations

import argparse
import statistics
import timeit
from collections.abc import Callable
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import (
    SpanLimits,
    SpanProcessor,
    SynchronousMultiSpanProcessor,
    TracerProvider,
    sampling,
)
from opentelemetry.trace import SpanKind

from msatrace._core.spans.lean import LeanTracer, decider

ATTRIBUTES = {
    "http.request.method": "GET",
    "url.scheme": "http",
    "url.path": "/orders/42",
    "http.route": "/orders/{order_id}",
    "server.address": "api.internal",
    "server.port": 8000,
    "network.protocol.version": "1.1",
    "client.address": "10.0.0.7",
    "user_agent.original": "bench/1.0",
    "http.request.body.size": 0,
}


def _describe(subject: str) -> tuple[str, dict[str, Any]]:
    return subject, ATTRIBUTES


def _tracers(sampler: str) -> tuple[Any, Any]:
    """A lean tracer and the SDK tracer over one provider (as ``tracing.install`` builds it)."""
    limits = SpanLimits()
    processors = SynchronousMultiSpanProcessor()  # type: ignore[no-untyped-call]
    sdk_sampler = sampling.ALWAYS_ON if sampler == "always_on" else sampling.ALWAYS_OFF
    provider = TracerProvider(
        resource=Resource.create({"service.name": "bench"}),
        sampler=sdk_sampler,
        span_limits=limits,
        active_span_processor=processors,
        shutdown_on_exit=False,
    )
    provider.add_span_processor(SpanProcessor())
    lean = LeanTracer(
        provider.resource, processors, limits, decider(sampler, 1.0, 2**64), "msatrace", "1"
    )
    return lean, provider.get_tracer("msatrace", "1")


def _lean_op(tracer: Any) -> Callable[[], None]:
    def op() -> None:
        span = tracer.start_described(None, SpanKind.SERVER, _describe, "GET /orders/{id}", None)
        span.set_attribute("http.response.status_code", 200)
        span.end()

    return op


def _sdk_op(tracer: Any) -> Callable[[], None]:
    def op() -> None:
        # as tracing.describer does for an SDK tracer: describe first, then start
        name, attributes = _describe("GET /orders/{id}")
        span = tracer.start_span(name, None, SpanKind.SERVER, attributes, None)
        span.set_attribute("http.response.status_code", 200)
        span.end()

    return op


def variants() -> dict[str, Callable[[], None]]:
    lean_on, sdk_on = _tracers("always_on")
    lean_off, sdk_off = _tracers("always_off")
    return {
        "lean sampled": _lean_op(lean_on),
        "sdk sampled": _sdk_op(sdk_on),
        "lean unsampled": _lean_op(lean_off),
        "sdk unsampled": _sdk_op(sdk_off),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--number", type=int, default=2000)
    args = parser.parse_args()
    ops = variants()
    names = list(ops)
    for op in ops.values():  # warm up
        timeit.timeit(op, number=args.number)
    per_span: dict[str, list[float]] = {name: [] for name in names}
    for r in range(args.rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            seconds = timeit.timeit(ops[name], number=args.number)
            per_span[name].append(seconds / args.number * 1e6)
    for name in names:
        runs = per_span[name]
        q = statistics.quantiles(runs, n=4)
        print(f"{name:16} {statistics.median(runs):7.2f} µs/span  (IQR {q[0]:.2f}-{q[2]:.2f})")


if __name__ == "__main__":
    main()
