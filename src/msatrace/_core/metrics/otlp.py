"""OTLP export of msatrace's metrics (``metrics_exporter="otlp"``), by OpenTelemetry's exporter.

The recorder aggregates as for Prometheus; every ``metrics_export_interval`` seconds a daemon
thread turns its snapshot into the SDK's ``MetricsData`` (cumulative temporality, the semconv
names and units, the same bucket boundaries, the trace of a sampled measurement as exemplar)
and hands it to OpenTelemetry's OTLP metric exporter (HTTP/protobuf, or gRPC with
``otlp_protocol="grpc"``). The last export runs at ``close()`` (``shutdown()``). The request
path only records: no export, lock or I/O of this module runs on it. After a fork the child
starts from zero with a thread of its own (gunicorn's workers each export their own counts,
told apart by ``service.instance.id``).

Imports: the standard library, opentelemetry (SDK and exporter, loaded only when OTLP metrics
are asked for), ``msatrace.exceptions``, ``_core.safety``, ``_core.semconv`` and this package's
``recorder`` and ``store``.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
import weakref
from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricExporter,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from msatrace._core import semconv as sc
from msatrace._core.metrics.recorder import GAUGES, HISTOGRAMS, Recorder
from msatrace._core.metrics.store import OVERFLOW, Snapshot
from msatrace._core.safety import failed, warn_once
from msatrace.exceptions import ConfigError

# Attribute values the semconv types as integers (they are kept as text in a series key).
_INT_KEYS = frozenset((sc.HTTP_RESPONSE_STATUS_CODE, sc.SERVER_PORT))
_OVERFLOW_ATTRS = {"otel.metric.overflow": True}  # as the SDK marks its overflow series
_live: weakref.WeakSet[OtlpExport] = weakref.WeakSet()


def exporter(endpoint: str, protocol: str) -> MetricExporter:
    """OpenTelemetry's OTLP metric exporter for ``endpoint``; it reads the
    ``OTEL_EXPORTER_OTLP_METRICS_*`` headers, timeout, compression and certificate itself."""
    if protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (  # type: ignore[import-not-found,unused-ignore]  # optional: msatrace[otlp-grpc]
                OTLPMetricExporter as GrpcMetricExporter,
            )
        except ImportError:
            raise ConfigError(
                "metrics_exporter='otlp' with otlp_protocol='grpc': the OTLP/gRPC exporter is "
                "not installed; install 'msatrace[otlp-grpc]', or use 'http/protobuf'"
            ) from None
        return GrpcMetricExporter(  # type: ignore[no-any-return,unused-ignore]  # optional
            endpoint=endpoint, insecure=endpoint.startswith("http://")
        )
    try:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    except ImportError:
        raise ConfigError(
            "metrics_exporter='otlp': the OTLP exporter is not installed; install "
            "'msatrace[otlp]' (or metrics_exporter='prometheus' or 'none')"
        ) from None
    return OTLPMetricExporter(endpoint=endpoint)


def _attributes(keys: tuple[str, ...], row: tuple[str, ...]) -> dict[str, Any]:
    if row == OVERFLOW:
        return dict(_OVERFLOW_ATTRS)
    return {k: (int(v) if k in _INT_KEYS else v) for k, v in zip(keys, row, strict=False) if v}


def _id(value: Any) -> int:
    return value if isinstance(value, int) else int(value, 16)


def metrics_data(
    snap: Snapshot, resource: Resource, start_ns: int, now_ns: int, version: str = ""
) -> MetricsData:
    """The snapshot as the SDK's ``MetricsData``: cumulative since ``start_ns``.

    Histograms keep their bucket counts (not cumulative, as OTLP wants them) and the latest
    exemplar of each bucket; ``http.server.active_requests`` is a non-monotonic sum (an
    UpDownCounter in the semconv).
    """
    import opentelemetry.sdk.metrics as sdk_metrics

    # OpenTelemetry's SDK before 1.28 has no Exemplar: its data points carry none.
    exemplar: Any = getattr(sdk_metrics, "Exemplar", None)

    bounds = list(sc.DURATION_BUCKETS)
    out: list[Metric] = []
    for name, (unit, keys, doc) in HISTOGRAMS.items():
        series = snap.histograms.get(name)
        if not series:
            continue
        points = []
        for row, s in series.items():
            extra: dict[str, Any] = {}
            if exemplar is not None:
                extra["exemplars"] = [
                    exemplar({}, ex[2], int(ex[3] * 1e9), span_id=_id(ex[1]), trace_id=_id(ex[0]))
                    for _, ex in sorted(s.exemplars.items())
                ]
            points.append(
                HistogramDataPoint(
                    attributes=_attributes(keys, row),
                    start_time_unix_nano=start_ns,
                    time_unix_nano=now_ns,
                    count=sum(s.counts),
                    sum=s.total,
                    bucket_counts=list(s.counts),
                    explicit_bounds=bounds,
                    min=None,  # type: ignore[arg-type]  # optional in OTLP; not tracked
                    max=None,  # type: ignore[arg-type]
                    **extra,
                )
            )
        data = Histogram(points, AggregationTemporality.CUMULATIVE)
        out.append(Metric(name, doc, unit, data))
    for name, (unit, keys, doc) in GAUGES.items():
        values = snap.gauges.get(name)
        if not values:
            continue
        numbers = [
            NumberDataPoint(_attributes(keys, row), start_ns, now_ns, int(v))
            for row, v in values.items()
        ]
        out.append(Metric(name, doc, unit, Sum(numbers, AggregationTemporality.CUMULATIVE, False)))
    scope = InstrumentationScope("msatrace", version or None)
    return MetricsData([ResourceMetrics(resource, [ScopeMetrics(scope, out, "")], "")])


class OtlpExport:
    """Exports a recorder's totals every ``interval`` seconds from a daemon thread."""

    def __init__(
        self,
        recorder: Recorder,
        metric_exporter: MetricExporter,
        resource: Mapping[str, str],
        interval: float,
        version: str = "",
        bound: float = 5.0,
    ) -> None:
        self.recorder = recorder
        self.exporter = metric_exporter
        self.interval = interval
        self.bound = bound
        self.version = version
        self._attributes = dict(resource)
        self._lock = threading.Lock()  # one export at a time (the thread, close())
        self._start()
        _live.add(self)

    def _start(self) -> None:
        # service.instance.id tells the processes of one service apart (each exports its own
        # cumulative counts; the semconv's recommendation is a random UUID per process).
        attrs = {"service.instance.id": str(uuid.uuid4()), **self._attributes}
        self.resource = Resource.create(attrs)
        self.start_ns = time.time_ns()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="msatrace-metrics", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        stop = self._stop
        while not stop.wait(self.interval):
            self.export()

    def export(self) -> bool:
        """Send the totals now; False (reported once through ``safety``) if it failed."""
        with self._lock:
            try:
                data = metrics_data(
                    self.recorder.snapshot(),
                    self.resource,
                    self.start_ns,
                    time.time_ns(),
                    self.version,
                )
            except Exception as exc:
                failed("metrics.otlp", exc)
                return False
            try:
                result = self.exporter.export(data)
            except Exception as exc:  # older exporters raise a refused connection at once
                warn_once("metrics.otlp.export", "msatrace: metrics could not be exported: %s", exc)
                return False
        return getattr(result, "name", "") == "SUCCESS"

    def close(self) -> None:
        """Stop the thread, send the last totals (waiting at most ``bound`` seconds: a collector
        that is down must not hold the process's exit), shut the exporter down."""
        self._stop.set()
        deadline = time.monotonic() + self.bound
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=self.bound)
        last = threading.Thread(target=self.export, name="msatrace-metrics-last", daemon=True)
        last.start()
        last.join(timeout=max(deadline - time.monotonic(), 0.0))
        try:
            self.exporter.shutdown()
        except Exception as exc:
            failed("metrics.otlp", exc)
        _live.discard(self)

    def _after_fork(self) -> None:
        # The child has the parent's counts and no thread: start from zero, as a new instance.
        self.recorder.reset()
        self._lock = threading.Lock()
        self._start()


def _after_fork_in_child() -> None:
    for live in list(_live):
        try:
            live._after_fork()
        except Exception as exc:
            failed("metrics.otlp", exc)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
