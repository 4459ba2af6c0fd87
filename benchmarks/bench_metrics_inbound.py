"""Metrics: per-request cost of RED metrics middleware, msatrace against the peers (issue 15).

The same in-process request as ``bench_inbound.py`` (``GET /orders/42``, no server), through:

- the bare app, in every process (each variant's added cost is against the bare app of its own
  process);
- the peers a user would pick for Prometheus metrics: prometheus-fastapi-instrumentator and
  starlette-exporter (FastAPI), prometheus-flask-exporter (Flask), django-prometheus (Django),
  each with its default metrics; and OpenTelemetry's contrib instrumentation of the framework
  with a ``MeterProvider`` whose ``PrometheusMetricReader`` is attached and spans going to a
  batch processor that drops them (``*-otel-metrics``);
- msatrace with everything on (``metrics_exporter="prometheus"``: the request's span, access
  line, headers and metrics; ``*-msatrace-metrics``) and the same without metrics
  (``*-msatrace-nometrics``), so that the difference is the metrics sink's cost.

Groups that install something global run in a process of their own. Rounds are interleaved by
the harness (``_harness.run_area``). Figures: CPU µs per request, median of rounds, minus the
bare app of the same process; then the ratios the issue's targets are stated in.

Run: ``PYTHONPATH=src python benchmarks/bench_metrics_inbound.py [--quick]`` with the peers
installed (noxfile's ``BENCH_PEERS``).
"""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_inbound as inbound
from _harness import Batch, Result, run_area
from _setup import init_msatrace

# Variants that could not be built (a peer not installed), as bench_inbound's _add records them.
UNAVAILABLE = inbound.UNAVAILABLE
GROUPS = {
    "fastapi": ["peers", "otel-metrics", "msatrace-metrics", "msatrace-nometrics"],
    "flask": ["peers", "otel-metrics", "msatrace-metrics", "msatrace-nometrics"],
    "django": ["peers", "otel-metrics", "msatrace-metrics", "msatrace-nometrics"],
}


def build(group: str) -> dict[str, Batch]:
    framework, _, kind = group.partition("-")
    apps: dict[str, Any] = {}
    if framework == "django":
        inbound._django_setup()
    inbound._add(apps, f"{framework}:bare.{kind}", lambda: inbound._bare(framework))
    if kind.startswith("msatrace"):
        _init_msatrace(metrics=kind == "msatrace-metrics")
        inbound._add(apps, f"{framework}:{kind}", lambda: inbound._msatrace_app(framework))
        # the bare app beside msatrace: FastAPI's own tracing off, as msatrace turns it off
        apps[f"{framework}:bare.{kind}"] = inbound._bare_beside_msatrace(framework)
    elif kind == "otel-metrics":
        inbound._add(apps, f"{framework}:otel-metrics", lambda: _OTEL[framework]())
    elif framework == "fastapi":
        inbound._add(apps, "fastapi:prometheus-fastapi-instrumentator", _fastapi_instrumentator)
        inbound._add(apps, "fastapi:starlette-exporter", _starlette_exporter)
    elif framework == "flask":
        inbound._add(apps, "flask:prometheus-flask-exporter", _flask_exporter)
    else:
        inbound._add(apps, "django:django-prometheus", _django_prometheus)
    caller = inbound._asgi if framework == "fastapi" else inbound._wsgi
    return {name: caller(name, app) for name, app in apps.items()}


def _init_msatrace(*, metrics: bool) -> None:
    rt = init_msatrace(metrics_exporter="prometheus" if metrics else "none", drop_spans=True)
    assert (rt.metrics is not None) is metrics


# --- the peers ---


def _fastapi_instrumentator() -> Any:
    from prometheus_client import CollectorRegistry
    from prometheus_fastapi_instrumentator import Instrumentator

    app = inbound._fastapi()
    Instrumentator(registry=CollectorRegistry()).instrument(app)
    return app


def _starlette_exporter() -> Any:
    from starlette_exporter import PrometheusMiddleware

    app = inbound._fastapi()
    app.add_middleware(PrometheusMiddleware, app_name="bench", group_paths=True)
    return app


def _flask_exporter() -> Any:
    from prometheus_client import CollectorRegistry
    from prometheus_flask_exporter import PrometheusMetrics

    app = inbound._flask()
    PrometheusMetrics(app, registry=CollectorRegistry())
    return app


def _django_prometheus() -> Any:
    import django_prometheus  # noqa: F401  (ImportError: the peer is not installed)

    return inbound._django_handler(
        [
            "django_prometheus.middleware.PrometheusBeforeMiddleware",
            "django_prometheus.middleware.PrometheusAfterMiddleware",
        ]
    )


def _meter_provider() -> Any:
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.sdk.metrics import MeterProvider

    return MeterProvider(metric_readers=[PrometheusMetricReader()])


def _fastapi_otel_metrics() -> Any:
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    app = inbound._fastapi()
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=inbound._noop_provider(), meter_provider=_meter_provider()
    )
    return app


def _flask_otel_metrics() -> Any:
    from opentelemetry.instrumentation.flask import FlaskInstrumentor

    app = inbound._flask()
    FlaskInstrumentor.instrument_app(
        app, tracer_provider=inbound._noop_provider(), meter_provider=_meter_provider()
    )
    return app


def _django_otel_metrics() -> Any:
    from django.conf import settings
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    settings.MIDDLEWARE = []
    DjangoInstrumentor().instrument(
        tracer_provider=inbound._noop_provider(), meter_provider=_meter_provider()
    )
    return inbound._django_handler(list(settings.MIDDLEWARE))


_OTEL: dict[str, Callable[[], Any]] = {
    "fastapi": _fastapi_otel_metrics,
    "flask": _flask_otel_metrics,
    "django": _django_otel_metrics,
}


# --- the report ---


def added(results: dict[str, Result]) -> dict[str, float]:
    """Each variant's median over rounds of (variant - the bare app of its process), µs."""
    out: dict[str, float] = {}
    for name, res in results.items():
        framework, _, variant = name.partition(":")
        if variant.startswith("bare."):
            continue
        group = variant if variant in GROUPS[framework] else "peers"
        base = results[f"{framework}:bare.{group}"]
        diffs = [a - b for a, b in zip(res.rounds, base.rounds, strict=True)]
        out[name] = statistics.median(diffs)
    return out


def main(quick: bool) -> None:
    specs = [("bench_metrics_inbound", f"{fw}-{k}") for fw, ks in GROUPS.items() for k in ks]
    results, unavailable = run_area(
        specs, rounds=7 if quick else 21, batch_ms=20 if quick else 60, log=print
    )
    for name, why in {**UNAVAILABLE, **unavailable}.items():
        print(f"unavailable: {name}: {why}")
    costs = added(results)
    print("\nCPU µs added per request over the bare app of the same process (median of rounds)")
    for name in sorted(costs):
        print(f"  {name:48} {costs[name]:+8.1f}")
    print("\nTargets (issue 15)")
    for fw in GROUPS:
        on, off = costs.get(f"{fw}:msatrace-metrics"), costs.get(f"{fw}:msatrace-nometrics")
        otel = costs.get(f"{fw}:otel-metrics")
        if on is not None and off is not None:
            sink = on - off
            verdict = "met" if sink <= 10 else "NOT met"
            print(f"  {fw}: metrics sink {sink:+.1f} µs (target <= 10): {verdict}")
        if on is not None and otel:
            ratio = on / otel
            print(
                f"  {fw}: msatrace everything on / OTel contrib with metrics = "
                f"{on:.1f} / {otel:.1f} = {ratio:.2f} (target <= 0.33): "
                f"{'met' if ratio <= 1 / 3 else 'NOT met'}"
            )
        for name in sorted(costs):
            if (
                name.startswith(f"{fw}:")
                and on is not None
                and "msatrace" not in name
                and costs[name]
            ):
                peer = costs[name]
                print(f"  {fw}: msatrace everything on / {name.split(':')[1]} = {on / peer:.2f}")


if __name__ == "__main__":
    main("--quick" in sys.argv)
