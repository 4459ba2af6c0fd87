"""Run the three-service demo and show what msatrace recorded.

    python examples/msa/run_demo.py            # or: python3 -m nox -s demo

Starts, on free 127.0.0.1 ports: an OTLP/HTTP receiver (in this process), redis-server, the
inventory service (Django on gunicorn), the orders service (Flask on gunicorn), the gateway
(FastAPI on uvicorn) and a Celery worker. Sends three requests through the gateway (a success that
queues a background task, a downstream 404, and a request that fails deep in inventory), waits for
the spans, then prints:

1. every service's log lines, grouped by trace ID;
2. each trace as a waterfall, built from the spans the services exported over OTLP/HTTP;
3. a summary, and a check that the ``X-Trace-ID`` the client got is the trace ID in every
   service's log lines;
4. the Slack message and the Jira ticket the failing request produced (local stand-ins for
   both, ``vendors.py``), carrying the same trace ID.

Past 500 lines: a script whose four sections read top to bottom, as it prints them.

Every process it started is stopped on the way out, also on failure or Ctrl-C. Exit status 0 when
everything the demo shows was really seen; 1 otherwise. Needs msatrace[all], uvicorn, gunicorn and
redis-server; nothing outside this machine.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from msatrace.testing import OTLPReceiver, ReceivedSpan

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vendors import Vendors

HERE = Path(__file__).resolve().parent
SERVICES = ("gateway", "orders", "inventory", "worker")
COLOR = sys.stdout.isatty() and os.environ.get("NO_COLOR") is None
START_TIMEOUT = 60.0  # generous: a loaded CI machine starts four Pythons slowly
SPAN_TIMEOUT = 20.0


def paint(text: str, code: str) -> str:
    return f"\033[{code}m{text}\033[0m" if COLOR else text


SERVICE_COLORS = {"gateway": "36", "orders": "35", "inventory": "33", "worker": "34"}


def svc(name: str, width: int = 9) -> str:
    return paint(name.ljust(width), SERVICE_COLORS.get(name, "0"))


def gunicorn_args() -> list[str]:
    """Extra gunicorn flags: no control socket (gunicorn >= 24 shares one per user by default)."""
    try:
        from gunicorn.config import KNOWN_SETTINGS
    except ImportError:
        return []
    names = {setting.name for setting in KNOWN_SETTINGS}
    return ["--no-control-socket"] if "control_socket_disable" in names else []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Service:
    """One child process and the lines it printed."""

    name: str
    argv: list[str]
    port: int | None = None
    proc: subprocess.Popen[bytes] | None = None
    lines: list[str] = field(default_factory=list)

    def start(self, env: dict[str, str]) -> None:
        # Own session (process group): stopping it stops gunicorn's and Celery's children too.
        self.proc = subprocess.Popen(
            self.argv,
            cwd=HERE,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc is not None
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def send(self, sig: int) -> None:
        """Signal the whole process group (it may outlive its leader, e.g. gunicorn workers)."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, sig)

    def json_lines(self) -> list[dict[str, Any]]:
        out = []
        for line in list(self.lines):
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    out.append(json.loads(line))
        return out


def stop_all(services: list[Service], grace: float = 8.0) -> None:
    """SIGTERM every process group at once, wait for them, SIGKILL whatever is left."""
    for s in services:
        s.send(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for s in services:
        if s.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                s.proc.wait(max(0.1, deadline - time.monotonic()))
    for s in services:
        s.send(signal.SIGKILL)
        if s.proc is not None:
            s.proc.wait()


def wait_http(service: Service, deadline: float) -> None:
    """Wait until the service answers HTTP at all (``/health`` is not traced)."""
    while time.monotonic() < deadline:
        if not service.alive():
            raise RuntimeError(f"{service.name} exited during start-up")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=2)
            conn.request("GET", "/health")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{service.name} did not answer on port {service.port}")


def wait_line(service: Service, needle: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        if any(needle in line for line in list(service.lines)):
            return
        if not service.alive():
            raise RuntimeError(f"{service.name} exited during start-up")
        time.sleep(0.2)
    raise RuntimeError(f"{service.name} never printed {needle!r}")


def wait_port(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


@dataclass
class Call:
    """One request the demo client sent through the gateway."""

    label: str
    path: str
    expected: int
    status: int = 0
    trace_id: str = ""
    body: str = ""


def send(port: int, call: Call) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    conn.request("POST", call.path, headers={"Content-Length": "0"})
    response = conn.getresponse()
    call.status = response.status
    call.trace_id = response.getheader("X-Trace-ID") or ""
    call.body = response.read().decode("utf-8", "replace")
    conn.close()


# --- printing -------------------------------------------------------------------------------

HIDDEN = {
    "timestamp",
    "level",
    "logger",
    "event",
    "service",
    "environment",
    "version",
    "trace_id",
    "span_id",
    "request_id",
    "user_agent",
    "client_address",
    "exception",
    "path",
    "method",
    "route",
    "status",
    "data",
    "request",
}
LEVEL_COLORS = {"debug": "2", "info": "32", "warning": "33", "error": "31;1", "critical": "31;1"}


def print_logs(services: dict[str, Service], calls: list[Call]) -> dict[str, set[str]]:
    """Print each trace's log lines from every service; return trace ID -> services seen."""
    by_trace: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for s in services.values():
        for event in s.json_lines():
            if event.get("trace_id"):
                by_trace[event["trace_id"]].append((s.name, event))
    seen: dict[str, set[str]] = {}
    print(paint("\n1. Log lines of every service, grouped by trace ID\n", "1"))
    for call in calls:
        events = sorted(by_trace.get(call.trace_id, []), key=lambda e: e[1].get("timestamp", ""))
        seen[call.trace_id] = {name for name, _ in events}
        print(f"trace {paint(call.trace_id, '1')}  ({call.label})")
        for name, ev in events:
            level = str(ev.get("level", ""))
            extras = " ".join(f"{k}={ev[k]}" for k in ev if k not in HIDDEN and ev[k] is not None)
            exc = ev.get("exception")
            if isinstance(exc, dict):
                extras += f" exception={exc.get('type')}: {exc.get('message')}"
            stamp = str(ev.get("timestamp", ""))[11:23]
            print(
                f"  {stamp} {svc(name)} {paint(level.ljust(7), LEVEL_COLORS.get(level, '0'))}"
                f" {str(ev.get('logger', ''))[:18].ljust(18)} {ev.get('event')}"
                f"{'  ' + paint(extras, '2') if extras else ''}"
            )
        print()
    return seen


def print_waterfall(spans: list[ReceivedSpan], call: Call, width: int = 32) -> None:
    if not spans:
        print(f"trace {call.trace_id}: no spans arrived\n")
        return
    t0 = min(s.start_ns for s in spans)
    t1 = max(s.end_ns for s in spans)
    total = max(t1 - t0, 1)
    ids = {s.span_id for s in spans}
    children: dict[str | None, list[ReceivedSpan]] = defaultdict(list)
    for s in spans:
        children[s.parent_span_id if s.parent_span_id in ids else None].append(s)
    print(f"trace {paint(call.trace_id, '1')}  ({call.label}, {total / 1e6:.1f} ms)")
    header = f"  {'service':9} {'span':44} {'start':>9} {'duration':>9}  {'':{width}} status"
    print(paint(header, "2"))

    def walk(span: ReceivedSpan, depth: int) -> None:
        start, dur = span.start_ns - t0, span.end_ns - span.start_ns
        a = int(start / total * width)
        b = max(a + 1, round((start + dur) / total * width))
        bar = " " * a + "█" * (b - a) + " " * (width - b)
        status = {"ERROR": paint("ERROR", "31;1"), "OK": "OK"}.get(span.status, "")
        label = ("  " * depth + ("└ " if depth else "") + span.name)[:44]
        code = span.attributes.get("http.response.status_code")
        detail = f" {code}" if code else ""
        print(
            f"  {svc(span.service)} {label:44} {start / 1e6:7.1f}ms {dur / 1e6:7.1f}ms"
            f"  {paint(bar, SERVICE_COLORS.get(span.service, '0'))} {status}{detail}"
        )
        for child in sorted(children.get(span.span_id, []), key=lambda c: c.start_ns):
            walk(child, depth + 1)

    for root in sorted(children[None], key=lambda c: c.start_ns):
        walk(root, 0)
    print()


def error_origin(spans: list[ReceivedSpan]) -> ReceivedSpan | None:
    """The deepest span that failed with an exception: where the error really happened."""
    failed = [s for s in spans if s.status == "ERROR"]
    if not failed:
        return None
    by_id = {s.span_id: s for s in spans}

    def depth(s: ReceivedSpan) -> int:
        d = 0
        while s.parent_span_id in by_id:
            s, d = by_id[s.parent_span_id], d + 1  # type: ignore[index]
        return d

    return max(failed, key=lambda s: (("error.type" in s.attributes), depth(s)))


# --- the run ----------------------------------------------------------------------------------


def print_reports(vendors: Vendors, trace_id: str) -> list[str]:
    """What the team was told about the failing request: the Slack message, the Jira ticket."""
    print(paint("\n4. What the team was told (Slack and Jira stand-ins)\n", "1"))
    deadline = time.monotonic() + 10  # reports leave on a background thread, within a second
    slack, issues = vendors.carrying(trace_id)
    while (not slack or not issues) and time.monotonic() < deadline:
        time.sleep(0.1)
        slack, issues = vendors.carrying(trace_id)
    for message in slack:
        print(f"  Slack  {paint(message['text'], '31')}")
    for issue in issues:
        print(f"  Jira   {issue['key']}  {issue['summary']}  labels {' '.join(issue['labels'])}")
    if slack and issues:
        return []
    return [f"no Slack message and Jira issue carrying the failing trace {trace_id}"]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C, so the finally below stops everything.
    signal.signal(signal.SIGTERM, _interrupt)
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        print("redis-server is not installed (Debian: apt-get install redis-server)")
        return 1
    ports = {name: free_port() for name in ("redis", "gateway", "orders", "inventory")}
    py = sys.executable
    services = {
        "inventory": Service(
            "inventory",
            [py, "-m", "gunicorn", *gunicorn_args(), "-w", "1",
             "-b", f"127.0.0.1:{ports['inventory']}", "inventory.wsgi"],
            ports["inventory"],
        ),
        "orders": Service(
            "orders",
            [py, "-m", "gunicorn", *gunicorn_args(), "-w", "2",
             "-b", f"127.0.0.1:{ports['orders']}", "orders:app"],
            ports["orders"],
        ),
        "gateway": Service(
            "gateway",
            [py, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(ports["gateway"]),
             "gateway:app"],
            ports["gateway"],
        ),
        "worker": Service(
            "worker",
            [py, "-m", "celery", "-A", "worker", "worker", "--pool", "solo", "--loglevel", "INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
        ),
    }  # fmt: skip
    redis = Service(
        "redis",
        [redis_server, "--port", str(ports["redis"]), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
    )  # fmt: skip
    receiver = OTLPReceiver().start()
    vendors = Vendors().start()  # Slack and Jira stand-ins: where the error reports go
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MSATRACE_"))}
    base_env.update(
        PYTHONPATH=str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        PYTHONUNBUFFERED="1",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.base_endpoint,
        OTEL_BSP_SCHEDULE_DELAY="200",  # export batches every 200 ms, not every 5 s
        OTEL_RESOURCE_ATTRIBUTES="deployment.environment.name=production,service.version=1.0.0",
        MSATRACE_LOG_FORMAT="json",
        REDIS_URL=f"redis://127.0.0.1:{ports['redis']}/0",
        ORDERS_URL=f"http://127.0.0.1:{ports['orders']}",
        INVENTORY_URL=f"http://127.0.0.1:{ports['inventory']}",
        MSATRACE_NOTIFY=vendors.notify,
        MSATRACE_TRACE_URL="http://localhost:16686/trace/{trace_id}",
    )
    started: list[Service] = []
    ok = False
    began = time.monotonic()
    try:
        print(paint("Starting redis, inventory, orders, gateway and the Celery worker...", "1"))
        redis.start(base_env)
        started.append(redis)
        wait_port(ports["redis"], time.monotonic() + 10)
        for s in services.values():
            s.start(base_env)
            started.append(s)
        deadline = time.monotonic() + START_TIMEOUT
        for name in ("inventory", "orders", "gateway"):
            wait_http(services[name], deadline)
        wait_line(services["worker"], "ready", deadline)
        print(f"  all up in {time.monotonic() - began:.1f} s; OTLP receiver {receiver.endpoint}")
        for name, port in ports.items():
            print(f"  {name:9} 127.0.0.1:{port}")
        ok = run_scenario(services, receiver, vendors)
    except KeyboardInterrupt:
        print("\ninterrupted")
    except Exception as exc:
        print(paint(f"\ndemo failed: {exc}", "31;1"))
        for s in started:
            for line in s.lines[-15:]:
                print(f"  {s.name:9} | {line}")
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut this short
        stop_all(started)
        receiver.stop()
        vendors.stop()
        print(f"\nstopped every process the demo started ({time.monotonic() - began:.1f} s)")
    return 0 if ok else 1


def run_scenario(services: dict[str, Service], receiver: OTLPReceiver, vendors: Vendors) -> bool:
    calls = [
        Call("order placed, confirmation queued", "/checkout/espresso-beans?qty=2", 201),
        Call("unknown product: 404 from inventory", "/checkout/teapot", 404),
        Call("bug deep in inventory", "/checkout/moka-pot", 502),
    ]
    print(paint("\nClient requests", "1"))
    for call in calls:
        send(services["gateway"].port or 0, call)
        mark = paint("ok", "32") if call.status == call.expected else paint("UNEXPECTED", "31;1")
        print(f"  POST {call.path:34} -> {call.status}  X-Trace-ID: {call.trace_id}  {mark}")
    problems = [
        f"{c.path}: got {c.status} with X-Trace-ID {c.trace_id!r}, expected {c.expected}"
        for c in calls
        if c.status != c.expected or not c.trace_id
    ]

    success = calls[0]
    expect = {  # trace ID -> services whose spans must arrive
        success.trace_id: set(SERVICES),
        calls[1].trace_id: {"gateway", "orders", "inventory"},
        calls[2].trace_id: {"gateway", "orders", "inventory"},
    }

    def complete(spans: list[ReceivedSpan]) -> bool:
        have: dict[str, set[str]] = defaultdict(set)
        for s in spans:
            have[s.trace_id].add(s.service)
        return all(want <= have[tid] for tid, want in expect.items())

    try:
        receiver.wait_for(complete, timeout=SPAN_TIMEOUT)
    except TimeoutError:
        problems.append("not every expected span arrived over OTLP")
    wait_logs = time.monotonic() + 5  # the worker's line may trail its span by a moment
    while time.monotonic() < wait_logs:
        if any(e.get("trace_id") == success.trace_id for e in services["worker"].json_lines()):
            break
        time.sleep(0.1)
    time.sleep(0.5)  # let the last batch of spans land

    seen = print_logs(services, calls)

    print(paint("2. Each trace as a waterfall (spans received over OTLP/HTTP)\n", "1"))
    for call in calls:
        print_waterfall(receiver.trace(call.trace_id), call)

    print(paint("3. Summary\n", "1"))
    ours = [s for s in receiver.spans if s.trace_id in {c.trace_id for c in calls}]
    per_service: dict[str, int] = defaultdict(int)
    for s in ours:
        per_service[s.service] += 1
    print(f"  traces: {len({s.trace_id for s in ours})}, spans: {len(ours)}")
    print("  spans per service: " + ", ".join(f"{k} {per_service[k]}" for k in SERVICES))
    origin = error_origin(receiver.trace(calls[2].trace_id))
    if origin is None:
        problems.append("the failing request has no span in ERROR")
        print("  error: no failed span arrived")
    else:
        where = origin.attributes.get("error.type", "")
        print(
            f"  error: {paint(str(where), '31;1')} in {origin.service}, span {origin.name!r}"
            f" (trace {origin.trace_id})"
        )
        exc_lines = [
            e
            for e in services[origin.service].json_lines()
            if e.get("trace_id") == origin.trace_id and isinstance(e.get("exception"), dict)
        ]
        if exc_lines:
            exc = exc_lines[0]["exception"]
            last = [ln for ln in str(exc.get("stack", "")).splitlines() if ln.strip()]
            frames = [ln.strip() for ln in last if ln.strip().startswith("File ")][-2:]
            for frame in frames:
                print(f"         {paint(frame, '2')}")
            print(f"         {exc.get('type')}: {exc.get('message')}")

    print(paint("\n  X-Trace-ID the client got == trace_id in each service's log lines:", "1"))
    for call in calls:
        want = expect[call.trace_id]
        got = seen.get(call.trace_id, set())
        marks = " ".join(
            f"{name} {paint('yes', '32') if name in got else paint('no', '31;1')}"
            for name in SERVICES
            if name in want
        )
        print(f"  {call.trace_id}  {marks}")
        missing = want - got
        if missing:
            problems.append(f"trace {call.trace_id}: no log line from {', '.join(sorted(missing))}")

    problems += print_reports(vendors, calls[2].trace_id)

    if problems:
        print(paint("\nSomething the demo should show did not happen:", "31;1"))
        for p in problems:
            print(f"  - {p}")
        return False
    print(paint("\nOne trace ID in every log line, header and span, across four processes.", "32"))
    return True


if __name__ == "__main__":
    sys.exit(main())
