"""Options: RED metrics, their Prometheus endpoint and their OTLP export.

Imports: the standard library and this package's ``parsers``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping

from msatrace._core.config import parsers as parse
from msatrace._core.config.options.option import Option, const
from msatrace._core.config.parsers import METRICS_EXPORTERS


def _metrics_default(env: Mapping[str, str]) -> str:
    # Installed but not asked for: on. Not installed and not asked for: off, rather than an
    # init() that fails for every user without the extra (asked for by name, build() says which
    # extra is missing).
    return "prometheus" if importlib.util.find_spec("prometheus_client") else "none"


OPTIONS: tuple[Option, ...] = (
    Option(
        "metrics_exporter",
        ("MSATRACE_METRICS_EXPORTER", "OTEL_METRICS_EXPORTER"),
        parse.choice(METRICS_EXPORTERS),
        _metrics_default,
        "RED metrics of requests, calls and tasks: `prometheus` (an endpoint to scrape; needs "
        "`msatrace[prometheus]`), `otlp` (sent to `otlp_metrics_endpoint` every "
        "`metrics_export_interval`; needs `msatrace[otlp]`) or `none` (nothing recorded, "
        "nothing spent).",
        "`prometheus` when `prometheus_client` is installed (`msatrace[prometheus]`), else `none`",
    ),
    Option(
        "metrics_path",
        ("MSATRACE_METRICS_PATH",),
        parse.url_path,
        const("/metrics"),
        "Path the application's middleware answers scrapes on (neither traced, logged nor "
        "measured), or `none` to serve metrics only on `metrics_port`.",
        "`/metrics`",
    ),
    Option(
        "metrics_port",
        ("MSATRACE_METRICS_PORT",),
        parse.port,
        const(None),
        "Also serve metrics on this port of their own (a small threaded server, stopped at "
        "`shutdown()`), for a service that keeps them off its public port.",
        "none",
    ),
    Option(
        "metrics_address",
        ("MSATRACE_METRICS_ADDRESS",),
        parse.text,
        const("0.0.0.0"),
        "Address the `metrics_port` server listens on.",
        "`0.0.0.0`",
    ),
    Option(
        "metrics_cardinality_limit",
        ("MSATRACE_METRICS_CARDINALITY_LIMIT",),
        parse.cardinality,
        const(2000),
        "Distinct attribute sets per metric; past it, measurements go to one series labelled "
        '`otel_metric_overflow="true"` and are counted in `msatrace_metrics_overflow_total`.',
        "`2000` (as OpenTelemetry's SDK)",
    ),
    Option(
        "metrics_dir",
        ("MSATRACE_METRICS_DIR", "PROMETHEUS_MULTIPROC_DIR"),
        parse.directory,
        const(None),
        "An existing directory shared by the worker processes of one server (gunicorn, "
        "`uvicorn --workers`): each scrape then returns the totals of all workers, live and "
        "recycled. Unset: each process counts alone.",
        "none (single process)",
    ),
)

# The OTLP export of metrics (added after the debug options).
OTLP: tuple[Option, ...] = (
    Option(
        "otlp_metrics_endpoint",
        ("MSATRACE_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"),
        parse.url,
        const(None),
        "Full URL metrics are sent to with `metrics_exporter=otlp`, used as it is; wins over "
        "`otlp_endpoint` set at the same level. The exporter reads "
        "`OTEL_EXPORTER_OTLP_METRICS_HEADERS`, `_TIMEOUT`, `_COMPRESSION` and `_CERTIFICATE` "
        "(or the general `OTEL_EXPORTER_OTLP_*` ones) itself.",
        "`otlp_endpoint` + `/v1/metrics`, else `http://localhost:4318/v1/metrics` "
        "(gRPC: `otlp_endpoint`, else `http://localhost:4317`)",
    ),
    Option(
        "metrics_export_interval",
        ("MSATRACE_METRICS_EXPORT_INTERVAL", "OTEL_METRIC_EXPORT_INTERVAL"),
        parse.export_interval,
        const(60.0),
        "Seconds between two OTLP metric exports (`metrics_exporter=otlp`); "
        "`OTEL_METRIC_EXPORT_INTERVAL` is in milliseconds, as the specification says, "
        "`MSATRACE_METRICS_EXPORT_INTERVAL` and the argument in seconds. The last export runs "
        "at `shutdown()`.",
        "`60`",
    ),
)
