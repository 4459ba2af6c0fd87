"""A Grafana dashboard (JSON model, schema 36+) for the same metrics and recorded series.

One row of panels per concern: traffic, errors, latency, the two SLOs, outgoing calls, tasks,
Celery consumers, health. ``$service`` picks the service, ``$datasource`` the Prometheus.
Imports the standard library and its siblings.
"""

from __future__ import annotations

from typing import Any

from msatrace._alerting import names as n
from msatrace._alerting import rules
from msatrace._alerting.spec import Spec

RATE = "$__rate_interval"


def queries(spec: Spec) -> list[tuple[str, str, str, list[str]]]:
    """(panel title, unit, legend, PromQL expressions) in panel order."""
    job = f'{spec.service_label}="$service"'
    me = f'{n.SERVICE}="$service"'
    count = f"{n.HTTP_SERVER_DURATION}_count{{{job}}}"
    client = n.HTTP_CLIENT_DURATION
    by_server = f"sum by ({n.SERVER_ADDRESS}, le)"
    tasks = f"{n.TASK_DURATION}_count{{{job}}}"
    return [
        (
            "Requests per second by route",
            "reqps",
            f"{{{{{n.ROUTE}}}}}",
            [f"sum by ({n.ROUTE}) (rate({count}[{RATE}]))"],
        ),
        (
            "Failed requests (5xx or exception) by route, 5m",
            "percentunit",
            f"{{{{{n.ROUTE}}}}}",
            [f"{rules.ROUTE_ERRORS}{{{me}}}"],
        ),
        (
            "Latency p50 / p95 / p99 by route, 5m",
            "s",
            f"{{{{{n.ROUTE}}}}}",
            [
                f"service_route:http_server_request_duration_seconds:{q}_rate5m{{{me}}}"
                for q, _ in rules.QUANTILES
            ],
        ),
        ("Requests in progress", "short", "in progress", [f"sum({n.HTTP_SERVER_ACTIVE}{{{job}}})"]),
        (
            "Availability SLI: failed share, 1h and 1d",
            "percentunit",
            "failed",
            [f"{rules.error_ratio('1h')}{{{me}}}", f"{rules.error_ratio('1d')}{{{me}}}"],
        ),
        (
            "Latency SLI: share slower than the objective's threshold, 1h and 1d",
            "percentunit",
            "slow",
            [f"{rules.slow_ratio('1h')}{{{me}}}", f"{rules.slow_ratio('1d')}{{{me}}}"],
        ),
        (
            "Outgoing calls p99 by server",
            "s",
            f"{{{{{n.SERVER_ADDRESS}}}}}",
            [f"histogram_quantile(0.99, {by_server} (rate({client}_bucket{{{job}}}[{RATE}])))"],
        ),
        (
            "Failed outgoing calls per second by server",
            "reqps",
            f"{{{{{n.SERVER_ADDRESS}}}}}",
            [
                f"sum by ({n.SERVER_ADDRESS}) "
                f"(rate({client}_count{{{job},{n.ERROR_MATCHER}}}[{RATE}]))"
            ],
        ),
        (
            "Task runs per second by task and outcome",
            "ops",
            f"{{{{{n.TASK_NAME}}}}} {{{{{n.OUTCOME}}}}}",
            [f"sum by ({n.TASK_NAME}, {n.OUTCOME}) (rate({tasks}[{RATE}]))"],
        ),
        (
            "Celery messages processed per second by error",
            "ops",
            f"{{{{{n.ERROR_TYPE}}}}}",
            [
                f"sum by ({n.MESSAGING_OPERATION}, {n.ERROR_TYPE}) "
                f"(rate({n.MESSAGING_PROCESS_DURATION}_count{{{job}}}[{RATE}]))"
            ],
        ),
        (
            "Health checks (1 pass, 0 fail)",
            "short",
            f"{{{{{n.CHECK}}}}}",
            [f"min by ({n.CHECK}, {n.CRITICAL}) ({n.HEALTH_STATUS}{{{job}}})"],
        ),
        ("Targets up", "short", "{{instance}}", [f"{n.UP}{{{job}}}"]),
    ]


def dashboard(spec: Spec) -> dict[str, Any]:
    """The dashboard's JSON model."""
    source = {"type": "prometheus", "uid": "${datasource}"}
    panels = []
    for i, (title, unit, legend, exprs) in enumerate(queries(spec)):
        panels.append(
            {
                "id": i + 1,
                "type": "timeseries",
                "title": title,
                "datasource": source,
                "gridPos": {"h": 8, "w": 12, "x": 12 * (i % 2), "y": 8 * (i // 2)},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "targets": [
                    {
                        "refId": chr(ord("A") + j),
                        "datasource": source,
                        "expr": e,
                        "legendFormat": legend,
                    }
                    for j, e in enumerate(exprs)
                ],
            }
        )
    names = [s.name for s in spec.services]
    return {
        "title": "msatrace services",
        "uid": "msatrace-services",
        "tags": ["msatrace"],
        "timezone": "",
        "schemaVersion": 36,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "type": "datasource",
                    "query": "prometheus",
                    "label": "Prometheus",
                },
                {
                    "name": "service",
                    "type": "custom",
                    "label": "Service",
                    "query": ",".join(names),
                    "current": {"text": names[0], "value": names[0]},
                    "options": [{"text": x, "value": x, "selected": x == names[0]} for x in names],
                },
            ]
        },
        "panels": panels,
    }
