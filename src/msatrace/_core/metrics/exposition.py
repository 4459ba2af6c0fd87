"""Prometheus exposition of a :class:`~msatrace._core.metrics.store.Snapshot`.

The families are translated as OpenTelemetry's Prometheus exporter translates semconv metrics
(names sanitised, the unit as a suffix, ``{...}`` annotations dropped, attribute keys with
``_``, absent attributes written empty) and written by ``prometheus_client``: the text format by
default, OpenMetrics with exemplars when the scraper's ``Accept`` asks for it. msatrace writes
no exposition format itself.

The application's own ``prometheus_client`` metrics are answered beside msatrace's, as a team
that already exports a counter expects of its ``/metrics``: the default registry (with the
process and platform collectors) in one process; with a metrics directory, what
``prometheus_client``'s multi-process mode wrote there (its ``*.db`` files; msatrace's own files
there are ``.json``). A family of the application's that has the name of one of msatrace's is
left out: two families of one name would make the whole scrape invalid.

Gauges another capability owns (the health checks' status) are read at scrape time
(:class:`~msatrace._core.metrics.store.ScrapeGauge`) and written after msatrace's own families.

Imports: the standard library, ``prometheus_client`` (imported by ``build`` only when the
Prometheus exporter is chosen), ``_core.semconv``, ``_core.safety`` and this package's ``store``
and ``recorder``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    Exemplar,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder

from msatrace._core import semconv as sc
from msatrace._core.metrics.recorder import GAUGES, HISTOGRAMS
from msatrace._core.metrics.store import OVERFLOW, ScrapeGauge, Snapshot
from msatrace._core.safety import failed

_NAME = re.compile(r"[^a-zA-Z0-9:]+")
_LABEL = re.compile(r"[^a-zA-Z0-9]+")
_UNITS = {"s": "seconds", "ms": "milliseconds", "By": "bytes", "1": ""}
_OVERFLOW_LABEL = "otel_metric_overflow"


def prometheus_name(name: str) -> str:
    """The family name OpenTelemetry's Prometheus exporter gives a metric (before its unit)."""
    return _NAME.sub("_", name)


def prometheus_unit(unit: str) -> str:
    """The unit suffix the exporter appends: ``s`` is ``seconds``, ``{request}`` nothing."""
    unit = re.sub(r"{.*}", "", unit)
    return _UNITS.get(unit, _NAME.sub("_", unit).strip("_"))


def prometheus_label(key: str) -> str:
    """An attribute key as a Prometheus label name (``http.route`` is ``http_route``)."""
    return _LABEL.sub("_", key)


def _labels(
    keys: tuple[str, ...], rows: list[tuple[str, ...]]
) -> tuple[list[str], list[list[str]]]:
    """Label names (sorted, as the exporter writes them) and each row's values, "" if absent."""
    names = {prometheus_label(k) for k in keys}
    present: set[str] = set()
    dicts = []
    for row in rows:
        if row == OVERFLOW:
            d = {_OVERFLOW_LABEL: "true"}
        else:
            d = {prometheus_label(k): v for k, v in zip(keys, row, strict=False) if v}
        present.update(d)
        dicts.append(d)
    order = sorted(n for n in present if n in names or n == _OVERFLOW_LABEL)
    return order, [[d.get(n, "") for n in order] for d in dicts]


def families(
    snap: Snapshot,
    bounds: tuple[float, ...] = sc.DURATION_BUCKETS,
    resource: Mapping[str, str] | None = None,
) -> list[Metric]:
    """The Prometheus metric families of a snapshot, exemplars on the histogram buckets.

    ``resource`` (``service.name`` ...) becomes the ``target_info`` family, as the exporter
    writes the resource, so PromQL can join a service's metrics with its version.
    """
    out: list[Metric] = []
    if resource:
        info = {prometheus_label(k): v for k, v in resource.items()}
        out.append(InfoMetricFamily("target", "Target metadata", value=info))
    les = [_le(b) for b in bounds] + ["+Inf"]
    for name, (unit, keys, doc) in HISTOGRAMS.items():
        series = snap.histograms.get(name)
        if not series:
            continue
        rows = list(series)
        label_names, values = _labels(keys, rows)
        fam = HistogramMetricFamily(
            prometheus_name(name), doc, labels=label_names, unit=prometheus_unit(unit)
        )
        for row, label_values in zip(rows, values, strict=False):
            s = series[row]
            buckets: list[Any] = []
            running = 0
            for i, (le, n) in enumerate(zip(les, s.counts, strict=False)):
                running += n
                ex = s.exemplars.get(i)
                labels = _exemplar_labels(ex) if ex is not None else None
                if ex is None or labels is None:
                    buckets.append((le, running))
                else:
                    buckets.append((le, running, Exemplar(labels, ex[2], ex[3])))
            fam.add_metric(label_values, buckets, s.total)
        out.append(fam)
    for name, (unit, keys, doc) in GAUGES.items():
        gvalues = snap.gauges.get(name)
        if not gvalues:
            continue
        rows = list(gvalues)
        label_names, values = _labels(keys, rows)
        gfam = GaugeMetricFamily(
            prometheus_name(name), doc, labels=label_names, unit=prometheus_unit(unit)
        )
        for row, label_values in zip(rows, values, strict=False):
            gfam.add_metric(label_values, gvalues[row])
        out.append(gfam)
    overflowed = {k: v for k, v in snap.overflowed.items() if v}
    if overflowed:
        label = prometheus_label(sc.MSATRACE_METRIC_NAME)
        cfam = CounterMetricFamily(
            prometheus_name(sc.METRIC_OVERFLOW),
            "Measurements recorded into the overflow series past the cardinality limit.",
            labels=[label],
        )
        for name, n in sorted(overflowed.items()):
            cfam.add_metric([name], n)
        out.append(cfam)
    return out


def scrape_families(gauges: Iterable[ScrapeGauge]) -> list[Metric]:
    """The families of the gauges read at scrape time; one whose ``read`` fails is left out
    (reported once), the scrape goes on."""
    out: list[Metric] = []
    for gauge in gauges:
        try:
            rows = list(gauge.read())
        except Exception as exc:
            failed("metrics.scrape_gauge", exc)
            continue
        if not rows:
            continue
        fam = GaugeMetricFamily(
            prometheus_name(gauge.name),
            gauge.doc,
            labels=[prometheus_label(k) for k in gauge.keys],
            unit=prometheus_unit(gauge.unit),
        )
        for labels, value in rows:
            fam.add_metric(list(labels), value)
        out.append(fam)
    return out


def _le(bound: float) -> str:
    # the exporter writes f"{bound}" for each explicit boundary: 1.0 and 10.0, not 1 and 10
    return f"{float(bound)}"


def _hex(value: Any, width: int) -> str:
    return value if isinstance(value, str) else format(value, f"0{width}x")


def _exemplar_labels(ex: tuple[Any, Any, float, float]) -> dict[str, str] | None:
    """trace_id and span_id as W3C hex, or None for IDs of another shape: OpenMetrics caps an
    exemplar's labels at 128 characters, and one bad exemplar would fail the whole scrape."""
    tid, sid = _hex(ex[0], 32), _hex(ex[1], 16)
    if len(tid) != 32 or len(sid) != 16:
        return None
    return {"trace_id": tid, "span_id": sid}


class _Collector:
    """A prometheus_client collector over whatever snapshot ``source`` returns at scrape time,
    then the application's own families (those whose names msatrace did not write)."""

    def __init__(
        self,
        source: Callable[[], Snapshot],
        resource: Mapping[str, str] | None,
        gauges: Sequence[ScrapeGauge],
        application: Callable[[], list[Metric]] | None,
    ) -> None:
        self._source = source
        self._resource = resource
        self._gauges = gauges
        self._application = application

    def collect(self) -> Iterator[Metric]:
        taken = set()
        for family in families(self._source(), resource=self._resource):
            taken.add(family.name)
            yield family
        for family in scrape_families(self._gauges):
            taken.add(family.name)
            yield family
        if self._application is not None:
            yield from (f for f in self._application() if f.name not in taken)


def application_metrics(directory: str | None) -> Callable[[], list[Metric]]:
    """The application's own ``prometheus_client`` families: the default registry, or with a
    metrics directory what its multi-process mode wrote there."""

    def collect() -> list[Metric]:
        try:
            if directory:
                from prometheus_client.multiprocess import MultiProcessCollector

                return list(MultiProcessCollector(None, path=directory).collect())  # type: ignore[no-untyped-call]
            from prometheus_client import REGISTRY

            return list(REGISTRY.collect())
        except Exception as exc:  # a collector of the application's that fails
            failed("metrics.application_registry", exc)
            return []

    return collect


class Exposition:
    """Answers a scrape: the current snapshot in the format the scraper's ``Accept`` asks for,
    followed by ``application``'s families when given (see :func:`application_metrics`)."""

    def __init__(
        self,
        source: Callable[[], Snapshot],
        resource: Mapping[str, str] | None = None,
        gauges: Sequence[ScrapeGauge] = (),
        application: Callable[[], list[Metric]] | None = None,
    ) -> None:
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(_Collector(source, resource, gauges, application))

    def respond(self, accept: str | None) -> tuple[int, list[tuple[str, str]], bytes]:
        """(status, headers, body) of a ``GET`` on the metrics path."""
        encoder, content_type = choose_encoder(accept or "")
        body = encoder(self._registry)
        return 200, [("Content-Type", content_type), ("Cache-Control", "no-store")], body
