"""The aggregation and the merge arithmetic of processes (``_core/metrics/store.py``)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from msatrace._core.metrics.store import (
    OVERFLOW,
    Gauge,
    Histogram,
    Snapshot,
    decode,
    encode,
    merge,
    snapshot,
)
from msatrace._core.semconv import DURATION_BUCKETS

KEYS = st.tuples(st.sampled_from(["GET", "POST"]), st.sampled_from(["/a", "/b", "", "/c/{id}"]))
VALUES = st.one_of(
    st.sampled_from([*DURATION_BUCKETS, 0.0]),
    st.floats(min_value=0, max_value=100, allow_nan=False, allow_infinity=False),
)
EXEMPLAR = st.one_of(st.none(), st.tuples(st.integers(1, 2**128 - 1), st.integers(1, 2**64 - 1)))
MEASUREMENT = st.tuples(KEYS, VALUES, EXEMPLAR, st.integers(-1, 1))
# measurements, each tagged with the process (0..3) that records it
Measurement = tuple[tuple[str, str], float, tuple[int, int] | None, int]
Workload = list[tuple[int, Measurement]]
WORKLOAD = st.lists(st.tuples(st.integers(0, 3), MEASUREMENT), max_size=60)


def _record(items: list[Measurement], limit: int) -> Snapshot:
    h = Histogram("h", DURATION_BUCKETS, limit)
    g = Gauge("g", limit)
    for key, value, ex, delta in items:
        h.record(key, value, ex)
        g.add(key, delta)
    return snapshot([h], [g])


def _totals(snap: Snapshot) -> tuple[list[int], float, float, int]:
    counts = [0] * (len(DURATION_BUCKETS) + 1)
    total = 0.0
    for s in snap.histograms["h"].values():
        counts = [a + b for a, b in zip(counts, s.counts, strict=True)]
        total += s.total
    return (
        counts,
        round(total, 6),
        sum(snap.gauges.get("g", {}).values()),
        len(snap.histograms["h"]),
    )


@given(WORKLOAD)
def test_merging_processes_equals_recording_in_one(workload: Workload) -> None:
    """Measurements spread over processes and merged give the counts of one process doing all."""
    procs = [_record([m for p, m in workload if p == i], 100) for i in range(4)]
    alone = _record([m for _, m in workload], 100)

    merged = Snapshot()
    for snap in procs:
        merge(merged, snap, 100)

    assert {k: s.counts for k, s in merged.histograms["h"].items()} == {
        k: s.counts for k, s in alone.histograms["h"].items()
    }
    assert _totals(merged)[1:3] == _totals(alone)[1:3]


@given(WORKLOAD, st.permutations(range(4)))
def test_merge_order_does_not_change_the_counts(workload: Workload, order: list[int]) -> None:
    """Merging the processes in any order gives the same bucket counts per attribute set."""
    procs = [_record([m for p, m in workload if p == i], 100) for i in range(4)]

    a, b = Snapshot(), Snapshot()
    for i in range(4):
        merge(a, procs[i], 100)
    for i in order:
        merge(b, procs[i], 100)

    assert {k: s.counts for k, s in a.histograms.get("h", {}).items()} == {
        k: s.counts for k, s in b.histograms.get("h", {}).items()
    }


@given(WORKLOAD, st.integers(1, 4))
def test_a_merge_past_the_cap_keeps_every_measurement(workload: Workload, limit: int) -> None:
    """Past the cap, series fold into the overflow series: nothing lost, at most cap + 1 series."""
    procs = [_record([m for p, m in workload if p == i], limit) for i in range(4)]
    alone = _record([m for _, m in workload], 10_000)

    merged = Snapshot()
    for snap in procs:
        merge(merged, snap, limit)

    assert _totals(merged)[0] == _totals(alone)[0]
    assert len(merged.histograms["h"]) <= limit + 1
    folded = sum(sum(s.counts) for k, s in merged.histograms["h"].items() if k == OVERFLOW)
    assert merged.overflowed.get("h", 0) == folded


@given(WORKLOAD)
def test_a_snapshot_survives_its_file_format(workload: Workload) -> None:
    """encode then decode gives back the same counts, sums, gauges and exemplars (as hex)."""
    snap = _record([m for _, m in workload], 100)

    back, _ = decode(encode(snap))

    assert back.gauges == snap.gauges
    assert back.overflowed == snap.overflowed
    for key, s in snap.histograms["h"].items():
        b = back.histograms["h"][key]
        assert (b.counts, b.total) == (s.counts, s.total)
        assert {i: (int(e[0], 16), int(e[1], 16), e[2]) for i, e in b.exemplars.items()} == {
            i: e[:3] for i, e in s.exemplars.items()
        }


def test_a_value_on_a_boundary_falls_in_that_bucket() -> None:
    """Buckets are ``le``: 0.005 counts in the 0.005 bucket, 0.0051 in the next."""
    h = Histogram("h", DURATION_BUCKETS, 10)

    h.record(("k",), 0.005, None)
    h.record(("k",), 0.0051, None)
    h.record(("k",), 11.0, None)

    counts = h.series[("k",)].counts
    assert (counts[0], counts[1], counts[-1], sum(counts)) == (1, 1, 1, 3)


def test_the_newest_exemplar_of_a_bucket_wins_the_merge() -> None:
    """Of two processes' exemplars in one bucket, the later one is kept."""
    older, newer = Snapshot(), Snapshot()
    h1, h2 = Histogram("h", DURATION_BUCKETS, 10), Histogram("h", DURATION_BUCKETS, 10)
    h1.record(("k",), 0.001, (1, 1))
    h2.record(("k",), 0.002, (2, 2))
    older.histograms["h"], newer.histograms["h"] = h1.copy(), h2.copy()

    merged = Snapshot()
    merge(merged, newer, 10)
    merge(merged, older, 10)

    assert merged.histograms["h"][("k",)].exemplars[0][:2] == (2, 2)


def test_a_dead_process_brings_no_gauge() -> None:
    """Merged without gauges (an archive), requests in flight of a dead worker are not counted."""
    g = Gauge("g", 10)
    g.add(("GET",), 3)
    snap = snapshot([], [g])

    archive = Snapshot()
    merge(archive, snap, 10, gauges=False)

    assert archive.gauges == {}
