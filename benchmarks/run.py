"""Run every benchmark and write benchmarks/RESULTS.md.

    python benchmarks/run.py            # full run, about 8-12 minutes on a 2-core machine
    python benchmarks/run.py --quick    # fewer rounds, about 1-2 minutes
    python benchmarks/run.py --only logging,outbound

Areas: logging (``bench_logging.py``), inbound per framework (``bench_inbound.py``), outbound
(``bench_outbound.py``). The method (workers, interleaved rounds, statistics) is described in
``_harness.py`` and repeated in the report.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_inbound
import bench_outbound
from _harness import HERE, Result, paired_added, run_area

PACKAGES = [
    "msatrace", "structlog", "orjson", "opentelemetry-api", "opentelemetry-sdk",
    "fastapi", "starlette", "flask", "werkzeug", "django", "httpx", "requests", "urllib3",
    "asgi-correlation-id", "django-guid", "django-structlog", "sentry-sdk",
    "opentelemetry-instrumentation-fastapi", "opentelemetry-instrumentation-flask",
    "opentelemetry-instrumentation-django", "opentelemetry-instrumentation-requests",
    "opentelemetry-instrumentation-httpx", "python-json-logger", "loguru",
]  # fmt: skip


@dataclass
class Mode:
    """Rounds, batch length and time budget (seconds of rounds) per area."""

    name: str
    logging: tuple[int, float, float]
    inbound: tuple[int, float, float]  # per framework
    outbound: tuple[int, float, float]
    processes: int  # processes per replicated inbound group (bench_inbound.REPLICATED)


FULL = Mode("full", (100, 25, 45), (80, 20, 120), (200, 30, 120), 3)
QUICK = Mode("quick", (15, 15, 8), (12, 20, 12), (25, 25, 15), 1)


@dataclass
class Area:
    title: str
    results: dict[str, Result]
    unavailable: dict[str, str]
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    seconds: float
    notes: list[str] = field(default_factory=list)


def log(msg: str) -> None:
    print(msg, flush=True)


def measure(
    title: str, specs: list[tuple[str, str]], plan: tuple[int, float, float], **kw: object
) -> Area:
    rounds, batch_ms, budget = plan
    log(f"{title}:")
    load = os.getloadavg()
    t0 = time.monotonic()
    results, unavailable = run_area(specs, rounds, batch_ms, log, budget_s=budget, **kw)  # type: ignore[arg-type]
    return Area(title, results, unavailable, load, os.getloadavg(), time.monotonic() - t0)


def run_outbound(plan: tuple[int, float, float]) -> Area:
    server = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "_http_server.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = server.stdout.readline().strip()
        specs = [("bench_outbound", g) for g in bench_outbound.GROUPS]
        url = f"http://127.0.0.1:{port}/orders/42"
        return measure("outbound", specs, plan, env={"BENCH_URL": url})
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=10)


# --- the report ---


def fmt(x: float) -> str:
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def signed(x: float) -> str:
    return ("+" if x >= 0 else "") + fmt(x)


def table(rows: list[list[str]], header: list[str]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def subset(area: Area, prefix: str) -> dict[str, Result]:
    return {k: v for k, v in area.results.items() if k.startswith(prefix + ":")}


def short(name: str) -> str:
    return name.split(":", 1)[1]


def time_table(results: dict[str, Result], base: str) -> list[str]:
    """Median µs/op, spread, and ratio to ``base`` and to every other variant (time ratios)."""
    names = sorted(results, key=lambda k: results[k].median)
    rows = []
    for k in names:
        r = results[k]
        rows.append(
            [
                f"`{short(k)}`",
                fmt(r.median),
                f"{fmt(r.q1)}-{fmt(r.q3)}",
                f"{fmt(min(r.rounds))}-{fmt(max(r.rounds))}",
                f"{r.median / results[base].median:.2f}x" if base in results else "n/a",
                fmt(r.wall_median),
                str(len(r.rounds)),
                str(r.n),
            ]
        )
    head = [
        "variant", "CPU µs/op (median)", "IQR", "min-max", f"x {short(base)}", "wall µs/op",
        "rounds", "ops/round",
    ]  # fmt: skip
    return table(rows, head)


def matrix(values: dict[str, float], caption: str) -> list[str]:
    """Row ÷ column for every pair."""
    names = sorted(values, key=lambda k: values[k])
    rows = []
    for a in names:
        cells = []
        for b in names:
            cells.append("—" if a == b or values[b] <= 0 else f"{values[a] / values[b]:.2f}")
        rows.append([f"`{short(a)}`", *cells])
    return [caption, "", *table(rows, ["row ÷ column", *(f"`{short(b)}`" for b in names)])]


def added_table(results: dict[str, Result], base: str) -> tuple[list[str], dict[str, float]]:
    """Per variant: median µs/op and the added cost over ``base`` (median of per-round diffs)."""
    names = sorted(results, key=lambda k: results[k].median)
    rows, added = [], {}
    for k in names:
        r = results[k]
        a, lo, hi = paired_added(r, results[base])
        if k != base:
            added[k] = a
        rows.append(
            [
                f"`{short(k)}`",
                fmt(r.median),
                f"{fmt(r.q1)}-{fmt(r.q3)}",
                "—" if k == base else signed(a),
                "—" if k == base else f"{fmt(lo)}-{fmt(hi)}",
                f"{r.median / results[base].median:.2f}x",
                fmt(r.wall_median),
                "—" if k == base else signed(r.wall_median - results[base].wall_median),
                str(len(r.rounds)),
                str(r.n),
            ]
        )
    head = [
        "variant", "CPU µs/op (median)", "IQR", "added CPU µs", "added IQR", f"x {short(base)}",
        "wall µs/op", "added wall µs", "rounds", "ops/round",
    ]  # fmt: skip
    return table(rows, head), added


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**not met**")


def machine() -> list[str]:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = []
    for p in PACKAGES:
        try:
            versions.append(f"{p} {importlib.metadata.version(p)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{p} (not installed)")
    return [
        f"- CPU: {cpu}, {os.cpu_count()} logical cores ({platform.machine()})",
        f"- OS: {platform.platform()}",
        f"- Python: {sys.version.split()[0]} ({platform.python_implementation()})",
        f"- Packages: {', '.join(versions)}",
    ]


METHOD = """\
- **What is timed.** Each batch is timed twice: the **CPU time of the worker process**
  (`time.process_time_ns`: every thread of it, user and system, so a batch span processor's
  export thread counts too) and wall-clock. CPU time is the primary figure (tables, ratios,
  targets): it is what the instrumentation costs the service, and it does not count the time
  the process waits for a core, which on a shared 2-core machine with other work running
  inflates wall-clock figures several times over. On an idle machine the two agree for the
  in-process areas; for outbound, wall-clock also contains the server's and the kernel's time.
- **Workers and rounds.** Each area starts its worker processes; each worker builds its
  variants, warms each one up (at least 0.4 s, until timings settle) and calibrates how many
  operations make one batch. Then the parent runs *rounds*: in every round each variant runs
  one batch, one worker at a time, in an order rotated by one position per round, so drift of
  a shared 2-core machine hits every variant alike. A variant's figure is the **median over
  rounds** of its per-round µs/op; the spread is the IQR (and min-max) of those per-round
  values. **Added µs** is the median over rounds of (variant - bare) in the same round.
- **Same process where possible.** Variants that patch nothing global share one worker
  (logging: all; inbound: bare, asgi-correlation-id, OpenTelemetry contrib (instrument_app with
  its own provider), FastAPI's built-in tracing (`telemetry={"tracer_provider": ...}`), Flask
  OpenTelemetry, django-guid and Django OpenTelemetry (each Django handler built with its own
  MIDDLEWARE list)). Variants that patch globally run in their own worker: every msatrace mode
  (`msatrace.init()` per process), sentry-sdk (patches the frameworks), django-structlog
  (configures structlog globally), and every outbound variant (client patches are global). The
  parent still interleaves their rounds with the others (each worker runs one batch on command).
- **Several processes per group, same-process baselines (inbound).** Two processes running the
  same code differ by up to ~1.5 µs per request (memory layout, hash seed), as much as some
  targets' margins. So the peers' group and each msatrace group run in 3 processes (full mode),
  each msatrace process also runs the bare app beside msatrace's (FastAPI's own tracing off
  there, as `msatrace.fastapi` turns it off), every variant's added cost is taken against the
  bare app in its own process, and the **median over the processes** decides the targets
  (asgi-correlation-id's too). The first table of each framework shows one process of each
  group against the peers' bare app, as before.
- **Sinks.** Every worker's stdout descriptor points at `/dev/null`: log lines are written and
  flushed through the real `sys.stdout`, as on a container's stdout. Spans go to an SDK
  `TracerProvider` with a `BatchSpanProcessor` whose exporter drops every batch (no network),
  for msatrace and OpenTelemetry alike. Sentry gets a `Transport` that drops every envelope.
- **Inbound.** `GET /orders/42` (route with a path parameter, JSON `{"id": 42}`), no incoming
  trace headers, called in process: ASGI apps awaited with a fresh scope, WSGI apps called
  with a fresh environ, body iterated and closed. Each variant's first response is checked
  (status 200; msatrace's carries `X-Trace-ID`). msatrace's `full`, `not sampled` and `off`
  variants are the set-up the inbound targets were set for: the SERVER span (sampled, not
  sampled, tracing off), the access line with redaction on (the privacy issue asks for the
  targets to hold with it), the response headers; RED metrics and debug on error are off there,
  because each is measured against a budget of its own (`RESULTS-metrics.md`: the metrics sink
  ≤ +10 µs per request; `RESULTS-debug.md`). `defaults` is `msatrace.init()` as shipped, with
  everything on: the price a service pays without choosing.
- **Outbound.** `requests.Session().get` and `httpx.Client().get` (reused, keep-alive) to a small
  asyncio HTTP server in another process on 127.0.0.1, inside an active server span. The server
  reports whether `traceparent` arrived; patched variants are checked to send it. Every variant
  runs with the `httpx` logger at WARNING (msatrace via `log_levels={"httpx": "WARNING"}`, the
  others by setting the logger's level): `msatrace.init()` sets the root logger to INFO, which
  would let httpx write its own `HTTP Request: ...` line through msatrace's JSON bridge on every
  call while the other variants log nothing, a logging cost rather than an instrumentation one
  (its size is reported with the outbound figures). `unpatched+headers` is the unpatched client
  given `traceparent`, `X-Trace-ID` and `X-Request-ID` by the caller on every call: what putting
  three headers on the wire costs with that client, shown for scale; "added" stays relative to
  `unpatched`.
"""


def report(areas: list[Area], mode: Mode, started: str, total: float) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Generated by `nox -s bench{' -- --quick' if mode.name == 'quick' else ''}` "
        f"(`python benchmarks/run.py{' --quick' if mode.name == 'quick' else ''}`) on {started} "
        f"UTC, {mode.name} mode, {total:.0f} s in all. Lower is better; µs are per operation "
        "(log event, request or call). Regenerate, do not edit by hand.",
        "",
        "## Machine",
        "",
        *machine(),
        "- Load average (1/5/15 min) before → after each area: "
        + "; ".join(
            f"{a.title} {'/'.join(f'{x:.1f}' for x in a.load_before)} → "
            f"{'/'.join(f'{x:.1f}' for x in a.load_after)}"
            for a in areas
        ),
        "  (a load above 2 on this 2-core machine means other work competed: absolute µs are then "
        "inflated; interleaving keeps the ratios comparable, and the spread shows the noise).",
        "",
        "## Method",
        "",
        METHOD,
    ]
    targets: list[list[str]] = []
    body: list[str] = []
    for area in areas:
        if area.title == "logging":
            body += logging_section(area, targets)
        elif area.title.startswith("inbound"):
            body += inbound_section(area, targets, areas)
        else:
            body += outbound_section(area, targets)
    lines += ["## Targets", "", *table(targets, ["target", "figure", "verdict"]), "", *body]
    return "\n".join(lines) + "\n"


def logging_section(area: Area, targets: list[list[str]]) -> list[str]:
    res = area.results
    out = [
        "## Logging",
        "",
        'One `info("user logged in", user="alice", attempt=3)` event, one JSON line. '
        "`msatrace` runs inside an active sampled span with a request ID bound, so its line also "
        "carries service, environment, version, trace_id, span_id and request_id; the others carry "
        "no trace fields. `*-below` is a `debug()` call at level INFO.",
        "",
        *time_table(res, "logging:structlog-orjson"),
        "",
    ]
    emit = {k: r.median for k, r in res.items() if not k.endswith("-below")}
    out += [*matrix(emit, "Time ratios between the writing variants:"), ""]
    ms, raw = res.get("logging:msatrace"), res.get("logging:structlog-orjson")
    if ms and raw:
        ratio = ms.median / raw.median
        targets.append(
            [
                "logging: msatrace event ≤ 1.5x raw structlog+orjson",
                f"{fmt(ms.median)} µs vs {fmt(raw.median)} µs = {ratio:.2f}x",
                verdict(ratio <= 1.5),
            ]
        )
    pjl = res.get("logging:stdlib-pjl")
    if ms and pjl:
        targets.append(
            [
                "logging: ≥ 2x faster than stdlib + python-json-logger",
                f"{fmt(pjl.median)} / {fmt(ms.median)} = {pjl.median / ms.median:.2f}x",
                verdict(pjl.median / ms.median >= 2),
            ]
        )
    below = res.get("logging:msatrace-below")
    if below:
        targets.append(
            [
                "logging: call below the level well under 1 µs (taken as ≤ 0.5 µs)",
                f"{fmt(below.median)} µs",
                verdict(below.median <= 0.5),
            ]
        )
    return out + _unavailable(area)


def inbound_section(area: Area, targets: list[list[str]], areas: list[Area]) -> list[str]:
    fw = area.title.split()[-1]
    res = area.results
    base = f"{fw}:bare"
    out = [f"## Inbound: {fw}", ""]
    # One process of each group (the first of a replicated one), named without its "#1".
    first = {_replica(k)[0]: r for k, r in res.items() if _replica(k)[1] in ("", "1")}
    if base not in first:
        return [*out, "The bare baseline did not run.", *_unavailable(area)]
    beside = {k for k in first if k.startswith(f"{fw}:bare.")}  # bare apps beside msatrace
    tab, added = added_table({k: r for k, r in first.items() if k not in beside}, base)
    out += [ONE_PROCESS, "", *tab, ""]
    out += matrix(
        {k: v for k, v in added.items() if v > 0},
        "Ratios of added cost (row's added µs ÷ column's added µs):",
    )
    out.append("")
    across = _across_processes(res, fw)
    rows = []
    for name, per in sorted(across.items(), key=lambda kv: statistics.median(kv[1])):
        cells = [signed(per[i]) if i in per else "—" for i in range(1, _most(across) + 1)]
        row = [f"`{short(name)}`", *cells, f"**{signed(statistics.median(per.values()))}**"]
        shifts = _shifts(res, fw, name)
        rows.append([*row, signed(statistics.median(shifts)) if shifts else "—"])
    if rows:
        head = [
            "variant", *(f"process {i}" for i in range(1, _most(across) + 1)), "median",
            "its bare - peers' bare",
        ]  # fmt: skip
        out += [ACROSS_PROCESSES, "", *table(rows, head), ""]
    for mode, label, limit in _inbound_targets(fw, _cid_added(areas)):
        name = f"{fw}:msatrace-{mode}"
        per = across.get(name)
        if per:
            v = statistics.median(per.values())
            spread = " / ".join(signed(per[i]) for i in sorted(per))
            many = f"median of {len(per)} processes: {spread}" if len(per) > 1 else "one process"
            figure = f"{signed(v)} µs ({many})"
        elif name in added:
            v, figure = added[name], f"{signed(added[name])} µs"
        else:
            continue
        if limit is None:
            targets.append([label, figure, "n/a"])
        else:
            shown = "" if mode in ("full", "defaults") else f" vs {limit[1]}"
            targets.append([label, figure + shown, verdict(v <= limit[0])])
    return out + _unavailable(area)


ONE_PROCESS = (
    "One process of each group (the first, where a group ran in several): every variant against "
    "the bare app of the peers' process."
)
ACROSS_PROCESSES = (
    "Added CPU µs per request against the bare app **in the variant's own process**, per process "
    "of each group that ran several times, and their median: the figure the targets use (see "
    "Method). Last column: the bare app beside the variant minus the peers' bare app (median "
    "over processes), i.e. whether the process the variant runs in is slower or faster as such."
)


def _replica(name: str) -> tuple[str, str]:
    """``fastapi:bare#2`` -> (``fastapi:bare``, ``2``); ``fastapi:sentry`` -> (same, ``""``)."""
    base, _, k = name.partition("#")
    return base, k


def _baseline(name: str, fw: str) -> str | None:
    """The bare app in the same process as variant ``name`` (no replica suffix), if any."""
    variant = short(name)
    if variant.startswith("msatrace-"):
        return f"{fw}:bare.{variant}"
    if variant.startswith("bare") or variant in ("sentry", "django-structlog"):
        return None  # a baseline itself, or alone in a process that patches the framework
    return f"{fw}:bare"


def _across_processes(res: dict[str, Result], fw: str) -> dict[str, dict[int, float]]:
    """Per replicated variant: {process number: added µs over the bare app in that process}."""
    out: dict[str, dict[int, float]] = {}
    for key, r in res.items():
        name, k = _replica(key)
        baseline = _baseline(name, fw)
        if not k or baseline is None or f"{baseline}#{k}" not in res:
            continue
        out.setdefault(name, {})[int(k)] = paired_added(r, res[f"{baseline}#{k}"])[0]
    return out


def _shifts(res: dict[str, Result], fw: str, name: str) -> list[float]:
    """Per process of msatrace variant ``name``: its bare app minus the peers' bare app."""
    if not short(name).startswith("msatrace-"):
        return []
    here, peers = f"{fw}:bare.{short(name)}", f"{fw}:bare"
    return [
        paired_added(res[f"{here}#{k}"], res[f"{peers}#{k}"])[0]
        for k in range(1, 100)
        if f"{here}#{k}" in res and f"{peers}#{k}" in res
    ]


def _most(across: dict[str, dict[int, float]]) -> int:
    return max((max(per) for per in across.values()), default=0)


def _inbound_targets(fw: str, cid: float | None) -> list[tuple[str, str, tuple[float, str] | None]]:
    """(mode, target text, (limit µs, how it is computed) or None when cid did not run)."""
    two_cid = None if cid is None else (2 * cid, f"2 x {fmt(cid)} = {fmt(2 * cid)} µs")
    return [
        ("full", f"inbound {fw}: msatrace full ≤ +60 µs/request", (60.0, "60 µs")),
        (
            "defaults",
            f"inbound {fw}: msatrace with every default on (full + RED metrics + debug on error)"
            " ≤ +70 µs/request: the full target plus the metrics sink's own 10 µs budget",
            (70.0, "70 µs"),
        ),
        *(
            (
                mode,
                f"inbound {fw}: msatrace {'not sampled' if mode == 'unsampled' else 'tracing off'}"
                " ≤ 2x asgi-correlation-id's added cost (measured on FastAPI)",
                two_cid,
            )
            for mode in ("unsampled", "off")
        ),
    ]


def _cid_added(areas: list[Area]) -> float | None:
    """asgi-correlation-id's added µs: the median over the peers' processes."""
    for a in areas:
        per = _across_processes(a.results, "fastapi").get("fastapi:asgi-correlation-id")
        if per:
            return statistics.median(per.values())
        r = a.results
        if "fastapi:asgi-correlation-id" in r and "fastapi:bare" in r:
            return paired_added(r["fastapi:asgi-correlation-id"], r["fastapi:bare"])[0]
    return None


def outbound_section(area: Area, targets: list[list[str]]) -> list[str]:
    out = [
        "## Outbound",
        "",
        "Every variant runs with the `httpx` logger at WARNING, so no variant writes httpx's own "
        "`HTTP Request: GET ...` INFO line (with `msatrace.init()`'s default root level INFO, "
        "msatrace would write it through its stdlib bridge on every call; the others would "
        "not, their root logger being at WARNING). `unpatched+headers`: the unpatched client "
        "sending `traceparent`, `X-Trace-ID` and `X-Request-ID` itself (the cost of three "
        "headers on the wire with that client); added cost is always relative to `unpatched`.",
        "",
    ]
    bridge = area.results.get("bridge:msatrace-off")
    if bridge is not None:
        out += [
            f"One stdlib INFO record shaped like httpx's line, through msatrace's JSON bridge "
            f"to stdout, costs {fmt(bridge.median)} µs CPU (median over rounds, IQR "
            f"{fmt(bridge.q1)}-{fmt(bridge.q3)}), measured in the `msatrace-off` worker.",
            "",
        ]
    for client in ("requests", "httpx"):
        res = subset(area, client)
        base = f"{client}:unpatched"
        if base not in res:
            continue
        tab, added = added_table(res, base)
        out += [f"### {client}", "", *tab, ""]
        cis = {k: median_ci(res[k], res[base]) for k in sorted(added, key=added.__getitem__)}
        out += [
            "95% confidence interval of each median added CPU µs (order statistics of the "
            "per-round differences, no distribution assumed): "
            + "; ".join(f"`{short(k)}` {signed(lo)} to {signed(hi)}" for k, (lo, hi) in cis.items())
            + ".",
            "",
        ]
        out += matrix(
            {k: v for k, v in added.items() if v > 0},
            "Ratios of added cost (row's added µs ÷ column's added µs):",
        )
        out.append("")
        span, off, otel = (
            added.get(f"{client}:{m}") for m in ("msatrace-span", "msatrace-off", "otel")
        )
        if span is not None and otel is not None:
            targets.append(
                [
                    f"outbound {client}: msatrace with span ≤ half of OpenTelemetry's added cost",
                    f"+{fmt(span)} µs (95% CI {ci_text(cis[f'{client}:msatrace-span'])}) "
                    f"vs {fmt(otel)} / 2 = {fmt(otel / 2)} µs",
                    verdict(span <= otel / 2),
                ]
            )
        if off is not None:
            targets.append(
                [
                    f"outbound {client}: msatrace without span < 15 µs",
                    f"{signed(off)} µs (95% CI {ci_text(cis[f'{client}:msatrace-off'])})",
                    verdict(off < 15),
                ]
            )
    return out + _unavailable(area)


def median_ci(result: Result, base: Result) -> tuple[float, float]:
    """Distribution-free 95% confidence interval of the median of per-round ``result - base``.

    The order statistics at ranks n/2 -/+ 1.96 * sqrt(n) / 2 of the sorted differences (the
    normal approximation to the binomial count of rounds below the median).
    """
    diffs = sorted(a - b for a, b in zip(result.rounds, base.rounds, strict=True))
    n = len(diffs)
    half = 1.96 * math.sqrt(n) / 2
    lo = max(0, math.floor(n / 2 - half))
    hi = min(n - 1, math.ceil(n / 2 + half) - 1)
    return diffs[lo], diffs[hi]


def ci_text(ci: tuple[float, float]) -> str:
    return f"{signed(ci[0])} to {signed(ci[1])}"


def _unavailable(area: Area) -> list[str]:
    if not area.unavailable:
        return []
    items = [f"- `{k}`: {v}" for k, v in sorted(area.unavailable.items())]
    return ["Not measured:", "", *items, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (about 1-2 minutes)")
    parser.add_argument("--only", default="", help="comma-separated: logging,inbound,outbound")
    parser.add_argument("--output", default=os.path.join(HERE, "RESULTS.md"))
    args = parser.parse_args()
    mode = QUICK if args.quick else FULL
    only = set(filter(None, args.only.split(","))) or {"logging", "inbound", "outbound"}
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    t0 = time.monotonic()
    areas: list[Area] = []
    if "logging" in only:
        areas.append(measure("logging", [("bench_logging", "all")], mode.logging))
    if "inbound" in only:
        for fw, kinds in bench_inbound.GROUPS.items():
            specs = [
                ("bench_inbound", f"{fw}-{k}#{i}" if k in bench_inbound.REPLICATED else f"{fw}-{k}")
                for k in kinds
                for i in range(1, (mode.processes if k in bench_inbound.REPLICATED else 1) + 1)
            ]
            areas.append(measure(f"inbound {fw}", specs, mode.inbound))
    if "outbound" in only:
        areas.append(run_outbound(mode.outbound))
    text = report(areas, mode, started, time.monotonic() - t0)
    with open(args.output, "w") as f:
        f.write(text)
    log(f"wrote {args.output} ({time.monotonic() - t0:.0f} s)")
    start = text.index("## Targets")
    log(text[start : text.index("\n## ", start + 5)])


if __name__ == "__main__":
    main()
