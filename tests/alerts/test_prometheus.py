"""Every PromQL expression the generator writes runs on a real Prometheus 2.42 with data in it.

Prometheus scrapes a stand-in exposition carrying the metric names msatrace's metrics use (the
service "orders", failing, slow, with a failing readiness check) and a target that is down (the
service "ghost"), with the generated rules loaded. Each recording rule, each alert (its full
expression, so a misspelt metric or label leaves it empty) and each dashboard query must return
data; "ghost" must be reported down by the ``up`` half of its down alert.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from msatrace._alerting import dashboard, render, spec
from tests.alerts import stack
from tests.conftest import need

pytestmark = pytest.mark.integration


def _generate(tmp_path: Path) -> spec.Spec:
    need("yaml")
    configured = spec.load({}, ("orders", "ghost"), {"evaluation_interval": "1s"})
    render.write(configured, tmp_path / "out")
    return configured


def _rules(tmp_path: Path) -> list[dict[str, Any]]:
    yaml = need("yaml")
    rules = []
    for path in sorted((tmp_path / "out").glob("*.rules.yml")):
        rules += [rule for g in yaml.safe_load(path.read_text())["groups"] for rule in g["rules"]]
    return rules


def _lacking(prom: Any, expr: str) -> str | None:
    """Why ``expr`` fails: no data, or no series with a label the expression groups by."""
    result = stack.query(prom, expr)
    if not result:
        return f"no data: {expr}"
    grouped = {x.strip() for by in re.findall(r"by \(([^)]*)\)", expr) for x in by.split(",")}
    # Grouped by a label no series has: misspelt, or the metric lacks it (error_type is only on
    # failures, so a label need only be on some series).
    seen = {label for series in result for label, value in series["metric"].items() if value}
    absent = sorted(grouped - {"le"} - seen)
    return f"no series has {absent}: {expr}" if absent else None


def test_every_rule_and_dashboard_expression_returns_data(tmp_path: Path) -> None:
    """Recording rules, alert expressions and dashboard queries all find series in Prometheus."""
    configured = _generate(tmp_path)
    rules = _rules(tmp_path)
    orders = [r for r in rules if r["labels"]["service"] == "orders"]
    panels = [
        e.replace("$service", "orders").replace("$__rate_interval", "1m")
        for _, _, _, exprs in dashboard.queries(configured)
        for e in exprs
    ]

    with (
        stack.Exposition() as expo,
        stack.prometheus(
            tmp_path,
            tmp_path / "out" / "*.rules.yml",
            {"orders": expo.port, "ghost": stack.free_port()},
        ) as prom,
    ):

        def empty() -> list[str]:
            exprs = [r["expr"] for r in orders if r.get("alert") != "MsatraceServiceDown"]
            exprs += [f'{r["record"]}{{service="orders"}}' for r in orders if "record" in r]
            return [why for e in exprs + panels if (why := _lacking(prom, e))]

        stack.wait(lambda: not empty(), timeout=90)
        missing = empty()
        log = prom.output()
        down = {
            r["labels"]["service"]: stack.query(prom, r["expr"])
            for r in rules
            if r.get("alert") == "MsatraceServiceDown"
        }
        health = [
            (r["name"], r.get("lastError"))
            for g in stack.get(prom, "/api/v1/rules")["data"]["groups"]
            for r in g["rules"]
            if r["health"] != "ok"
        ]

    assert missing == [], "\n".join(missing) + log
    assert down["orders"] == []
    assert [(s["metric"]["job"], s["value"][1]) for s in down["ghost"]] == [("ghost", "0")]
    assert health == []
