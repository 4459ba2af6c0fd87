"""Error tracking: request latency with the notification vendor up, down, hanging or limiting.

    python benchmarks/bench_errors_vendor.py            # about 5 minutes on a 2-core machine
    python benchmarks/bench_errors_vendor.py --quick    # about 1 minute

One real server (the FastAPI test app under uvicorn, ``tests/apps/fastapi_app.py``) reports its
errors to a local Slack stand-in, with a 1-second digest window so that the vendor is called
every second the errors go on. The stand-in's behaviour is switched between rounds:

- ``up``: answers 200;
- ``hang``: holds every request without answering (the notifier's 5-s timeout ends it);
- ``500``: answers 500 (retried with backoff);
- ``429``: answers 429 with ``Retry-After: 1``;
- ``reset``: closes the connection without answering (as a vendor that is unreachable).

Each round runs every mode once, in a shuffled order, each for one batch of requests from one
keep-alive client: three in four to ``/items/{id}`` (succeeds), one in four alternately to
``/boom`` and ``/bug`` (two different unhandled exceptions). The client times each request
(``perf_counter``, send to body read). The report gives p50 and p99 per mode for the succeeding
and the failing requests, and the server's resident memory at the end of each mode's last batch.
Writes ``benchmarks/RESULTS-errors-vendor.md``.
"""

from __future__ import annotations

import argparse
import http.server
import os
import random
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import _report  # noqa: E402  (next to this script)
import httpx  # noqa: E402
from tests.integration.servers import start_uvicorn  # noqa: E402  (stdlib only)

MODES = ("up", "hang", "500", "429", "reset")


class Vendor:
    """A Slack stand-in whose answer is chosen by ``mode``; it counts what it received."""

    def __init__(self) -> None:
        self.mode = "up"
        self.calls: dict[str, int] = dict.fromkeys(MODES, 0)
        vendor = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                mode = vendor.mode
                vendor.calls[mode] += 1
                if mode == "hang":
                    deadline = time.monotonic() + 30
                    while vendor.mode == "hang" and time.monotonic() < deadline:
                        time.sleep(0.05)
                    self.close_connection = True
                    return
                if mode == "reset":
                    self.close_connection = True
                    return
                code = {"up": 200, "500": 500, "429": 429}[mode]
                self.send_response(code)
                if code == 429:
                    self.send_header("Retry-After", "1")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.mode = "up"
        self.server.shutdown()
        self.server.server_close()


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def batch(client: httpx.Client, seconds: float, ok: list[float], failed: list[float]) -> None:
    end, i = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        i += 1
        path = f"/items/{i}" if i % 4 else ("/boom" if i % 8 == 0 else "/bug")
        start = time.perf_counter()
        try:
            response = client.get(path)
            response.read()
        except httpx.TransportError:  # uvicorn closes the connection after an exception
            response = client.get(path)
        elapsed = (time.perf_counter() - start) * 1e6
        (ok if response.status_code == 200 else failed).append(elapsed)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds, per_batch = (3, 3.0) if args.quick else (10, 6.0)
    vendor = Vendor()
    env = {
        "MSATRACE_NOTIFY": f"slack:{vendor.url}",
        "MSATRACE_ERROR_DIGEST_WINDOW": "1",
        "MSATRACE_LOG_LEVEL": "WARNING",
    }
    srv = start_uvicorn("fastapi_app:app", env=env, extra_args=["--no-access-log"])
    ok: dict[str, list[float]] = {m: [] for m in MODES}
    failed: dict[str, list[float]] = {m: [] for m in MODES}
    memory: dict[str, int] = {}
    load = os.getloadavg()
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as client:
            batch(client, 1.0, [], [])  # warm-up
            for _ in range(rounds):
                order = list(MODES)
                random.shuffle(order)
                for mode in order:
                    vendor.mode = mode
                    batch(client, per_batch, ok[mode], failed[mode])
                    memory[mode] = rss_kib(srv.pid)
    finally:
        srv.stop()
        vendor.close()
    lines = [
        "# Error tracking: requests with the vendor up, down, hanging or rate-limiting",
        "",
        f"{_report.made_with('bench_errors_vendor.py', args.quick, load[0])}. FastAPI under "
        f"uvicorn, one keep-alive client, {rounds} rounds of {per_batch:.0f} s of requests per "
        "mode (one in four failing, two different bugs, 1-s digest window), modes interleaved "
        "in a shuffled order per round. Method: see the docstring of `bench_errors_vendor.py`.",
        "",
        "| vendor | ok p50 µs | ok p99 µs | failing p50 µs | failing p99 µs | vendor calls "
        "| server RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for mode in MODES:
        lines.append(
            f"| {mode} | {pct(ok[mode], 0.5):.0f} | {pct(ok[mode], 0.99):.0f} "
            f"| {pct(failed[mode], 0.5):.0f} | {pct(failed[mode], 0.99):.0f} "
            f"| {vendor.calls[mode]} | {memory[mode] / 1024:.1f} |"
        )
    up = statistics.median(failed["up"])
    lines += [
        "",
        "The failing requests' p50 with the vendor up is "
        f"{up:.0f} µs; a request never waits for the vendor (the delivery thread does).",
        "",
    ]
    _report.write("RESULTS-errors-vendor.md", lines)


if __name__ == "__main__":
    main()
