"""End to end against a real msatrace service: uvicorn serving a FastAPI app instrumented with
msatrace (its own ``/metrics``), scraped by Prometheus 2.42 with the rules ``msatrace alerts``
generates, Alertmanager 0.25 with the generated configuration, and stand-ins for Slack,
PagerDuty Events v2 and Opsgenie.

The same service is scraped as two jobs, ``orders`` (pages PagerDuty) and ``billing`` (pages
Opsgenie, through the command's config file), so one process proves both pagers. The route is
made to fail (an exception, so a 500 with ``error.type``) until the pages arrive, then serves
only successes until the resolved notifications arrive; then it is stopped, and both jobs page
as down. Time-to-alert is printed, not asserted.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from msatrace._alerting import render
from tests.alerts import stack
from tests.alerts.test_end_to_end import (
    Receivers,
    _text,
    _title,
    generate,
    pagerduty_shape,
    receivers,
    slack_shape,
)
from tests.conftest import need
from tests.integration.servers import start_uvicorn

pytestmark = pytest.mark.integration
OPSGENIE_KEY = "eb243592-faa2-4ba2-a551-1afdf565c889"
CONFIG = """
[defaults]
min_requests = 20

[services.orders]
pager = "pagerduty"

[services.billing]
pager = "opsgenie"
"""

__all__ = ["receivers"]  # the fixture, imported


class Traffic:
    """Requests to the service from a thread: a share fail while ``fail_share`` > 0."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.fail_share = 0.5
        self.pause = 0.05  # about 20 requests a second while failing: few errors to outweigh
        self.sent = {200: 0, 500: 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        n = 0
        while not self._stop.is_set():
            n += 1
            fail = self.fail_share > 0 and (n % round(1 / self.fail_share)) == 0
            try:
                conn.request("GET", f"/orders/{n}" + ("?fail=1" if fail else ""))
                response = conn.getresponse()
                response.read()
                self.sent[response.status] = self.sent.get(response.status, 0) + 1
                if response.will_close or response.status >= 500:
                    # uvicorn drops the connection after an unhandled exception, unannounced
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            if self.pause:
                time.sleep(self.pause)
        conn.close()


def opsgenie_shape(body: dict[str, Any]) -> bool:
    """An Opsgenie alert as its API accepts it: message ≤ 130 characters, a known priority."""
    message = body.get("message")
    return (
        isinstance(message, str)
        and 0 < len(message) <= 130
        and len(body.get("description", "")) <= 15000
        and body.get("priority", "P3") in {"P1", "P2", "P3", "P4", "P5"}
        and bool(body.get("alias"))
    )


def test_a_failing_msatrace_service_pages_and_resolves(
    tmp_path: Path, receivers: Receivers
) -> None:
    """A real service's errors page Slack, PagerDuty and Opsgenie with service, route and value;
    when the errors stop, every one of them gets the resolved notification; when the service
    dies, both pagers get the down alert."""
    need("yaml")
    need("prometheus_client")
    config = tmp_path / "services.toml"
    config.write_text(CONFIG)
    opsgenie = ["--opsgenie-api-url", receivers.url + "/opsgenie/"]
    secrets = {"OPSGENIE_API_KEY": OPSGENIE_KEY}
    out = generate(tmp_path, receivers, ["--config", str(config)], secrets, *opsgenie)
    error_ratio = stack.error_ratio

    def opsgenie_alert(body: dict[str, Any]) -> bool:
        return "MsatraceHighErrorRatio" in str(body.get("message", ""))

    service = start_uvicorn("alerting_app:app", name="orders-service")
    try:
        assert service.port is not None
        jobs = {"orders": service.port, "billing": service.port}
        with (
            stack.alertmanager(tmp_path, out / render.ALERTMANAGER) as am,
            Traffic(service.port) as traffic,
            stack.prometheus(tmp_path, out / "*.rules.yml", jobs, am.port),
        ):
            started = time.monotonic()
            pd = stack.wait(lambda: receivers.find("/pagerduty/v2/enqueue", error_ratio), 120)
            og = stack.wait(lambda: receivers.find("/opsgenie/v2/alerts", opsgenie_alert), 60)
            slack = receivers.find("/slack/page", error_ratio)
            to_pd = receivers.first_time("/pagerduty/v2/enqueue", error_ratio)
            print(f"time to page: {((to_pd or started) - started):.1f} s")
            during = dict(traffic.sent)

            traffic.fail_share, traffic.pause = 0.0, 0.0  # the bug is fixed

            def resolved(body: dict[str, Any]) -> bool:
                return error_ratio(body) and "RESOLVED" in _title(body)

            key = pd[0]["dedup_key"] if pd else None

            def pd_resolve(body: dict[str, Any]) -> bool:
                return body.get("event_action") == "resolve" and body.get("dedup_key") == key

            pd_resolved = stack.wait(
                lambda: receivers.find("/pagerduty/v2/enqueue", pd_resolve), 150
            )
            alias = og[0]["alias"] if og else "?"
            closed = stack.wait(
                lambda: [p for p, _ in receivers.headers if f"/v2/alerts/{alias}/close" in p],
                60,
            )
            slack_resolved = stack.wait(lambda: receivers.find("/slack/page", resolved), 30)
            after = dict(traffic.sent)

            def down(body: dict[str, Any]) -> bool:
                return "MsatraceServiceDown" in json.dumps(body)

            service.stop()  # the service dies: both jobs lose their target
            down_pd = stack.wait(lambda: receivers.find("/pagerduty/v2/enqueue", down), 60)
            down_og = stack.wait(lambda: receivers.find("/opsgenie/v2/alerts", down), 30)
    finally:
        service.stop()

    print(f"requests while failing: {during}; in all: {after}")
    assert during.get(500, 0) > 0, service.output()
    assert pd, f"no page; requests {during}"
    assert all(pagerduty_shape(b) for b in pd)
    orders_page = [b for b in pd if b["payload"]["custom_details"]["service"] == "orders"]
    assert orders_page
    summary = orders_page[0]["payload"]["summary"]
    assert "orders /orders/{id}" in summary
    assert "%" in summary
    assert slack
    assert all(slack_shape(b) for b in slack)
    assert "orders" in _title(slack[0]) or "billing" in _title(slack[0])
    assert "/orders/{id}" in _text(slack[0])
    assert og, "Opsgenie got no alert for billing"
    assert all(opsgenie_shape(b) for b in og)
    assert "billing" in og[0]["message"]
    assert "/orders/{id}" in og[0]["description"]
    auth = {h.get("Authorization") for p, h in receivers.headers if p == "/opsgenie/v2/alerts"}
    assert auth == {f"GenieKey {OPSGENIE_KEY}"}
    assert pd_resolved
    assert all(pagerduty_shape(b) for b in pd_resolved)
    assert closed
    assert slack_resolved
    assert down_pd, "no page when the service died"
    assert down_pd[0]["payload"]["custom_details"]["service"] == "orders"
    assert down_og, "no Opsgenie alert when the service died"
    assert "billing" in down_og[0]["message"]
