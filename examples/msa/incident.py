"""The incident the demo tells: normal traffic, a bug, the notifications, the page, recovery.

``Incident.run`` drives the story and prints a timeline, each line with its time since the bug
started; ``Incident.checks`` then says, step by step, whether each was really seen. The
stand-ins (``receivers``), Prometheus and Alertmanager (``monitoring``) and the services are
started by run_demo.py.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import monitoring
from demo_kit import Call, Service, paint, print_waterfall, send, stop_all, svc
from receivers import Message, Receivers

from msatrace.testing import OTLPReceiver

# The personal data a customer's checkout carries: none of it may reach a log line, a span or a
# notification, in any of the shapes it is written in.
PERSONAL = {
    "email": "kim.minji@example.com",
    "card": "4111 1111 1111 1111",
    "phone": "010-1234-5678",
}
PERSONAL_SHAPES = (*PERSONAL.values(), "4111111111111111", "01012345678", "kim.minji")
BUG = "ZeroDivisionError"
ALERT = "MsatraceHighErrorRatio"
NORMAL_SECONDS = 5.0
PAGE_TIMEOUT = 60.0
RESOLVE_TIMEOUT = 60.0


class Timeline:
    """Prints each step as it happens, with its time since the bug started."""

    def __init__(self) -> None:
        self.t0: float | None = None
        self.seen: dict[str, float] = {}  # step -> seconds since the bug started
        self._lock = threading.Lock()

    def since(self) -> float:
        return time.monotonic() - self.t0 if self.t0 is not None else 0.0

    def say(self, text: str, step: str | None = None) -> None:
        with self._lock:
            if step is not None:
                if step in self.seen:
                    return
                self.seen[step] = self.since()
            stamp = f"+{self.since():5.1f}s" if self.t0 is not None else "       "
            print(f"  {paint(stamp, '2')}  {text}", flush=True)


@dataclass
class Traffic:
    """Checkouts from a thread, one after the other; while ``bug`` is on, every third order is
    for the product whose stock forecast divides by zero."""

    port: int
    pause: float = 0.1
    bug: bool = False
    calls: list[Call] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(25)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            sku = "moka-pot" if self.bug and n % 3 == 0 else ("espresso-beans", "grinder")[n % 2]
            call = Call("traffic", f"/checkout/{sku}?qty=1", 502 if sku == "moka-pot" else 201)
            try:
                send(self.port, call)
            except OSError:
                call.status = 0
            self.calls.append(call)
            self._stop.wait(self.pause)


class Incident:
    """The story's state: what was sent, heard and seen, for the timeline and the final check."""

    def __init__(
        self,
        services: dict[str, Service],
        spans: OTLPReceiver,
        receivers: Receivers,
        prometheus: Service,
        stock_cache: Service,
    ) -> None:
        self.services, self.spans, self.receivers = services, spans, receivers
        self.prometheus, self.stock_cache = prometheus, stock_cache
        self.timeline = Timeline()
        self.traffic = Traffic(services["gateway"].port or 0)
        self.stock_cache_env: dict[str, str] = {}  # set by run_demo.py
        self.failing: Call | None = None  # the request with personal data: the first error
        self.readiness: list[int] = []  # /readyz answers seen while the cache was down, then up
        self.fired: set[tuple[str, str]] = set()
        self.resolved: set[tuple[str, str]] = set()
        self._watch = threading.Event()
        receivers.on_message = self.heard

    # --- what arrives, printed as it arrives ----------------------------------------------

    def heard(self, m: Message) -> None:
        say = self.timeline.say
        if m.kind == "slack" and m.path == "/slack/errors":
            text = str(m.body.get("text", ""))
            link = re.search(re.escape(self.receivers.url) + r"/trace/[0-9a-f]{32}", m.text)
            if BUG in text and "more" not in text.split(":")[0]:
                say(
                    f"{paint('Slack #errors', '1')}: {text}"
                    + (f"\n{'':11}link {link.group(0)}" if link else ""),
                    "slack-first",
                )
            elif BUG in text:
                say(f"Slack #errors (digest): {text.split(' (trace')[0]}", None)
            else:
                say(f"Slack #errors: {text}")
        elif m.kind == "jira-issue":
            summary = m.body["fields"]["summary"]
            say(f"{paint('Jira', '1')}: {m.key} created: {summary}", f"jira-created-{m.key}")
        elif m.kind == "jira-comment":
            say(f"Jira: comment on {m.key} (repeats, more trace IDs), no new issue")
        elif m.kind == "slack" and m.path.startswith("/slack/alerts"):
            titles = " ".join(a.get("title", "") for a in m.body.get("attachments", []))
            say(f"Slack #{m.path.split('/')[2]}: {titles}")
        elif m.kind == "pagerduty":
            action = m.body.get("event_action")
            if action == "trigger":
                summary = m.body["payload"]["summary"]
                say(f"{paint('PagerDuty page', '31;1')}: {summary[:110]}")
                if ALERT in summary and "inventory" in summary:
                    self.timeline.seen.setdefault("paged", self.timeline.since())
            else:
                say(f"PagerDuty: {action} {m.body.get('dedup_key', '')[:16]}...")
                if self._pages("resolve"):
                    self.timeline.seen.setdefault("resolved", self.timeline.since())

    def watch_prometheus(self) -> None:
        """Print the alerts Prometheus fires and resolves (its own API, every half second)."""
        while not self._watch.wait(0.5):
            now = {
                (a["labels"].get("alertname", ""), a["labels"].get("service", "")): a
                for a in monitoring.alerts(self.prometheus)
                if a.get("state") == "firing"
            }
            for key, alert in now.items():
                if key not in self.fired:
                    self.fired.add(key)
                    route = alert["labels"].get("http_route", "")
                    value = float(alert.get("value", "0") or 0)
                    shown = f"{value:.1%} failed" if "Ratio" in key[0] else f"burn rate {value:.3g}"
                    self.timeline.say(
                        f"{paint('Prometheus', '1')}: {key[0]} firing for {key[1]} {route}"
                        f" ({shown})"
                    )
            for key in sorted(self.fired - set(now) - self.resolved):
                self.resolved.add(key)
                self.timeline.say(f"Prometheus: {key[0]} for {key[1]} no longer firing")

    # --- the story ----------------------------------------------------------------------------

    def run(self, normal: list[Call], bug_call: Call) -> None:
        """Normal traffic with ``normal`` among it; the bug starts with ``bug_call`` (carrying
        personal data); the page; the waterfall; the cache outage; the recovery."""
        port = self.services["gateway"].port or 0
        watcher = threading.Thread(target=self.watch_prometheus, daemon=True)
        watcher.start()
        print(paint(f"\nNormal traffic for {NORMAL_SECONDS:.0f} s...", "1"))
        self.traffic.start()
        for call in normal:
            send(port, call)
            print(f"  POST {call.path:34} -> {call.status}  X-Trace-ID: {call.trace_id}")
        time.sleep(NORMAL_SECONDS)
        ok = sum(1 for c in self.traffic.calls if c.status == 201)
        print(f"  {len(self.traffic.calls)} orders, {ok} placed")

        print(paint("\nTimeline (time since the bug started)", "1"))
        self.timeline.t0 = time.monotonic()
        self.timeline.say(
            "the bug ships: moka-pot goes on sale, its stock forecast divides by zero; "
            "one order in three fails"
        )
        bug_call.payload = dict(PERSONAL)  # the customer
        self.failing = bug_call
        send(port, bug_call)
        self.timeline.say(
            f"a customer's order with e-mail, card and phone number -> {bug_call.status}, "
            f"X-Trace-ID {bug_call.trace_id}"
        )
        self.traffic.bug = True
        self._wait(lambda: self._pages("trigger"), PAGE_TIMEOUT)
        self.show_failing_trace()

        self.traffic.bug, self.traffic.pause = False, 0.02
        self.timeline.say("fix deployed: moka-pot orders succeed again", "fixed")
        self.cache_outage()
        self._wait(self._recovered, RESOLVE_TIMEOUT)
        self.traffic.stop()
        self._watch.set()
        watcher.join(5)
        seen = self.timeline.seen
        if {"slack-first", "paged", "fixed", "resolved"} <= set(seen):
            print(
                f"\n  The bug reached Slack {seen['slack-first']:.1f} s after it shipped, paged"
                f" the on-call after {seen['paged']:.1f} s; the alert resolved"
                f" {seen['resolved'] - seen['fixed']:.1f} s after the fix."
            )

    def _pages(self, action: str) -> list[dict[str, Any]]:
        return [
            m.body
            for m in self.receivers.of("pagerduty")
            if m.body.get("event_action") == action
            and "inventory" in json.dumps(m.body)
            and (action == "resolve" or ALERT in json.dumps(m.body))
        ]

    def _recovered(self) -> bool:
        return bool(self._pages("resolve")) and bool(self._slack_resolved())

    def _slack_resolved(self) -> list[Message]:
        return [
            m for m in self.receivers.of("slack", "/slack/alerts")
            if "RESOLVED" in m.text and ALERT in m.text and "inventory" in m.text
        ]  # fmt: skip

    def _wait(self, done: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if done():
                return True
            time.sleep(0.25)
        return False

    def show_failing_trace(self) -> None:
        """The waterfall of the first failing request, and the DEBUG lines kept for it."""
        assert self.failing is not None
        call = self.failing
        want = {"gateway", "orders", "inventory", "worker"}
        self._wait(lambda: want <= {s.service for s in self.spans.trace(call.trace_id)}, 10)
        self.timeline.say(f"the on-call opens trace {call.trace_id}:")
        print()
        print_waterfall(self.spans.trace(call.trace_id), call)
        kept = [
            e for e in self.services["inventory"].json_lines()
            if e.get("trace_id") == call.trace_id and e.get("level") == "debug"
        ]  # fmt: skip
        if kept:
            print("  DEBUG lines kept for this failing request (dropped for the others):")
            for e in kept:
                fields = {k: v for k, v in e.items() if k in ("sku", "sold_last_30_days")}
                print(f"    {svc('inventory')} debug   {e.get('event')}  {fields}")
        else:
            print("  no DEBUG line was kept for this failing request")
        print()

    def cache_outage(self) -> None:
        """Stop inventory's Redis (its stock cache): readiness fails; start it: it recovers."""
        stop_all([self.stock_cache], grace=3)
        self.timeline.say("inventory's Redis (stock cache) stopped")
        code = self._readiness_until(lambda c: c == 503)
        self.timeline.say(f"inventory /readyz -> {code}: not ready, taken out of the rotation")
        self.stock_cache.start(self.stock_cache_env)
        code = self._readiness_until(lambda c: c == 200)
        self.timeline.say(f"Redis back: inventory /readyz -> {code}, ready again")

    def _readiness_until(self, wanted: Any, timeout: float = 20.0) -> int:
        port = self.services["inventory"].port
        code = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=3) as r:
                    code = r.status
            except urllib.error.HTTPError as exc:
                code = exc.code
            except OSError:
                code = 0
            if wanted(code):
                break
            time.sleep(0.25)
        self.readiness.append(code)
        return code

    # --- the final check ----------------------------------------------------------------------

    def checks(self) -> list[tuple[str, bool]]:
        """Each step of the story and whether it was seen."""
        assert self.failing is not None
        tid = self.failing.trace_id
        lines = {name: s.json_lines() for name, s in self.services.items()}
        with_trace = {name for name, events in lines.items() if any(
            e.get("trace_id") == tid for e in events
        )}  # fmt: skip
        span_services = {s.service for s in self.spans.trace(tid)}
        errors = self.receivers.of("slack", "/slack/errors")
        first = next((m for m in errors if BUG in m.text), None)
        issues = {k: f for k, f in self.receivers.issues.items() if BUG in f["summary"]}
        issue_text = json.dumps(next(iter(issues.values()), {}))
        comments = sum(len(self.receivers.comments.get(k, [])) for k in issues)
        found = self._personal_data(lines)
        redacted = any(
            "[REDACTED" in json.dumps(e) for e in lines["gateway"] if e.get("trace_id") == tid
        )
        out: list[tuple[str, bool]] = [
            (f"the failing request answered 502 with X-Trace-ID {tid}",
             self.failing.status == 502 and len(tid) == 32),
            ("its trace ID in every service's log lines (gateway, orders, inventory, worker)",
             {"gateway", "orders", "inventory", "worker"} <= with_trace),
            ("its spans from every service arrived", {"gateway", "orders", "inventory"}
             <= span_services and "worker" in span_services),
            ("the first error's Slack message names its trace ID and links to it",
             first is not None and tid in first.text and f"/trace/{tid}" in first.text),
            ("one Jira issue for the bug, with its trace ID", len(issues) == 1
             and tid in issue_text),
            ("its repeats commented on that issue, not filed again", comments >= 1),
            (f"Prometheus fired {ALERT} for inventory", (ALERT, "inventory") in self.fired),
            ("PagerDuty paged for it", bool(self._pages("trigger"))),
            ("inventory's readiness failed without its Redis and recovered",
             self.readiness[:2] == [503, 200]),
            ("the alert resolved: PagerDuty resolve and Slack RESOLVED",
             bool(self._pages("resolve")) and bool(self._slack_resolved())),
            ("the personal data reached the services and was redacted in their lines", redacted),
            ("no e-mail, card or phone number in any log line, span or notification"
             + (f" (found: {', '.join(found)})" if found else ""), not found),
        ]  # fmt: skip
        out.append(("DEBUG lines kept for the failing request, before its error line",
                    self._debug_kept(lines["inventory"], tid)))  # fmt: skip
        return out

    def _personal_data(self, lines: dict[str, list[dict[str, Any]]]) -> list[str]:
        """Where personal data was found: each service's output (every line, JSON or not),
        the spans, the notifications."""
        places: list[str] = []
        for name, service in self.services.items():
            for line in list(service.lines):
                if any(shape in line for shape in PERSONAL_SHAPES):
                    where = "output"
                    if line.startswith("{"):
                        with contextlib.suppress(ValueError):
                            where = f"log line of {json.loads(line).get('logger')}"
                    places.append(f"{name} {where}")
        spans = json.dumps(
            [(s.service, s.name, s.attributes, s.events) for s in self.spans.spans], default=str
        )
        places += ["a span" for shape in PERSONAL_SHAPES if shape in spans][:1]
        for m in list(self.receivers.messages):
            places += [f"{m.kind} {m.path}" for shape in PERSONAL_SHAPES if shape in m.text][:1]
        return sorted(set(places))

    def _debug_kept(self, events: list[dict[str, Any]], tid: str) -> bool:
        mine = [e for e in events if e.get("trace_id") == tid]
        debug = [i for i, e in enumerate(mine) if e.get("level") == "debug" and e.get("buffered")]
        error = [i for i, e in enumerate(mine) if e.get("level") == "error"]
        return bool(debug) and bool(error) and max(debug) < min(error)


def print_checks(results: list[tuple[str, bool]]) -> bool:
    """Print the checklist; True when every step was seen."""
    print(paint("\nEvery step of the incident, seen?", "1"))
    for label, ok in results:
        print(f"  {paint('yes', '32') if ok else paint('NO ', '31;1')}  {label}")
    return all(ok for _, ok in results)
