"""Per-call cost of the places where msatrace once used private third-party internals.

Run ``PYTHONPATH=src python benchmarks/micro_upstream.py`` on the commit before and after a change:
each line is the best of several ``timeit`` repeats, in microseconds per call. It times the
adapters' own functions (whatever they do today), so the same script measures both sides:

- ``httpx headers``: ``msatrace.httpx``'s names + write of three trace headers into a fresh
  ``httpx.Headers`` holding a typical request's four headers (the per-hop header injection);
- ``requests headers``: the same for requests' ``CaseInsensitiveDict``;
- ``django response``: ``msatrace.django._respond`` adding X-Trace-ID and X-Request-ID to an
  ``HttpResponse`` (the per-request header setting);
- ``otel context``: ``_core.trace.context``'s attach + current + detach of one context.

The figures go in commit messages and reports, never in code comments.
"""

from __future__ import annotations

import sys
import time
import timeit
from types import SimpleNamespace
from typing import Any

N = 5_000
REPEAT = 21


def _net(run: Any, baseline: Any = None) -> float:
    """Best per-call CPU time of ``run`` minus that of ``baseline``, in µs, timed interleaved.

    CPU time rather than wall time: on a shared machine it is far less disturbed by the others.
    """
    runs, bases = [], []
    for _ in range(REPEAT):
        runs.append(timeit.timeit(run, number=N, timer=time.process_time))
        if baseline is not None:
            bases.append(timeit.timeit(baseline, number=N, timer=time.process_time))
    return (min(runs) - (min(bases) if bases else 0.0)) / N * 1e6


def httpx_headers() -> float:
    import httpx

    import msatrace.httpx as adapter

    client = adapter._CLIENT
    fresh = {
        "traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01",
        "x-trace-id": "a" * 32,
        "x-request-id": "c" * 32,
    }
    base = [
        (b"Host", b"example.org"),
        (b"Accept", b"*/*"),
        (b"Accept-Encoding", b"gzip"),
        (b"User-Agent", b"python-httpx/0.29"),
    ]

    def run() -> None:
        headers = httpx.Headers(base)
        present = client.names(headers)
        added = {n: v for n, v in fresh.items() if n not in present}
        client.write(headers, added)

    def baseline() -> None:
        httpx.Headers(base)

    return _net(run, baseline)


def requests_headers() -> float:
    from requests.structures import CaseInsensitiveDict

    import msatrace.requests as adapter

    client = adapter._CLIENT
    fresh = {
        "traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01",
        "x-trace-id": "a" * 32,
        "x-request-id": "c" * 32,
    }
    base = {
        "User-Agent": "python-requests/2.32",
        "Accept-Encoding": "gzip",
        "Accept": "*/*",
        "Connection": "keep-alive",
    }

    def run() -> None:
        headers: Any = CaseInsensitiveDict(base)
        present = client.names(headers)
        added = {n: v for n, v in fresh.items() if n not in present}
        client.write(headers, added)

    def baseline() -> None:
        CaseInsensitiveDict(base)

    return _net(run, baseline)


def django_response() -> float:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(DEBUG=False, DEFAULT_CHARSET="utf-8")
        django.setup()
    from django.http import HttpResponse

    import msatrace.django as adapter

    prop = SimpleNamespace(
        trace_key="x-trace-id",
        trace_header="X-Trace-ID",
        request_id_key="x-request-id",
        request_id_header="X-Request-ID",
        expose=None,
    )
    req = SimpleNamespace(status=None, propagation=prop, trace_id_hex="a" * 32, request_id="c" * 32)

    def run() -> None:
        response = HttpResponse(b"ok")
        adapter._respond(req, None, response, None)  # type: ignore[arg-type]

    def baseline() -> None:
        HttpResponse(b"ok")

    return _net(run, baseline)


def otel_context() -> float:
    from opentelemetry.context import Context

    from msatrace._core.trace import context

    ctx = Context({"k": 1})
    attach, current, detach = context.otel_attach, context.otel_current, context.otel_detach

    def run() -> None:
        token = attach(ctx)
        current()
        detach(token)

    return _net(run)


def main() -> None:
    for name, fn in (
        ("httpx headers", httpx_headers),
        ("requests headers", requests_headers),
        ("django response", django_response),
        ("otel context", otel_context),
    ):
        print(f"{name:18s} {fn():6.2f} µs", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
