"""The timing harness shared by every benchmark area: workers, interleaved rounds, statistics.

A *variant* is one way of doing the operation under test (``fastapi:bare``,
``fastapi:msatrace-full``, ``requests:otel``...). Variants live in *worker* processes: variants
that can coexist share one worker; a variant that patches libraries globally (sentry-sdk,
OpenTelemetry instrumentors, ``msatrace.init()`` with its own settings) gets a worker of its own.

The parent never times anything itself. It starts every worker of an area, asks each to calibrate
its variants (how many operations make one batch of about ``batch_ms``), then runs *rounds*: in
each round every variant runs exactly one batch, in an order rotated by one position per round,
one worker at a time (the others wait on their pipe). So slow drift of the machine (other
processes, thermal, the noisy neighbour on a 2-core box) hits every variant alike.

A group may run in several processes (``GROUP#1``, ``GROUP#2``...; its variants then end in
``#K``): two processes running the same code differ by up to ~1.5 µs per request (memory layout,
hash seed), so a figure that decides a target is the median over processes.

A worker runs ``python benchmarks/_harness.py MODULE GROUP``: it imports ``MODULE`` (a
``bench_*.py`` file next to this one), calls ``MODULE.build(GROUP)`` which returns
``{variant: batch}``, where ``batch(n)`` performs the operation ``n`` times and returns the elapsed
nanoseconds of just those ``n`` operations (the worker also reads its process CPU time around each
batch; that is the primary figure). The worker's file descriptor 1 is pointed at
``/dev/null`` (every log line of every library goes there, through the real ``sys.stdout``), and
it talks to the parent over a duplicate of the original descriptor, one JSON object per line.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
Batch = Callable[[int], int]


def timed(op: Callable[[], object]) -> Batch:
    """Turn a zero-argument operation into a batch function."""

    def batch(n: int) -> int:
        perf = time.perf_counter_ns
        it = range(n)
        start = perf()
        for _ in it:
            op()
        return perf() - start

    return batch


# --- the worker side ---


def _worker_main(module_name: str, group: str) -> None:
    reply = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # every library's stdout output goes to /dev/null from here on
    sys.path.insert(0, HERE)

    def send(obj: dict[str, Any]) -> None:
        reply.write(json.dumps(obj) + "\n")

    # GROUP#K: the K-th process of a group run several times; its variants are named VARIANT#K.
    group, _, replica = group.partition("#")
    try:
        module = importlib.import_module(module_name)
        variants: dict[str, Batch] = module.build(group)
        if replica:
            variants = {f"{name}#{replica}": batch for name, batch in variants.items()}
        unavailable: dict[str, str] = getattr(module, "UNAVAILABLE", {})
    except Exception:
        send({"error": traceback.format_exc()})
        return
    send({"ready": sorted(variants), "unavailable": unavailable, "pid": os.getpid()})
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            batch = variants[cmd["variant"]]
            if cmd["op"] == "calibrate":
                send({"n": _calibrate(batch, cmd["batch_ms"])})
            elif cmd["op"] == "run":
                gc.collect()
                cpu = time.process_time_ns()
                wall = batch(cmd["n"])
                send({"ns": wall, "cpu_ns": time.process_time_ns() - cpu})
            elif cmd["op"] == "quit":
                break
        except Exception:
            send({"error": traceback.format_exc()})
    reply.close()
    # Skip atexit handlers: flushing span processors and sentry's transport (2 s by default)
    # would only slow the run down; nothing measured is lost.
    os._exit(0)


def _calibrate(batch: Batch, batch_ms: float, warmup_ms: float = 400) -> int:
    """Warm up for ``warmup_ms``, then pick operations per batch for about ``batch_ms``.

    Some peers are slow for their first requests (sentry-sdk: several ms each for its first
    hundreds), so warm-up is by time, not by count.
    """
    deadline = time.perf_counter_ns() + warmup_ms * 1e6
    n = 1
    while True:
        elapsed = batch(n)
        if time.perf_counter_ns() >= deadline and elapsed >= batch_ms * 1e6 / 8:
            break
        if elapsed < batch_ms * 1e6 / 4:
            n *= 2
    samples = [elapsed / n]
    for _ in range(3):
        samples.append(batch(n) / n)
    per_op = sorted(samples)[len(samples) // 2]
    return max(1, round(batch_ms * 1e6 / max(per_op, 1)))


# --- the parent side ---


class Worker:
    """One worker process and its variants."""

    def __init__(self, module: str, group: str, env: dict[str, str] | None = None) -> None:
        self.name = f"{module}:{group}"
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the worker
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "_harness.py"), module, group],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            env={**_clean_environ(), **(env or {})},
        )
        self.variants: list[str] = []
        self.unavailable: dict[str, str] = {}

    def start(self) -> None:
        reply = self._read()
        self.variants = reply["ready"]
        self.unavailable = reply.get("unavailable", {})

    def ask(self, **cmd: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.name} died:\n{self.stderr_tail()}")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"worker {self.name} failed:\n{reply['error']}")
        return reply

    def stderr_tail(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")[-4000:]

    def quit(self) -> None:
        if self.proc.poll() is None and self.proc.stdin is not None and not self.proc.stdin.closed:
            with contextlib.suppress(OSError):
                self.proc.stdin.write(json.dumps({"op": "quit", "variant": ""}) + "\n")
                self.proc.stdin.close()

    def stop(self) -> None:
        self.quit()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()


def _clean_environ() -> dict[str, str]:
    """The parent's environment minus settings that would change what a variant does."""
    skip = ("OTEL_", "MSATRACE_", "SENTRY_", "FASTAPI_OTEL_", "DJANGO_SETTINGS_MODULE")
    return {k: v for k, v in os.environ.items() if not k.startswith(skip)}


@dataclass
class Result:
    """Per-round µs/op of one variant: process CPU time (``rounds``) and wall-clock (``wall``)."""

    variant: str
    worker: str
    n: int
    rounds: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)

    @property
    def wall_median(self) -> float:
        return statistics.median(self.wall)

    @property
    def median(self) -> float:
        return statistics.median(self.rounds)

    @property
    def q1(self) -> float:
        return _quantile(self.rounds, 0.25)

    @property
    def q3(self) -> float:
        return _quantile(self.rounds, 0.75)


def _quantile(values: Sequence[float], q: float) -> float:
    s = sorted(values)
    if len(s) == 1:
        return s[0]
    pos = q * (len(s) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def paired_added(result: Result, base: Result) -> tuple[float, float, float]:
    """Median, Q1, Q3 of the per-round difference ``result - base`` (µs)."""
    diffs = [a - b for a, b in zip(result.rounds, base.rounds, strict=True)]
    return statistics.median(diffs), _quantile(diffs, 0.25), _quantile(diffs, 0.75)


def run_area(
    specs: Iterable[tuple[str, str]],
    rounds: int,
    batch_ms: float,
    log: Callable[[str], None],
    env: dict[str, str] | None = None,
    budget_s: float = 1e9,
    min_rounds: int = 5,
) -> tuple[dict[str, Result], dict[str, str]]:
    """Start the workers, calibrate, run interleaved rounds; return results and unavailable.

    Stops after ``rounds`` rounds, or earlier (but not before ``min_rounds``) once the rounds
    have taken ``budget_s`` seconds: the whole run must fit its time limit on a busy machine.
    """
    t_start = time.monotonic()
    workers = [Worker(module, group, env) for module, group in specs]
    results: dict[str, Result] = {}
    unavailable: dict[str, str] = {}
    try:
        for w in workers:
            w.start()
            unavailable.update(w.unavailable)
        order: list[tuple[Worker, str]] = [(w, v) for w in workers for v in w.variants]
        for w, v in order:
            n = w.ask(op="calibrate", variant=v, batch_ms=batch_ms)["n"]
            results[v] = Result(v, w.name, n)
        log(
            f"  {len(order)} variants in {len(workers)} processes, started and calibrated in "
            f"{time.monotonic() - t_start:.0f} s; up to {rounds} rounds"
        )
        t0 = time.monotonic()
        for r in range(rounds):
            k = r % len(order)
            for w, v in order[k:] + order[:k]:
                res = results[v]
                reply = w.ask(op="run", variant=v, n=res.n)
                res.rounds.append(reply["cpu_ns"] / res.n / 1000)
                res.wall.append(reply["ns"] / res.n / 1000)
            spent = time.monotonic() - t0
            if r == 0 or (r + 1) % max(1, rounds // 5) == 0:
                log(f"  round {r + 1}/{rounds} ({spent:.0f} s)")
            if r + 1 >= min_rounds and spent > budget_s:
                log(f"  time budget of {budget_s:.0f} s used: stopping after {r + 1} rounds")
                break
    finally:
        for w in workers:
            w.quit()
        for w in workers:
            w.stop()
    return results, unavailable


if __name__ == "__main__":
    _worker_main(sys.argv[1], sys.argv[2])
