"""The Prometheus rule file: recording rules and alerts, one group per service.

Every series a group records carries ``service`` (a rule label: the name the group is for, read
from the service's scrape job or ``--service-label``) and every alert carries ``service`` and
``severity`` (``page`` or ``ticket``). The SLO alerts follow the multi-window, multi-burn-rate
scheme of the Google SRE workbook (chapter "Alerting on SLOs") for a 30-day budget. Imports the
standard library and its siblings.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote_plus

from msatrace._alerting import names as n
from msatrace._alerting.promql import le_regex, num, percent, selector
from msatrace._alerting.spec import Service, Spec

# (long window, short window, burn factor): the workbook's table for a 30-day budget; the short
# window is 1/12 of the long one, so an alert stops soon after the errors do.
FAST_BURNS = (("1h", "5m", Decimal("14.4")), ("6h", "30m", Decimal("6")))
SLOW_BURNS = (("1d", "2h", Decimal("3")), ("3d", "6h", Decimal("1")))
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
_WINDOW_SECONDS = {
    "5m": 300,
    "30m": 1800,
    "1h": 3600,
    "2h": 7200,
    "6h": 21600,
    "1d": 86400,
    "3d": 259200,
}
QUANTILES = (("p50", "0.5"), ("p95", "0.95"), ("p99", "0.99"))

ROUTE_REQUESTS = "service_route:http_server_requests:rate5m"
ROUTE_ERRORS = "service_route:http_server_error_ratio:ratio_rate5m"
ROUTE_P99 = "service_route:http_server_request_duration_seconds:p99_rate5m"
TASKS = "service_task:msatrace_tasks:rate5m"
TASK_FAILURES = "service_task:msatrace_task_failure_ratio:ratio_rate5m"
# How each alert's summary names "the route" it is about: the label, or what the alert covers.


def label(name: str, pipe: str = "") -> str:
    """The Go template text of an alert's label ``name``, through ``pipe`` if given."""
    return "{{ $labels." + name + (f" | {pipe}" if pipe else "") + " }}"


ROUTE_OF = {"route": label(n.ROUTE), "task": "task " + label(n.TASK_NAME)}
# The alert's value in its text: as a number (4 significant digits) or as a percentage.
VALUE = '{{ $value | printf "%.4g" }}'
PERCENT = "{{ $value | humanizePercentage }}"
# What a link's {route} becomes: the alert's route (or task), URL-encoded at alert time.
_LINK_ROUTE = {
    "route": label(n.ROUTE, "urlquery"),
    "task": label(n.TASK_NAME, "urlquery"),
}


def requests(window: str) -> str:
    return f"service:http_server_requests:rate{window}"


def error_ratio(window: str) -> str:
    return f"service:http_server_error_ratio:ratio_rate{window}"


def slow_ratio(window: str) -> str:
    return f"service:http_server_slow_ratio:ratio_rate{window}"


@dataclass(frozen=True)
class Alert:
    """One alerting rule of one service, with what its tests need to know about it."""

    name: str
    service: Service
    severity: str
    for_: str
    expr: str
    scope: str  # route, service, task or check: which labels the alert keeps from its expression
    summary: str
    description: str
    labels: tuple[tuple[str, str], ...] = ()  # static labels besides service and severity

    def rule(self, spec: Spec) -> dict[str, Any]:
        """The rule as the rule file writes it."""
        labels = {"severity": self.severity, n.SERVICE: self.service.name, **dict(self.labels)}
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": spec.for_override or self.for_,
            "labels": labels,
            "annotations": self.annotations(spec, _LINK_ROUTE.get(self.scope, "")),
        }

    def annotations(self, spec: Spec, route: str) -> dict[str, str]:
        """summary, description and the two links, ``route`` put in their ``{route}``."""
        links = {
            key: url.replace("{service}", quote_plus(self.service.name, safe="")).replace(
                "{route}", route
            )
            for key, url in (("traces_url", spec.traces_url), ("logs_url", spec.logs_url))
        }
        return {"summary": self.summary, "description": self.description, **links}


def groups(spec: Spec) -> list[dict[str, Any]]:
    """The rule file's groups: per service, its recording rules, then its alerts."""
    return [
        {
            "name": f"msatrace-{s.name}",
            "interval": spec.evaluation_interval,
            "rules": [
                *recording(spec, s),
                *(a.rule(spec) for a in alerts(spec, s)),
            ],
        }
        for s in spec.services
    ]


def recording(spec: Spec, s: Service) -> list[dict[str, Any]]:
    """Request rate, error ratio and latency quantiles per route; SLIs per window; task ratios."""
    job = f'{spec.service_label}="{s.name}"'
    count = n.HTTP_SERVER_DURATION + "_count"
    bucket = n.HTTP_SERVER_DURATION + "_bucket"
    task = n.TASK_DURATION + "_count"

    def rec(name: str, expr: str) -> dict[str, Any]:
        return {"record": name, "expr": expr, "labels": {n.SERVICE: s.name}}

    def ratio(metric: str, by: str, window: str, failed: str) -> str:
        agg = f"sum{by} " if by else "sum"
        total = f"{agg}(rate({selector(metric, job)}[{window}]))"
        bad = f"{agg}(rate({selector(metric, job, failed)}[{window}]))"
        # "or 0 * total": a route with traffic and no failure has ratio 0, not no series at all.
        return f"(\n  {bad}\n  or\n  0 * {total}\n)\n/\n{total}"

    by_route = f" by ({n.ROUTE})"
    rules = [
        rec(ROUTE_REQUESTS, f"sum{by_route} (rate({selector(count, job)}[5m]))"),
        rec(ROUTE_ERRORS, ratio(count, by_route, "5m", n.ERROR_MATCHER)),
    ]
    for name, q in QUANTILES:
        rules.append(
            rec(
                f"service_route:http_server_request_duration_seconds:{name}_rate5m",
                f"histogram_quantile({q}, sum by ({n.ROUTE}, le) "
                f"(rate({selector(bucket, job)}[5m])))",
            )
        )
    fast = f'le=~"{le_regex(num(s.latency_threshold))}"'
    for w in WINDOWS:
        total = f"sum(rate({selector(count, job)}[{w}]))"
        rules.append(rec(requests(w), total))
        rules.append(rec(error_ratio(w), ratio(count, "", w, n.ERROR_MATCHER)))
        rules.append(
            rec(
                slow_ratio(w),
                f"1 - (\n  sum(rate({selector(bucket, job, fast)}[{w}]))\n  /\n  {total}\n)",
            )
        )
    by_task = f" by ({n.TASK_NAME})"
    rules.append(rec(TASKS, f"sum{by_task} (rate({selector(task, job)}[5m]))"))
    failed = f'{n.OUTCOME}="{n.OUTCOME_FAILURE}"'
    rules.append(rec(TASK_FAILURES, ratio(task, by_task, "5m", failed)))
    return rules


def alerts(spec: Spec, s: Service) -> list[Alert]:
    """The service's alerts, in the order the rule file lists them."""
    me = f'{n.SERVICE}="{s.name}"'
    guard = s.min_requests
    route, task = ROUTE_OF["route"], ROUTE_OF["task"]

    def guarded(ratio: str, threshold: Decimal, events: str) -> str:
        # The minimum-traffic guard: at least min_requests events in the 5-minute window.
        return f"{ratio}{{{me}}} > {num(threshold)}\nand\n{events}{{{me}}} * 300 >= {guard}"

    a = [
        Alert(
            "MsatraceHighErrorRatio",
            s,
            "page",
            "2m",
            guarded(ROUTE_ERRORS, s.error_ratio, ROUTE_REQUESTS),
            "route",
            f"{s.name} {route}: {PERCENT} of requests failed over 5m "
            f"(threshold {percent(s.error_ratio)})",
            f"Service {s.name}, route {route}: {PERCENT} of requests ended in a 5xx or an "
            f"exception over the last 5 minutes; the threshold is {percent(s.error_ratio)}, "
            f"checked once the route had at least {guard} requests in the window.",
        ),
        Alert(
            "MsatraceHighLatencyP99",
            s,
            "ticket",
            "5m",
            guarded(ROUTE_P99, s.p99_latency, ROUTE_REQUESTS),
            "route",
            f"{s.name} {route}: p99 latency {VALUE}s over 5m (threshold {num(s.p99_latency)}s)",
            f"Service {s.name}, route {route}: 99% of requests took up to {VALUE}s over the "
            f"last 5 minutes; the threshold is {num(s.p99_latency)}s, checked once the route had "
            f"at least {guard} requests.",
        ),
    ]
    for slo, objective, sli, what in (
        ("availability", s.availability, error_ratio, "failed (5xx or exception)"),
        ("latency", s.latency_objective, slow_ratio, f"slower than {num(s.latency_threshold)}s"),
    ):
        for speed, severity, burns, for_ in (
            ("Fast", "page", FAST_BURNS, "2m"),
            ("Slow", "ticket", SLOW_BURNS, "15m"),
        ):
            budget = num(1 - objective)
            branches = [
                f"  {sli(long)}{{{me}}} / {budget} > {num(f)}\n"
                f"  and\n  {sli(short)}{{{me}}} / {budget} > {num(f)}\n"
                f"  and\n  {requests(long)}{{{me}}} * {_WINDOW_SECONDS[long]} >= {guard}"
                for long, short, f in burns
            ]
            windows = " or ".join(f"{num(f)}x over {long} and {short}" for long, short, f in burns)
            a.append(
                Alert(
                    f"Msatrace{slo.capitalize()}BudgetBurn{speed}",
                    s,
                    severity,
                    for_,
                    "(\n" + "\n)\nor\n(\n".join(branches) + "\n)",
                    "service",
                    f"{s.name} (all routes): {slo} error budget burning {VALUE}x the sustainable "
                    f"rate (objective {percent(objective)})",
                    f"Service {s.name}, all routes: requests {what} over the last "
                    f"{' or '.join(long for long, _, _ in burns)} "
                    f"use the 30-day {slo} error budget {VALUE} times as fast as the objective "
                    f"of {percent(objective)} allows (budget {percent(1 - objective)}); alerting "
                    f"at {windows}, once at least {guard} requests arrived in the long window.",
                    (("slo", slo),),
                )
            )
    src = f'{spec.service_label}="{s.name}"'
    check = label(n.CHECK)
    a += [
        Alert(
            "MsatraceServiceDown",
            s,
            "page",
            "2m",
            f"max by ({spec.service_label}) ({n.UP}{{{src}}}) == 0\nor\nabsent({n.UP}{{{src}}})",
            "service",
            f"{s.name} (all routes): no target is up or scraped",
            f"Service {s.name}: Prometheus has no successful scrape of any of its targets "
            f"({src}): the service is down, unreachable, or not scraped at all.",
        ),
        Alert(
            "MsatraceReadinessCheckFailing",
            s,
            "page",
            "2m",
            f"min by ({n.CHECK}) "
            f'({n.HEALTH_STATUS}{{{src},{n.CRITICAL}="{n.CRITICAL_TRUE}"}}) == 0',
            "check",
            f"{s.name}: readiness check {check} is failing",
            f"Service {s.name}: the critical readiness check {check} reports "
            "failure (0; 1 is a pass) on at least one instance, so the service is not ready for "
            "traffic there.",
        ),
        Alert(
            "MsatraceTaskFailureRatio",
            s,
            "ticket",
            "5m",
            guarded(TASK_FAILURES, s.task_failure_ratio, TASKS),
            "task",
            f"{s.name} {task}: {PERCENT} of runs failed over 5m "
            f"(threshold {percent(s.task_failure_ratio)})",
            f"Service {s.name}, {task}: {PERCENT} of task runs failed over the last 5 minutes; "
            f"the threshold is {percent(s.task_failure_ratio)}, checked once at least {guard} "
            "runs happened.",
        ),
    ]
    return a
