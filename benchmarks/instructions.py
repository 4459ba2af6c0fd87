"""Per-request cost in CPU instructions (callgrind), for a loaded machine where timings wander.

Instruction counts do not depend on what else the machine runs, so a change of a few hundred
instructions per request shows where a timed run (``run.py``) cannot see it. Two reports:

``requests``: for each group of ``bench_inbound`` (default: the three ``*-msatrace-unsampled``
groups), the instructions of one request through the msatrace app and through the bare app
beside it in the same process, and the difference (what msatrace adds)::

    PYTHONPATH=src /work/bvenv/bin/python benchmarks/instructions.py requests
    PYTHONPATH=src /work/bvenv/bin/python benchmarks/instructions.py requests flask-msatrace-off

``phases``: the parts of one unsampled request in the core, each called N times (the request's
begin and end, building its ``Outcome``, handing it to the sinks, the access line with and
without the event transforms (redaction), each server sink, the begin hooks)::

    PYTHONPATH=src /work/bvenv/bin/python benchmarks/instructions.py phases

The heap is frozen before the phases run (see ``_run_phases``), so a full collection does not
walk the start-up's objects inside whichever phase triggers it.

How: the script runs itself under ``valgrind --tool=callgrind --dump-before=zlib_crc32`` and
calls ``zlib.crc32`` between the phases, so each phase is one callgrind dump; a phase's total
divided by its number of calls is its cost per call. Needs valgrind (Debian: ``apt-get install
valgrind``). ``N`` (environment, default 300) is the calls per phase; a few hundred are enough,
as the counts hardly vary from run to run. One group takes about a minute and a half.
"""

from __future__ import annotations

import gc
import glob
import os
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_GROUPS = (
    "fastapi-msatrace-unsampled",
    "flask-msatrace-unsampled",
    "django-msatrace-unsampled",
)
WARM = 200


def _mark() -> None:
    zlib.crc32(b"")  # callgrind dumps its counts before each call (--dump-before=zlib_crc32)


def _run_phases(
    phases: dict[str, Callable[[], object]], repeat: int, warm: int, names_file: str
) -> None:
    """Warm each phase (``warm`` calls), then run each ``repeat`` times between two marks.

    After warming, every object alive is frozen (``gc.freeze``): a full collection then walks
    only what the phases themselves made, instead of the whole heap, whose millions of
    instructions landed in whichever phase happened to trigger it (a Flask request's figure moved
    by ~80k from run to run). The collector stays on: the young collections a request's
    allocations cause are part of its cost.
    """
    for f in phases.values():
        for _ in range(warm):
            f()
    with open(names_file, "w") as fh:
        fh.write("\n".join(phases))
    gc.collect()
    gc.freeze()
    for f in phases.values():
        _mark()
        for _ in range(repeat):
            f()
    _mark()


def _request_phases(group: str, n: int) -> dict[str, Callable[[], object]]:
    """Each phase is one batch of ``n`` requests (the harness's own loop, as run.py times it)."""
    sys.path.insert(0, HERE)
    import bench_inbound

    batches = bench_inbound.build(group)
    ms = next(k for k in batches if "bare" not in k)
    bare = next(k for k in batches if "bare" in k)
    return {"msatrace": lambda: batches[ms](n), "bare": lambda: batches[bare](n)}


def _core_phases() -> dict[str, Callable[[], object]]:
    sys.path.insert(0, HERE)
    from _setup import init_msatrace

    init_msatrace(sampler="always_off")
    from msatrace._core.lifecycle import inbound, outcome
    from msatrace._core.lifecycle.inbound import RequestFacts
    from msatrace._core.logs import builder
    from msatrace._core.trace.propagation import NO_HEADERS

    edge = inbound.active
    assert edge is not None
    route = "/orders/{order_id}"

    def facts() -> RequestFacts:
        return RequestFacts(
            method="GET",
            path="/orders/42",
            scheme="http",
            headers=NO_HEADERS,
            client_address="127.0.0.1",
            user_agent="bench/1.0",
        )

    def request() -> None:
        f = facts()
        req = edge.begin(f)
        f.route = route
        req.end(200)

    f = facts()
    f.route = route
    req = edge.begin(f)

    def build() -> outcome.Outcome:
        return outcome.Outcome.of(
            kind="server",
            name="GET /orders/{order_id}",
            start_ns=1,
            end_ns=2_000_000,
            error=None,
            span=req.span,
            sampled=False,
            trace_id=None,
            span_id=None,
            request_id=req.request_id,
            method="GET",
            route=route,
            status=200,
            request=f,
        )

    o = build()

    def access_line_untransformed() -> None:
        transforms = builder.pipeline.transforms
        builder.pipeline.transforms = ()
        try:
            outcome.write_access_line(o)
        finally:
            builder.pipeline.transforms = transforms

    phases: dict[str, Callable[[], object]] = {
        "RequestFacts": facts,
        "request (begin + end)": request,
        "Outcome.of": build,
        "deliver (all sinks)": lambda: outcome.deliver(o, edge.sinks),
        "access line without transforms": access_line_untransformed,
    }
    for sink in edge.sinks:
        phases[f"sink {sink.__name__}"] = lambda sink=sink: sink(o)
    for began in edge.begins:
        phases[f"begin hook {began.__name__}"] = lambda began=began: began(f)
    phases["(empty call)"] = lambda: None
    return phases


def _child(kind: str, group: str, n: int, names_file: str) -> None:
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the access lines, for the process's life
    if kind == "requests":
        _run_phases(_request_phases(group, n), 1, 1, names_file)  # one batch of n warms it
    else:
        _run_phases(_core_phases(), n, WARM, names_file)


def _totals(out: str) -> list[int]:
    def order(path: str) -> int:
        tail = path.rsplit(".", 1)[1]
        return int(tail) if tail.isdigit() else 0

    totals = []
    for path in sorted(glob.glob(out + "/cg.*"), key=order):
        with open(path) as fh:
            for line in fh:
                if line.startswith(("summary:", "totals:")):
                    totals.append(int(line.split()[1]))
                    break
    return totals


def _measure(kind: str, group: str, n: int) -> dict[str, float]:
    """Instructions per call of each phase (dump 0 is start-up and warming, then one per phase)."""
    with tempfile.TemporaryDirectory() as out:
        names_file = os.path.join(out, "names.txt")
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--dump-before=zlib_crc32",
                f"--callgrind-out-file={out}/cg",
                sys.executable,
                os.path.abspath(__file__),
                "--child",
                kind,
                group,
                str(n),
                names_file,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with open(names_file) as fh:
            names = fh.read().split("\n")
        totals = _totals(out)
    return {name: totals[i + 1] / n for i, name in enumerate(names)}


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        _child(argv[1], argv[2], int(argv[3]), argv[4])
        return
    n = int(os.environ.get("N", "300"))
    if argv[:1] == ["phases"]:
        for name, ir in _measure("phases", "", n).items():
            print(f"{name:40} {ir:>10,.0f}")
        return
    if argv[:1] != ["requests"]:
        sys.exit(__doc__)
    for group in argv[1:] or DEFAULT_GROUPS:
        got = _measure("requests", group, n)
        ms, bare = got["msatrace"], got["bare"]
        print(f"{group:32} msatrace {ms:>9,.0f}  bare {bare:>9,.0f}  added {ms - bare:>9,.0f}")


if __name__ == "__main__":
    main(sys.argv[1:])
