"""Metrics: RED metrics of requests, hops and tasks; their Prometheus exposition or OTLP export.

``build(settings)`` is called once by ``init()``: it returns None when metrics are off (nothing
is recorded and nothing costs), else a :class:`Metrics` (scraped, or pushed over OTLP by
``otlp``) whose ``recorder`` is the outcome step's sink (``record_server``,
``active_requests``, ``record_client``, ``record_publish``, ``record_process``,
``record_task``), whose ``respond(accept)`` answers a scrape on ``settings.metrics_path`` and
whose ``close()`` belongs in ``shutdown()``. Gauges another capability owns (``runtime`` passes
the health checks' status) are ``store.ScrapeGauge``s, read at each scrape and never recorded.
Modules: ``store`` (aggregation and the merge of processes), ``recorder`` (the sink),
``exposition`` (prometheus_client writes the formats), ``multiproc`` (the directory shared by
workers), ``server`` (the separate port), ``otlp`` (OpenTelemetry's OTLP exporter, on a timer).
A scrape also answers the application's own ``prometheus_client`` metrics
(``exposition.application_metrics``).

Imports: the standard library, orjson, ``prometheus_client``, opentelemetry's SDK and OTLP
exporter (``otlp`` only), ``msatrace.exceptions``, ``_core.config``, ``_core.safety`` and
``_core.semconv``; never spans, logs, the lifecycles or ``runtime`` (import-linter).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from msatrace._core.config.settings import Settings
from msatrace._core.metrics.recorder import Recorder
from msatrace._core.metrics.store import ScrapeGauge, Snapshot
from msatrace._core.safety import failed
from msatrace._core.semconv import DEPLOYMENT_ENVIRONMENT_NAME, SERVICE_NAME, SERVICE_VERSION
from msatrace.exceptions import ConfigError

if TYPE_CHECKING:
    from msatrace._core.metrics.exposition import Exposition
    from msatrace._core.metrics.otlp import OtlpExport


class Metrics:
    """What ``init()`` built for metrics: the recorder, the scrape answer, the port server."""

    def __init__(
        self,
        *,
        limit: int,
        directory: str | None = None,
        path: str | None = "/metrics",
        address: str = "0.0.0.0",
        port: int | None = None,
        interval: float = 1.0,
        resource: Mapping[str, str] | None = None,
        gauges: Sequence[ScrapeGauge] = (),
        application: bool = False,
        otlp: Callable[[Recorder], OtlpExport] | None = None,
    ) -> None:
        self.recorder = Recorder(limit)
        self.shared = None
        self.server = None
        self.otlp = None
        self._exposition: Exposition | None = None
        if otlp is not None:
            # OTLP instead of a scrape: no path, port or shared directory (each process
            # exports its own totals).
            self.path = None
            self.otlp = otlp(self.recorder)
            return
        try:
            from msatrace._core.metrics.exposition import Exposition, application_metrics
        except ImportError:
            raise ConfigError(
                "metrics_exporter='prometheus' needs prometheus_client: "
                "pip install 'msatrace[prometheus]' (or metrics_exporter='none')"
            ) from None
        self.path = path
        if directory:
            from msatrace._core.metrics.multiproc import SharedDir

            try:
                self.shared = SharedDir(directory, self.recorder, limit, interval)
            except OSError as exc:
                raise ConfigError(
                    f"metrics_dir={directory!r}: cannot use it as the metrics directory ({exc})"
                ) from None
        theirs = application_metrics(directory) if application else None
        self._exposition = Exposition(self.collect, resource, gauges, theirs)
        if port is not None:
            from msatrace._core.metrics.server import MetricsServer

            try:
                self.server = MetricsServer(
                    address,
                    port,
                    path or "/metrics",
                    self.respond,
                    reuse_port=directory is not None,
                )
            except OSError as exc:
                self.close()
                raise ConfigError(
                    f"metrics_port={port}: cannot listen on {address}:{port} ({exc})"
                ) from None

    def collect(self) -> Snapshot:
        """The totals a scrape shows: this process's, or every worker's in multi-process mode."""
        if self.shared is not None:
            return self.shared.collect()
        return self.recorder.snapshot()

    def respond(self, accept: str | None) -> tuple[int, list[tuple[str, str]], bytes]:
        """(status, headers, body) for a scrape; OpenMetrics when ``accept`` asks for it.

        Never raises: a failure (an unreadable metrics directory) is reported once and answered
        with a 500, which Prometheus records as a failed scrape.
        """
        try:
            if self._exposition is None:  # OTLP: nothing to scrape
                return 404, [("Content-Type", "text/plain; charset=utf-8")], b"not found\n"
            return self._exposition.respond(accept)
        except Exception as exc:
            failed("metrics.respond", exc)
            return 500, [("Content-Type", "text/plain; charset=utf-8")], b"metrics unavailable\n"

    def close(self) -> None:
        """Stop the port server; in multi-process mode, write this worker's last counts; with
        OTLP, send the last totals."""
        if self.otlp is not None:
            self.otlp.close()
            self.otlp = None
        if self.server is not None:
            self.server.close()
            self.server = None
        if self.shared is not None:
            self.shared.close()


def build(settings: Settings, gauges: Sequence[ScrapeGauge] = ()) -> Metrics | None:
    """The metrics ``settings`` ask for, or None when they are off; ``gauges`` are read at
    each scrape (``runtime`` passes the health checks' status)."""
    resource = {
        SERVICE_NAME: settings.service_name,
        SERVICE_VERSION: settings.service_version,
        DEPLOYMENT_ENVIRONMENT_NAME: settings.environment,
    }
    if settings.metrics_exporter == "otlp":
        try:
            from msatrace._core.metrics import otlp
        except ImportError:
            raise ConfigError(
                "metrics_exporter='otlp' needs the OpenTelemetry SDK and OTLP exporter: "
                "pip install 'msatrace[otlp]'"
            ) from None
        send = otlp.exporter(str(settings.otlp_metrics_endpoint), settings.otlp_protocol)
        attrs = {**settings.resource_attributes, **resource}
        return Metrics(
            limit=settings.metrics_cardinality_limit,
            otlp=lambda recorder: otlp.OtlpExport(
                recorder,
                send,
                attrs,
                settings.metrics_export_interval,
                _version(),
                settings.shutdown_timeout,
            ),
        )
    if settings.metrics_exporter != "prometheus":
        return None
    return Metrics(
        limit=settings.metrics_cardinality_limit,
        directory=settings.metrics_dir,
        path=settings.metrics_path,
        address=settings.metrics_address,
        port=settings.metrics_port,
        resource=resource,
        gauges=gauges,
        application=True,
    )


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("msatrace")
    except Exception:  # not installed (a source checkout on the path)
        return ""
