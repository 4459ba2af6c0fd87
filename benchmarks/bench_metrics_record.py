"""Metrics: the cost of one measurement, and of one scrape after worker churn.

Part 1 (the harness's interleaved rounds, one process per library): one HTTP server measurement
with the five semconv attributes of ``http.server.request.duration``, recorded by
``prometheus_client`` (``Histogram.labels(...).observe``, single-process and multiprocess mode,
with and without an exemplar), by the OpenTelemetry SDK (``Histogram.record`` with a
``PrometheusMetricReader`` attached), and by msatrace's recorder (``record_server``, without
and with an exemplar, plus the two ``active_requests`` updates a request makes), each with a
few hundred distinct attribute sets in rotation, as a real service has.

Part 2 (``--churn``): 500 worker processes, each recording into the shared metrics directory
and exiting, with three workers alive throughout; then the scrape time (collect and write the
text exposition) and the files left. Once for msatrace's directory, once for prometheus_client's
multiprocess mode over the same churn.

Run: ``python benchmarks/bench_metrics_record.py [--quick]`` and ``... --churn``.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _harness import Batch, run_area

GROUPS = ("prom", "prom-mp", "otel", "msatrace")
ROUTES = [f"/r{i}/{{id}}" for i in range(50)]
STATUSES = (200, 201, 404, 500)
# (method, route, status, scheme, error_type) rotated through: 200 attribute sets.
ROWS = [("GET", r, s, "http", "500" if s == 500 else "") for r in ROUTES for s in STATUSES]


def _cycle(op: Callable[[tuple[Any, ...]], object]) -> Batch:
    rows = ROWS
    k = len(rows)

    def batch(n: int) -> int:
        perf = time.perf_counter_ns
        start = perf()
        for i in range(n):
            op(rows[i % k])
        return perf() - start

    return batch


def _empty(n: int) -> int:
    # the loop alone, subtracted from the others in the report
    return _cycle(lambda row: None)(n)


def build(group: str) -> dict[str, Batch]:
    """The variants of one group (one process per group)."""
    if group in ("prom", "prom-mp"):
        if group == "prom-mp":
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bench-prom-mp-")
        from prometheus_client import CollectorRegistry, Histogram

        h = Histogram(
            "http_server_request_duration_seconds",
            "d",
            [
                "http_request_method",
                "http_route",
                "http_response_status_code",
                "url_scheme",
                "error_type",
            ],
            registry=CollectorRegistry(),
            buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10),
        )
        ex = {"trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331"}
        out = {
            f"{group}:loop": _empty,
            f"{group}:observe": _cycle(
                lambda r: h.labels(r[0], r[1], str(r[2]), r[3], r[4]).observe(0.0123)
            ),
        }
        if group == "prom":
            out[f"{group}:observe+exemplar"] = _cycle(
                lambda r: h.labels(r[0], r[1], str(r[2]), r[3], r[4]).observe(0.0123, ex)
            )
        return out
    if group == "otel":
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from opentelemetry.sdk.metrics import MeterProvider

        provider = MeterProvider(metric_readers=[PrometheusMetricReader()])
        hist = provider.get_meter("bench").create_histogram(
            "http.server.request.duration",
            unit="s",
            explicit_bucket_boundaries_advisory=[
                0.005,
                0.01,
                0.025,
                0.05,
                0.075,
                0.1,
                0.25,
                0.5,
                0.75,
                1,
                2.5,
                5,
                7.5,
                10,
            ],
        )
        return {
            "otel:loop": _empty,
            "otel:record": _cycle(
                lambda r: hist.record(
                    0.0123,
                    {
                        "http.request.method": r[0],
                        "http.route": r[1],
                        "http.response.status_code": r[2],
                        "url.scheme": r[3],
                        **({"error.type": r[4]} if r[4] else {}),
                    },
                )
            ),
        }
    from msatrace._core.metrics.recorder import Recorder

    rec = Recorder(2000)
    server = rec.record_server
    active = rec.active_requests
    tid, sid = 0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331

    def request(r: tuple[Any, ...]) -> None:
        active(1, method=r[0], scheme=r[3])
        server(
            method=r[0],
            route=r[1],
            status=r[2],
            scheme=r[3],
            error_type=r[4] or None,
            duration_s=0.0123,
            trace_id=tid,
            span_id=sid,
            sampled=True,
        )
        active(-1, method=r[0], scheme=r[3])

    return {
        "msatrace:loop": _empty,
        "msatrace:record_server": _cycle(
            lambda r: server(
                method=r[0],
                route=r[1],
                status=r[2],
                scheme=r[3],
                error_type=r[4] or None,
                duration_s=0.0123,
            )
        ),
        "msatrace:record_server+exemplar": _cycle(
            lambda r: server(
                method=r[0],
                route=r[1],
                status=r[2],
                scheme=r[3],
                error_type=r[4] or None,
                duration_s=0.0123,
                trace_id=tid,
                span_id=sid,
                sampled=True,
            )
        ),
        "msatrace:request(active+1,record,active-1)": _cycle(request),
    }


def records(quick: bool) -> None:
    specs = [("bench_metrics_record", g) for g in GROUPS]
    results, unavailable = run_area(
        specs, rounds=5 if quick else 15, batch_ms=20 if quick else 50, log=print
    )
    for name, why in unavailable.items():
        print(f"unavailable: {name}: {why}")
    loops = {
        n.split(":")[0]: statistics.median(r.rounds)
        for n, r in results.items()
        if n.endswith(":loop")
    }
    print(f"\n{'variant':50} {'µs/op (CPU, median of rounds, loop subtracted)':>10}")
    for name, r in results.items():
        if name.endswith(":loop"):
            continue
        cost = statistics.median(r.rounds) - loops[name.split(":")[0]]
        print(f"{name:50} {cost:8.2f}")


# --- part 2: churn ---

_CHILD_MSATRACE = """
import os, sys
from msatrace._core.metrics.recorder import Recorder
from msatrace._core.metrics.multiproc import SharedDir
rec = Recorder(2000)
shared = SharedDir(sys.argv[1], rec, 2000, interval=3600)
for i in range(40):
    rec.record_server(method="GET", route=f"/r{i}", status=200, scheme="http",
                      error_type=None, duration_s=0.01, trace_id=1, span_id=2, sampled=True)
if sys.argv[2] == "stay":
    shared.write()
    sys.stdout.write("ready\\n"); sys.stdout.flush()
    sys.stdin.read()
shared.close()
"""

_CHILD_PROM = """
import sys
from prometheus_client import Histogram
h = Histogram("http_server_request_duration_seconds", "d", ["http_route"])
for i in range(40):
    h.labels(f"/r{i}").observe(0.01)
if sys.argv[2] == "stay":
    sys.stdout.write("ready\\n"); sys.stdout.flush()
    sys.stdin.read()
"""


def _churn(child: str, scrape: Callable[[str], bytes], env_var: str | None, n: int) -> None:
    import subprocess

    d = tempfile.mkdtemp(prefix="bench-churn-")
    env = dict(os.environ)
    if env_var:
        env[env_var] = d
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    live = []
    for _ in range(3):
        p = subprocess.Popen(
            [sys.executable, "-c", child, d, "stay"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        assert p.stdout is not None
        p.stdout.readline()
        live.append(p)
    t0 = time.monotonic()
    for _i in range(n):
        subprocess.run([sys.executable, "-c", child, d, "go"], env=env, check=True)
    spent = time.monotonic() - t0
    scrape(d)  # the scraper's own start (imports, its registration) is not a scrape
    times = []
    body = b""
    for _ in range(20):
        t = time.perf_counter()
        body = scrape(d)
        times.append((time.perf_counter() - t) * 1000)
    files = os.listdir(d)
    size = sum(os.path.getsize(os.path.join(d, f)) for f in files)
    print(
        f"  {n} recycled workers in {spent:.0f} s, 3 alive; "
        f"files: {len(files)} ({size / 1e6:.2f} MB); "
        f"scrape: first {times[0]:.1f} ms, median {statistics.median(times):.1f} ms, "
        f"exposition {len(body)} bytes"
    )
    for p in live:
        assert p.stdin is not None
        p.stdin.close()
        p.wait()


def churn(n: int) -> None:
    from msatrace._core.metrics import Metrics

    def msatrace_scrape(d: str) -> bytes:
        m = msatrace_scrape.__dict__.setdefault("m", Metrics(limit=2000, directory=d))
        return m.respond(None)[2]

    print("msatrace (MSATRACE_METRICS_DIR):")
    _churn(_CHILD_MSATRACE, msatrace_scrape, None, n)

    def prom_scrape(d: str) -> bytes:
        from prometheus_client import CollectorRegistry, generate_latest
        from prometheus_client.multiprocess import MultiProcessCollector

        reg = CollectorRegistry()
        MultiProcessCollector(reg, path=d)
        return generate_latest(reg)

    print("prometheus_client multiprocess mode (PROMETHEUS_MULTIPROC_DIR):")
    _churn(_CHILD_PROM, prom_scrape, "PROMETHEUS_MULTIPROC_DIR", n)


if __name__ == "__main__":
    if "--churn" in sys.argv:
        churn(100 if "--quick" in sys.argv else 500)
    else:
        records("--quick" in sys.argv)
