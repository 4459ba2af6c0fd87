"""What run_demo.py and incident.py share: child processes, the demo client, and printing.

``Service`` is one child process (its own process group) whose output lines are kept;
``print_logs`` and ``print_waterfall`` print what the services logged and exported.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
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

from msatrace.testing import ReceivedSpan

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


def free_ports(count: int) -> list[int]:
    """``count`` different free ports (held together while chosen, so none is picked twice)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]


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
    payload: dict[str, Any] | None = None  # a JSON body to send


def send(port: int, call: Call) -> None:
    data = json.dumps(call.payload).encode() if call.payload is not None else b""
    headers = {"Content-Length": str(len(data))}
    if data:
        headers["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request("POST", call.path, body=data, headers=headers)
        response = conn.getresponse()
        call.status = response.status
        call.trace_id = response.getheader("X-Trace-ID") or ""
        call.body = response.read().decode("utf-8", "replace")
    finally:
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
