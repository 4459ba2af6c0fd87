"""``promtool test rules`` cases: for every alert of every service, one firing case and at least
one that must not fire (healthy traffic; for the error-ratio and fast-burn alerts also one failed
request out of one, which the minimum-traffic guard must keep quiet).

Each case gives its own input series and states the alert's labels and annotations exactly as
Prometheus expands them, so an edited threshold, template or expression shows up as a failing
case. Written for promtool 2.42: no ``--run`` filter, no ``external_labels``, ``interval`` on
every case. Imports the standard library and its siblings.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any
from urllib.parse import quote_plus

from msatrace._alerting import names as n
from msatrace._alerting.promql import duration_seconds, num
from msatrace._alerting.rules import FAST_BURNS, VALUE, Alert, alerts, label
from msatrace._alerting.spec import Service, Spec

ROUTE = "/items/{id}"
TASK = "send_email"
CHECK = "database"
INSTANCE = "10.0.0.1:8000"
# Bucket ``le`` values as prometheus_client (under OpenTelemetry's exporter) writes them: 1.0, not
# 1, so the cases also prove the rules' ``le`` regex.
LE = (*(b if "." in b else b + ".0" for b in n.HTTP_BUCKETS), "+Inf")


def document(spec: Spec, rule_file: str) -> dict[str, Any]:
    """The test file: every service's cases, reading ``rule_file`` (beside the test file)."""
    cases = [case for s in spec.services for a in alerts(spec, s) for case in _cases(spec, a)]
    return {
        "rule_files": [rule_file],
        "evaluation_interval": spec.evaluation_interval,
        "tests": cases,
    }


def _cases(spec: Spec, alert: Alert) -> list[dict[str, Any]]:
    s = alert.service
    # Rates have two samples a minute in; the alert is then pending for ``for``; 5 minutes more.
    minutes = math.ceil(duration_seconds(spec.for_override or alert.for_) / 60) + 5
    series = _Series(spec, s, minutes)
    per_min = max(100, s.min_requests)  # traffic the guard lets through in any window
    name = alert.name
    if name == "MsatraceHighErrorRatio":
        share = _share(s.error_ratio)
        return [
            _case(
                spec, alert, minutes, series.http(per_min, share), {n.ROUTE: ROUTE}, share, "fires"
            ),
            _case(spec, alert, minutes, series.http(per_min, Decimal(0)), None, None, "healthy"),
            _case(spec, alert, minutes, series.one_failed(), None, None, "1 failed of 1"),
        ]
    if name == "MsatraceHighLatencyP99":
        low = next((i for i, b in enumerate(n.HTTP_BUCKETS) if Decimal(b) >= s.p99_latency), None)
        if low is None or low + 1 >= len(n.HTTP_BUCKETS):  # observations above the last boundary
            slow, p99 = len(n.HTTP_BUCKETS), float(n.HTTP_BUCKETS[-1])
        else:
            lo, hi = float(n.HTTP_BUCKETS[low]), float(n.HTTP_BUCKETS[low + 1])
            slow, p99 = low + 1, lo + (hi - lo) * 0.99
        return [
            _case(
                spec, alert, minutes, series.latency(per_min, slow), {n.ROUTE: ROUTE}, p99, "fires"
            ),
            _case(spec, alert, minutes, series.latency(per_min, 0), None, None, "fast"),
        ]
    if "BudgetBurn" in name:
        availability = name.startswith("MsatraceAvailability")
        objective = s.availability if availability else s.latency_objective
        budget = 1 - objective
        share = _share(FAST_BURNS[0][2] * budget)
        value = float(share) / float(num(budget))
        if availability:
            bad, good = series.http(per_min, share), series.http(per_min, Decimal(0))
        else:
            threshold = n.HTTP_BUCKETS.index(num(s.latency_threshold))
            bad = series.latency(per_min, threshold + 1, share)
            good = series.latency(per_min, 0)
        result = [
            _case(spec, alert, minutes, bad, {}, value, "fires"),
            _case(spec, alert, minutes, good, None, None, "within objective"),
        ]
        if availability and name.endswith("Fast"):
            result.append(
                _case(spec, alert, minutes, series.one_failed(), None, None, "1 failed of 1")
            )
        return result
    if name == "MsatraceServiceDown":
        src = {spec.service_label: s.name}
        return [
            _case(spec, alert, minutes, series.up(f"1x4 0x{minutes}"), src, None, "target down"),
            _case(spec, alert, minutes, series.up(None), src, None, "not scraped"),
            _case(spec, alert, minutes, series.up(f"1x{minutes}"), None, None, "up"),
        ]
    if name == "MsatraceReadinessCheckFailing":
        return [
            _case(
                spec, alert, minutes, series.health("true", "0"), {n.CHECK: CHECK}, None, "fails"
            ),
            _case(
                spec,
                alert,
                minutes,
                series.health("true", "1") + series.health("false", "0"),
                None,
                None,
                "passes; a non-critical check fails",
            ),
        ]
    if name == "MsatraceTaskFailureRatio":
        share = _share(s.task_failure_ratio)
        return [
            _case(
                spec,
                alert,
                minutes,
                series.tasks(per_min, share),
                {n.TASK_NAME: TASK},
                share,
                "fires",
            ),
            _case(spec, alert, minutes, series.tasks(per_min, Decimal(0)), None, None, "healthy"),
        ]
    raise AssertionError(f"no test cases for {name}")  # every alert must have its cases


def _share(threshold: Decimal) -> Decimal:
    """A failing share clearly above ``threshold`` whose percentage prints exactly (50% or 100%)."""
    return Decimal("0.5") if Decimal("0.5") > threshold else Decimal(1)


def _case(
    spec: Spec,
    alert: Alert,
    minutes: int,
    input_series: list[dict[str, str]],
    labels: dict[str, str] | None,
    value: Decimal | float | None,
    what: str,
) -> dict[str, Any]:
    """One test group; ``labels`` None means the alert must not fire."""
    expected: list[dict[str, Any]] = []
    if labels is not None:
        rule = alert.rule(spec)
        route = labels.get(n.ROUTE, labels.get(n.TASK_NAME, ""))
        annotations = {
            key: _expand(text, labels, value)
            for key, text in alert.annotations(spec, quote_plus(route, safe="")).items()
        }
        expected.append(
            {"exp_labels": {**rule["labels"], **labels}, "exp_annotations": annotations}
        )
    return {
        "name": f"{alert.service.name} {alert.name}: {what}",
        "interval": "1m",
        "input_series": input_series,
        "alert_rule_test": [
            {"eval_time": f"{minutes}m", "alertname": alert.name, "exp_alerts": expected}
        ],
    }


def _expand(text: str, labels: dict[str, str], value: Decimal | float | None) -> str:
    """The template as Prometheus expands it for these labels and value (the few forms used)."""
    for name, label_value in labels.items():
        text = text.replace(label(name), label_value)
    if value is not None:
        v = float(value)
        # Go's %.4g and Python's agree (both C's %g); humanizePercentage is %.4g of v * 100.
        text = text.replace("{{ $value | humanizePercentage }}", f"{v * 100:.4g}%")
        text = text.replace(VALUE, f"{v:.4g}")
    assert "{{" not in text, text  # a template form this function does not know yet
    return text


class _Series:
    """Input series for one service's cases, ``minutes`` + 1 samples a minute apart."""

    def __init__(self, spec: Spec, service: Service, minutes: int) -> None:
        self.spec, self.service, self.minutes = spec, service, minutes
        self.job = f'{spec.service_label}="{service.name}"'

    def _one(self, metric: str, labels: str, values: str) -> dict[str, str]:
        return {"series": f"{metric}{{{self.job},{labels}}}", "values": values}

    def _counter(self, per_min: Decimal | int) -> str:
        return f"0+{num(per_min)}x{self.minutes}"

    def http(self, per_min: int, failed: Decimal) -> list[dict[str, str]]:
        """Request counts on ROUTE, the share ``failed`` answered 500."""
        count = n.HTTP_SERVER_DURATION + "_count"
        base = f'{n.METHOD}="GET",{n.ROUTE}="{ROUTE}"'
        out = []
        if failed < 1:
            ok = f'{base},{n.STATUS}="200"'
            out.append(self._one(count, ok, self._counter(per_min * (1 - failed))))
        if failed > 0:
            bad = f'{base},{n.STATUS}="500",{n.ERROR_TYPE}="500"'
            out.append(self._one(count, bad, self._counter(per_min * failed)))
        return out

    def one_failed(self) -> list[dict[str, str]]:
        """One request in the whole series, failed, three minutes before the evaluation."""
        count = n.HTTP_SERVER_DURATION + "_count"
        labels = f'{n.METHOD}="GET",{n.ROUTE}="{ROUTE}",{n.STATUS}="500",{n.ERROR_TYPE}="500"'
        return [self._one(count, labels, f"0x{self.minutes - 3} 1x3")]

    def latency(
        self, per_min: int, slow_bucket: int, slow: Decimal = Decimal(1)
    ) -> list[dict[str, str]]:
        """Histogram series on ROUTE: the share ``slow`` in bucket ``slow_bucket``, the rest in
        the first bucket (index into LE)."""
        base = f'{n.METHOD}="GET",{n.ROUTE}="{ROUTE}",{n.STATUS}="200"'
        fast_n, slow_n = per_min * (1 - slow), per_min * slow
        out = []
        for i, le in enumerate(LE):
            in_le = fast_n + (slow_n if i >= slow_bucket else 0)
            out.append(
                self._one(
                    n.HTTP_SERVER_DURATION + "_bucket", f'{base},le="{le}"', self._counter(in_le)
                )
            )
        out.append(self._one(n.HTTP_SERVER_DURATION + "_count", base, self._counter(per_min)))
        return out

    def up(self, values: str | None) -> list[dict[str, str]]:
        """``up`` of this service (None: never scraped) and of every other service (up)."""
        src = self.spec.service_label
        out = []
        for other in self.spec.services:
            v = values if other is self.service else f"1x{self.minutes}"
            if v is not None:
                out.append(
                    {"series": f'{n.UP}{{{src}="{other.name}",instance="{INSTANCE}"}}', "values": v}
                )
        return out

    def health(self, critical: str, last: str) -> list[dict[str, str]]:
        check = CHECK if critical == n.CRITICAL_TRUE else "cache"
        labels = f'instance="{INSTANCE}",{n.CHECK}="{check}",{n.CRITICAL}="{critical}"'
        return [self._one(n.HEALTH_STATUS, labels, f"1x4 {last}x{self.minutes}")]

    def tasks(self, per_min: int, failed: Decimal) -> list[dict[str, str]]:
        count = n.TASK_DURATION + "_count"
        out = []
        for outcome, share in ((n.OUTCOME_SUCCESS, 1 - failed), (n.OUTCOME_FAILURE, failed)):
            if share > 0:
                labels = f'{n.TASK_NAME}="{TASK}",{n.OUTCOME}="{outcome}"'
                out.append(self._one(count, labels, self._counter(per_min * share)))
        return out
