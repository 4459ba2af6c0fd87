"""Run the demo: four services, one trace across four processes, and an incident told whole.

    python examples/msa/run_demo.py            # or: python3 -m nox -s demo

Starts, on free 127.0.0.1 ports: an OTLP/HTTP receiver and stand-ins for Slack, Jira and
PagerDuty (in this process), two redis-servers (Celery's broker; inventory's stock cache), the
inventory service (Django on gunicorn), the orders service (Flask on gunicorn), the gateway
(FastAPI on uvicorn), a Celery worker, and a real Prometheus and Alertmanager running the rules
and routes ``msatrace alerts`` generates (alerts.toml; short ``for:`` and intervals).

The story: normal traffic for a few seconds (with a success that queues a background task and a
downstream 404); then a bug ships (one order in three fails deep in inventory) and a customer's
order carrying an e-mail, a card number and a phone number fails. A timeline prints, as they
happen, the Slack message of the first error, the Jira issue and its comments, the Prometheus
alert and the PagerDuty page, the waterfall of the failing trace, inventory's readiness failing
while its Redis is stopped and recovering, and the resolved notifications. Then:

1. every service's log lines, grouped by trace ID, for three requests;
2. each of them as a waterfall, built from the spans the services exported over OTLP/HTTP;
3. a summary, a check that the ``X-Trace-ID`` the client got is the trace ID in every service's
   log lines, and a check of every step of the incident (no personal data anywhere).

Every process it started is stopped on the way out, also on failure or Ctrl-C. Exit status 0 when
everything the demo shows was really seen; 1 otherwise. Needs msatrace[all], uvicorn, gunicorn,
celery, redis-server, prometheus and prometheus-alertmanager; nothing outside this machine.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import monitoring
from demo_kit import (
    HERE,
    SERVICES,
    SPAN_TIMEOUT,
    START_TIMEOUT,
    Call,
    Service,
    error_origin,
    free_ports,
    gunicorn_args,
    paint,
    print_logs,
    print_waterfall,
    stop_all,
    wait_http,
    wait_line,
    wait_port,
)
from incident import Incident, print_checks
from receivers import Receivers

from msatrace.testing import OTLPReceiver, ReceivedSpan

# --- the run ----------------------------------------------------------------------------------


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C, so the finally below stops everything.
    signal.signal(signal.SIGTERM, _interrupt)
    redis_server = shutil.which("redis-server")
    missing = ([] if redis_server else ["redis-server"]) + monitoring.missing_binaries()
    if redis_server is None or missing:
        print(
            f"not installed: {', '.join(missing)} (Debian: apt-get install redis-server "
            "prometheus prometheus-alertmanager; `nox -s demo` does it)"
        )
        return 1
    names = ("redis", "cache", "gateway", "orders", "inventory", "prometheus", "alertmanager")
    ports = dict(zip(names, free_ports(len(names)), strict=True))
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

    def redis(name: str) -> Service:
        return Service(
            name,
            [redis_server, "--port", str(ports[name]), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            ports[name],
        )  # fmt: skip

    broker, cache = redis("redis"), redis("cache")
    receiver = OTLPReceiver().start()
    stand_ins = Receivers().start()
    work = Path(tempfile.mkdtemp(prefix="msatrace-demo-"))
    (work / "orders-metrics").mkdir()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MSATRACE_"))}
    base_env.update(
        PYTHONPATH=str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        PYTHONUNBUFFERED="1",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.base_endpoint,
        OTEL_BSP_SCHEDULE_DELAY="200",  # export batches every 200 ms, not every 5 s
        OTEL_RESOURCE_ATTRIBUTES="deployment.environment.name=production,service.version=1.0.0",
        MSATRACE_LOG_FORMAT="json",
        # Errors go to the Slack and Jira stand-ins; repeats in a digest every 4 s (not 10 min).
        MSATRACE_NOTIFY=f"slack:{stand_ins.url}/slack/errors,"
        f"jira:http://oncall%40example.com:demo-token@{stand_ins.url[7:]}?project=SHOP",
        MSATRACE_TRACE_URL=stand_ins.url + "/trace/{trace_id}",
        MSATRACE_ERROR_DIGEST_WINDOW="4",
        MSATRACE_HEALTH_CACHE_TTL="0.5",
        REDIS_URL=f"redis://127.0.0.1:{ports['redis']}/0",
        STOCK_CACHE_URL=f"redis://127.0.0.1:{ports['cache']}/0",
        ORDERS_URL=f"http://127.0.0.1:{ports['orders']}",
        INVENTORY_URL=f"http://127.0.0.1:{ports['inventory']}",
    )
    base_env["MSATRACE_DEBUG_ON_ERROR"] = "true"  # the default in production; said for the reader
    started: list[Service] = []
    ok = False
    began = time.monotonic()
    try:
        print(paint("Starting redis x2, Prometheus, Alertmanager, inventory, orders, gateway and "
                    "the Celery worker...", "1"))  # fmt: skip
        monitoring.generate(work / "alerting", stand_ins.url)
        am = monitoring.alertmanager(work / "alerting", ports["alertmanager"])
        jobs = {name: ports[name] for name in ("gateway", "orders", "inventory")}
        prom = monitoring.prometheus(
            work / "alerting", ports["prometheus"], ports["alertmanager"], jobs
        )
        for s in (broker, cache, am):
            s.start(base_env)
            started.append(s)
        wait_port(ports["redis"], time.monotonic() + 10)
        wait_port(ports["cache"], time.monotonic() + 10)
        for s in services.values():
            env = base_env
            if s.name == "orders":  # two gunicorn workers: one /metrics for both
                env = {**base_env, "MSATRACE_METRICS_DIR": str(work / "orders-metrics")}
            s.start(env)
            started.append(s)
        deadline = time.monotonic() + START_TIMEOUT
        for name in ("inventory", "orders", "gateway"):
            wait_http(services[name], deadline)
        wait_line(services["worker"], "ready", deadline)
        for name in jobs:  # the first scrape of a cold service is slow: not a "service down"
            monitoring.warm_up(ports[name])
        prom.start(base_env)  # once the services answer: no "service down" alert at start-up
        started.append(prom)
        while not (monitoring.ready(am) and monitoring.all_up(prom, list(jobs))):
            if time.monotonic() > deadline or not (prom.alive() and am.alive()):
                raise RuntimeError(
                    "Prometheus did not scrape every service, or Alertmanager did not start"
                )
            time.sleep(0.2)
        print(f"  all up in {time.monotonic() - began:.1f} s; OTLP receiver {receiver.endpoint}")
        for name, port in ports.items():
            print(f"  {name:12} 127.0.0.1:{port}")
        print(f"  {'stand-ins':12} {stand_ins.url} (Slack, Jira, PagerDuty)")
        incident = Incident(services, receiver, stand_ins, prom, cache)
        incident.stock_cache_env = base_env
        stand_ins.trace_text = lambda tid: trace_text(receiver.trace(tid))
        ok = run_scenario(services, receiver, incident)
    except KeyboardInterrupt:
        print("\ninterrupted")
    except Exception as exc:
        print(paint(f"\ndemo failed: {type(exc).__name__}: {exc}", "31;1"))
        for s in started:
            for line in s.lines[-15:]:
                print(f"  {s.name:9} | {line}")
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut this short
        stand_ins.on_message = None  # what the stopping services still send is not the story
        stop_all(started + ([cache] if cache not in started else []))
        receiver.stop()
        stand_ins.stop()
        shutil.rmtree(work, ignore_errors=True)
        print(f"\nstopped every process the demo started ({time.monotonic() - began:.1f} s)")
    return 0 if ok else 1


def trace_text(spans: list[ReceivedSpan]) -> str:
    """What the trace link in a notification shows: the trace's spans, in start order."""
    lines = [
        f"{s.service:10} {s.name:40} {s.status}" for s in sorted(spans, key=lambda s: s.start_ns)
    ]
    return "\n".join(lines) + "\n"


def run_scenario(services: dict[str, Service], receiver: OTLPReceiver, incident: Incident) -> bool:
    calls = [
        Call("order placed, confirmation queued", "/checkout/espresso-beans?qty=2", 201),
        Call("unknown product: 404 from inventory", "/checkout/teapot", 404),
        Call("bug deep in inventory, personal data", "/checkout/moka-pot", 502),
    ]
    incident.run(normal=calls[:2], bug_call=calls[2])
    print(paint("\nThe three traced requests", "1"))
    for call in calls:
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
        calls[2].trace_id: set(SERVICES),  # the worker tells the customer
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

    if not print_checks(incident.checks()):
        problems.append("a step of the incident was not seen (see above)")
    if problems:
        print(paint("\nSomething the demo should show did not happen:", "31;1"))
        for p in problems:
            print(f"  - {p}")
        return False
    print(
        paint(
            "\nOne trace ID in every log line, header, span, Slack message and Jira issue, across"
            " four processes; the bug paged and resolved; no personal data anywhere.",
            "32",
        )
    )
    return True


if __name__ == "__main__":
    sys.exit(main())
