"""In-process aggregation of msatrace's metrics, and the arithmetic that merges processes.

A :class:`Histogram` keeps, per attribute set, the count of each bucket (not cumulative), the sum
and the latest exemplar of each bucket; a :class:`Gauge` keeps a value per attribute set. Both
stop at a cap of distinct attribute sets and fold what comes after into one overflow series, as
OpenTelemetry's SDK does (``otel.metric.overflow``), counting what they folded.

A :class:`Snapshot` is a copy of every instrument's state, plain data that crosses processes as
JSON (``encode`` / ``decode``); :func:`merge` adds one into another. Only this module knows the
layout of a series.

Imports: the standard library and orjson.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

# The key of the one series that takes every attribute set past the cap.
OVERFLOW: tuple[str, ...] = ("\x00overflow",)


@dataclass(frozen=True)
class ScrapeGauge:
    """A gauge another capability owns (the health checks), read when a scrape asks for it.

    ``read`` returns the rows, each (label values in ``keys``' order, value); it runs in the
    scraping thread, never on a request's path. Not merged across processes: the process that
    answers the scrape reports its own view.
    """

    name: str
    unit: str
    keys: tuple[str, ...]
    doc: str
    read: Callable[[], Iterable[tuple[tuple[str, ...], float]]]


# An exemplar: trace ID, span ID (ints or hex strings, formatted at exposition), value, time.
Exemplar = tuple[Any, Any, float, float]


@dataclass
class Series:
    """One attribute set of a histogram: bucket counts (the last is +Inf), sum, exemplars."""

    counts: list[int]
    total: float = 0.0
    exemplars: dict[int, Exemplar] = field(default_factory=dict)


class Histogram:
    """A histogram with fixed bucket boundaries (``le`` semantics) and a series cap."""

    def __init__(self, name: str, bounds: tuple[float, ...], limit: int) -> None:
        self.name = name
        self.bounds = bounds
        self.limit = limit
        self.series: dict[tuple[str, ...], Series] = {}
        self.overflowed = 0
        self._lock = threading.Lock()

    def record(self, key: tuple[str, ...], value: float, exemplar: tuple[Any, Any] | None) -> None:
        """Add one measurement; ``exemplar`` is (trace_id, span_id) of a sampled span or None."""
        i = bisect_left(self.bounds, value)  # value == bound falls in that bound's bucket (le)
        with self._lock:
            s = self.series.get(key)
            if s is None:
                if len(self.series) >= self.limit:
                    self.overflowed += 1
                    key = OVERFLOW
                    s = self.series.get(key)
                if s is None:
                    s = self.series[key] = Series([0] * (len(self.bounds) + 1))
            s.counts[i] += 1
            s.total += value
            if exemplar is not None:
                s.exemplars[i] = (exemplar[0], exemplar[1], value, time.time())

    def copy(self) -> dict[tuple[str, ...], Series]:
        with self._lock:
            return {
                k: Series(list(s.counts), s.total, dict(s.exemplars))
                for k, s in self.series.items()
            }


class Gauge:
    """A value per attribute set that goes up and down (in-flight requests), with a cap."""

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = limit
        self.values: dict[tuple[str, ...], float] = {}
        self.overflowed = 0
        self._lock = threading.Lock()

    def add(self, key: tuple[str, ...], delta: float) -> None:
        with self._lock:
            values = self.values
            value = values.get(key)
            if value is None:
                if len(values) >= self.limit:
                    self.overflowed += 1
                    key = OVERFLOW
                value = values.get(key, 0.0)
            values[key] = value + delta

    def copy(self) -> dict[tuple[str, ...], float]:
        with self._lock:
            return dict(self.values)


@dataclass
class Snapshot:
    """Every instrument's state at one moment: what a process writes and a scrape merges."""

    histograms: dict[str, dict[tuple[str, ...], Series]] = field(default_factory=dict)
    gauges: dict[str, dict[tuple[str, ...], float]] = field(default_factory=dict)
    overflowed: dict[str, int] = field(default_factory=dict)


def snapshot(histograms: Iterable[Histogram], gauges: Iterable[Gauge]) -> Snapshot:
    """Copy the instruments' state (each under its own lock)."""
    snap = Snapshot()
    for h in histograms:
        snap.histograms[h.name] = h.copy()
        snap.overflowed[h.name] = h.overflowed
    for g in gauges:
        snap.gauges[g.name] = g.copy()
        snap.overflowed[g.name] = g.overflowed
    return snap


def merge(into: Snapshot, other: Snapshot, limit: int, *, gauges: bool = True) -> None:
    """Add ``other`` into ``into``: counts and sums add, the newest exemplar of a bucket wins.

    Gauges are taken only with ``gauges=True``: a dead process has no request in flight, so its
    archive keeps none. Past ``limit`` attribute sets per metric, the rest is folded into the
    overflow series and counted, so merging many processes keeps the same bound as one.
    """
    for name, series in other.histograms.items():
        mine = into.histograms.setdefault(name, {})
        for key, s in series.items():
            m = mine.get(key)
            if m is None:
                if len(mine) >= limit and key != OVERFLOW:
                    into.overflowed[name] = into.overflowed.get(name, 0) + sum(s.counts)
                    key = OVERFLOW
                    m = mine.get(key)
                if m is None:
                    mine[key] = Series(list(s.counts), s.total, dict(s.exemplars))
                    continue
            if len(m.counts) != len(s.counts):
                raise ValueError(f"{name}: bucket layouts differ")
            m.counts = [a + b for a, b in zip(m.counts, s.counts, strict=False)]
            m.total += s.total
            for i, ex in s.exemplars.items():
                if i not in m.exemplars or m.exemplars[i][3] <= ex[3]:
                    m.exemplars[i] = ex
    if gauges:
        for name, values in other.gauges.items():
            mine_g = into.gauges.setdefault(name, {})
            for key, v in values.items():
                if key not in mine_g and len(mine_g) >= limit and key != OVERFLOW:
                    into.overflowed[name] = into.overflowed.get(name, 0) + 1
                    key = OVERFLOW
                mine_g[key] = mine_g.get(key, 0.0) + v
    for name, n in other.overflowed.items():
        into.overflowed[name] = into.overflowed.get(name, 0) + n


def _hex(value: Any, width: int) -> str:
    return value if isinstance(value, str) else format(value, f"0{width}x")


def encode(snap: Snapshot, **extra: Any) -> bytes:
    """The snapshot as JSON (exemplar IDs as hex text); ``extra`` keys are stored beside it."""
    doc: dict[str, Any] = {
        "v": 1,
        "h": {
            name: [
                [
                    list(k),
                    s.counts,
                    s.total,
                    [
                        [i, _hex(e[0], 32), _hex(e[1], 16), e[2], e[3]]
                        for i, e in s.exemplars.items()
                    ],
                ]
                for k, s in series.items()
            ]
            for name, series in snap.histograms.items()
        },
        "g": {name: [[list(k), v] for k, v in vals.items()] for name, vals in snap.gauges.items()},
        "o": snap.overflowed,
    }
    doc.update(extra)
    return orjson.dumps(doc)


def decode(data: bytes) -> tuple[Snapshot, dict[str, Any]]:
    """The snapshot ``encode`` wrote, and the whole document (for its extra keys)."""
    doc = orjson.loads(data)
    if doc.get("v") != 1:
        raise ValueError(f"unknown metrics file version {doc.get('v')!r}")
    snap = Snapshot()
    for name, rows in doc["h"].items():
        snap.histograms[name] = {
            tuple(k): Series(list(c), float(t), {int(e[0]): (e[1], e[2], e[3], e[4]) for e in ex})
            for k, c, t, ex in rows
        }
    for name, rows in doc["g"].items():
        snap.gauges[name] = {tuple(k): float(v) for k, v in rows}
    snap.overflowed = {k: int(v) for k, v in doc["o"].items()}
    return snap, doc
