"""Workers sharing a metrics directory: exact totals under churn, bounded files, exemplars."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msatrace._core.metrics import Metrics
from msatrace._core.metrics.multiproc import SharedDir
from msatrace._core.metrics.recorder import Recorder
from msatrace._core.metrics.store import Snapshot
from msatrace._core.semconv import METRIC_HTTP_SERVER_DURATION
from tests.conftest import need

WORKER = str(Path(__file__).with_name("mp_worker.py"))
ROOT = str(Path(__file__).parents[2])


@pytest.fixture
def metrics_dir() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="msatrace-metrics-") as d:
        yield d


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(ROOT, "src"), ROOT])
    return env


def _run(d: str, count: int, how: str) -> None:
    subprocess.run([sys.executable, WORKER, d, str(count), how], env=_env(), check=True, timeout=60)


def _start(d: str, count: int) -> subprocess.Popen[bytes]:
    p = subprocess.Popen(
        [sys.executable, WORKER, d, str(count), "stay"],
        env=_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert p.stdout is not None
    assert p.stdout.readline() == b"ready\n"
    return p


def _stop(p: subprocess.Popen[bytes]) -> None:
    assert p.stdin is not None
    assert p.stdout is not None
    p.stdin.close()
    assert p.wait(timeout=30) == 0
    p.stdout.close()


def _counts(snap: Snapshot) -> dict[str, int]:
    """Requests per route in a merged snapshot."""
    out: dict[str, int] = {}
    for key, s in snap.histograms.get(METRIC_HTTP_SERVER_DURATION, {}).items():
        out[key[3]] = out.get(key[3], 0) + sum(s.counts)
    return out


def _expected(counts: list[int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for n in counts:
        for i in range(n):
            out[f"/r{i % 5}"] = out.get(f"/r{i % 5}", 0) + 1
    return out


def test_a_scrape_returns_the_exact_totals_of_live_and_recycled_workers(metrics_dir: str) -> None:
    """Workers that stay, close, or just exit: one scrape counts each request exactly once."""
    scraper = Metrics(limit=2000, directory=metrics_dir)
    live = [_start(metrics_dir, 7), _start(metrics_dir, 11)]
    ended = [13, 17, 19, 23, 29, 31]
    previous: dict[str, int] = {}

    for i, n in enumerate(ended):
        _run(metrics_dir, n, "close" if i % 2 else "exit")
        now = _counts(scraper.collect())
        assert all(now.get(k, 0) >= v for k, v in previous.items()), "a scrape went down"
        previous = now
    during = _counts(scraper.collect())
    _stop(live[0])
    after_one_left = _counts(scraper.collect())
    _stop(live[1])
    final = _counts(scraper.collect())
    scraper.close()

    assert during == _expected([7, 11, *ended])
    assert after_one_left == during == final


def test_exemplars_survive_the_merge_of_workers(metrics_dir: str) -> None:
    """A recycled worker's exemplar is in the OpenMetrics exposition of another worker's scrape."""
    parser = need("prometheus_client.openmetrics.parser")
    _run(metrics_dir, 3, "close")
    scraper = Metrics(limit=2000, directory=metrics_dir)

    text = scraper.respond("application/openmetrics-text")[2].decode()
    scraper.close()

    families = {f.name: f for f in parser.text_string_to_metric_families(text)}
    samples = families["http_server_request_duration_seconds"].samples
    assert {s.exemplar.labels["trace_id"] for s in samples if s.exemplar} == {f"{3:032x}"}


def test_a_forked_child_does_not_count_its_parents_requests(metrics_dir: str) -> None:
    """After fork the child starts from zero under its own ID: 7 + 2 requests, not 7 + 9."""
    _run(metrics_dir, 7, "fork")
    scraper = Metrics(limit=2000, directory=metrics_dir)

    counts = _counts(scraper.collect())
    scraper.close()

    assert sum(counts.values()) == 9
    assert counts["/child"] == 2


def _worker(d: str, routes: int = 20) -> SharedDir:
    rec = Recorder(2000)
    shared = SharedDir(d, rec, 2000, interval=3600)
    for i in range(routes):
        rec.record_server(
            method="GET",
            route=f"/r{i}",
            status=200,
            scheme="http",
            error_type=None,
            duration_s=0.01,
        )
    shared.write()
    return shared


def _crash(shared: SharedDir) -> None:
    """End a worker as a kill would: its lock released, its files left where they are."""
    shared._stop.set()
    assert shared._fd is not None
    os.close(shared._fd)
    shared._fd = None


def test_500_recycled_workers_leave_files_bounded_by_the_live_ones(metrics_dir: str) -> None:
    """After 500 workers came and went (half killed), the files are those of the live ones + 2."""
    live = [_worker(metrics_dir) for _ in range(3)]

    for i in range(500):
        w = _worker(metrics_dir)
        if i % 2:
            w.close()
        else:
            _crash(w)
    scraper = Metrics(limit=2000, directory=metrics_dir)
    t0 = time.perf_counter()
    snap = scraper.collect()
    spent = (time.perf_counter() - t0) * 1000
    files = os.listdir(metrics_dir)
    print(f"\nscrape after 500 recycles: {spent:.1f} ms, {len(files)} files")
    scraper.close()
    for w in live:
        w.close()

    assert len(files) <= 2 * 4 + 2  # 3 live workers + the scraper, the archive and its lock
    assert _counts(snap) == {f"/r{i}": 503 for i in range(20)}


def test_a_file_left_behind_after_its_fold_is_not_counted_twice(metrics_dir: str) -> None:
    """A crash after the archive was written but before the worker's file was removed."""
    w = _worker(metrics_dir, routes=1)
    data = Path(metrics_dir, f"live-{w._id}.json").read_bytes()
    lock = f"live-{w._id}.lock"
    _crash(w)
    folder = _worker(metrics_dir, routes=0)  # its start folds the dead worker
    Path(metrics_dir, f"live-{w._id}.json").write_bytes(data)  # as if never removed
    Path(metrics_dir, lock).touch()

    counts = _counts(folder.collect())
    folder.close()

    assert counts == {"/r0": 1}
    assert not Path(metrics_dir, lock).exists()


OPS = st.lists(
    st.one_of(
        st.just(("start", 0, 0)),
        st.tuples(st.just("record"), st.integers(0, 5), st.integers(1, 5)),
        st.tuples(st.just("write"), st.integers(0, 5), st.just(0)),
        st.tuples(st.just("crash"), st.integers(0, 5), st.just(0)),
        st.tuples(st.just("close"), st.integers(0, 5), st.just(0)),
        st.just(("scrape", 0, 0)),
    ),
    max_size=25,
)


@settings(max_examples=40)
@given(OPS)
def test_any_history_of_workers_is_counted_exactly_once(ops: list[tuple[str, int, int]]) -> None:
    """Workers starting, recording, writing, crashing and closing in any order: every scrape
    shows exactly what was written by live workers plus what dead ones left."""
    with tempfile.TemporaryDirectory() as d:
        live: list[list[object]] = []  # [shared, recorded, written]
        dead = 0
        scraper = SharedDir(d, Recorder(2000), 2000, interval=3600)
        try:
            for op, i, n in ops:
                if op == "start":
                    live.append([SharedDir(d, Recorder(2000), 2000, interval=3600), 0, 0])
                    continue
                if op == "scrape":
                    got = sum(_counts(scraper.collect()).values())
                    assert got == dead + sum(int(w[2]) for w in live)  # type: ignore[call-overload]
                    continue
                if not live:
                    continue
                w = live[i % len(live)]
                shared = w[0]
                assert isinstance(shared, SharedDir)
                if op == "record":
                    for _ in range(n):
                        shared.recorder.record_server(
                            method="GET", route="/a", status=200, scheme="http",
                            error_type=None, duration_s=0.01,
                        )  # fmt: skip
                    w[1] = int(w[1]) + n  # type: ignore[call-overload]
                elif op == "write":
                    shared.write()
                    w[2] = w[1]
                elif op == "crash":
                    if shared._id is not None:
                        _crash(shared)
                        dead += int(w[2])  # type: ignore[call-overload]
                    else:
                        shared.close()  # never wrote: nothing on disk, so close as well
                        dead += int(w[1])  # type: ignore[call-overload]
                    live.remove(w)
                elif op == "close":
                    shared.close()
                    dead += int(w[1])  # type: ignore[call-overload]
                    live.remove(w)
            final = sum(_counts(scraper.collect()).values())
        finally:
            for w in live:
                assert isinstance(w[0], SharedDir)
                w[0].close()
            scraper.close()

    assert final == dead + sum(int(w[2]) for w in live)  # type: ignore[call-overload]
