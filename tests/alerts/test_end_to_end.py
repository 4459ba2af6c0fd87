"""End to end: Prometheus 2.42 with the generated rules, Alertmanager 0.25 with the generated
configuration, and local stand-ins for Slack's incoming webhooks and PagerDuty's Events v2 API.

The scraped service is a stand-in exposition (the real msatrace metrics land with issue 15):
errors are driven above the threshold, stop, and the target is killed. Intervals and ``for``
are shortened through the command's options. Time-to-alert is printed, not asserted (no timed
assertions on a shared machine).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from msatrace import cli
from msatrace._alerting import render
from tests.alerts import stack
from tests.conftest import need

pytestmark = pytest.mark.integration
ROUTING_KEY = "0123456789abcdef0123456789abcdef"


class Receivers:
    """Slack, PagerDuty and webhook stand-ins on one port; every POST kept with its path."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any], float]] = []
        self.headers: list[tuple[str, dict[str, str]]] = []  # (path, headers) of every POST
        self._lock = threading.Lock()
        receivers = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receivers._lock:
                    receivers.posts.append((self.path, body, time.monotonic()))
                    receivers.headers.append((self.path, dict(self.headers.items())))
                status = 202 if self.path.startswith("/pagerduty") else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def find(self, path: str, match: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        with self._lock:
            return [body for p, body, _ in self.posts if p == path and match(body)]

    def first_time(self, path: str, match: Callable[[dict[str, Any]], bool]) -> float | None:
        with self._lock:
            return next((t for p, body, t in self.posts if p == path and match(body)), None)


@pytest.fixture
def receivers() -> Iterator[Receivers]:
    r = Receivers()
    yield r
    r.close()


def slack_shape(body: dict[str, Any]) -> bool:
    """An incoming-webhook message: attachments with title and text (Slack's legacy format)."""
    attachments = body.get("attachments")
    return (
        isinstance(attachments, list)
        and len(attachments) > 0
        and all(
            isinstance(a.get("title"), str) and isinstance(a.get("text"), str) for a in attachments
        )
    )


def pagerduty_shape(body: dict[str, Any]) -> bool:
    """An Events API v2 event as PagerDuty accepts it (trigger needs payload fields)."""
    if body.get("routing_key") != ROUTING_KEY or not body.get("dedup_key"):
        return False
    if body.get("event_action") == "resolve":
        return True
    payload = body.get("payload", {})
    return (
        body.get("event_action") == "trigger"
        and isinstance(payload.get("summary"), str)
        and 0 < len(payload["summary"]) <= 1024
        and bool(payload.get("source"))
        and payload.get("severity") in {"critical", "error", "warning", "info"}
    )


def _title(body: dict[str, Any]) -> str:
    return " ".join(a["title"] for a in body.get("attachments", []))


def _text(body: dict[str, Any]) -> str:
    return " ".join(a["text"] for a in body.get("attachments", []))


def generate(
    tmp_path: Path,
    receivers: Receivers,
    selection: list[str],
    secrets: dict[str, str] | None = None,
    *extra: str,
) -> Path:
    """``msatrace alerts`` for ``selection`` (service names or ``--config``), made quick (5-s
    ``for``, 1-s evaluation, short grouping) and sending to the stand-ins, with its secrets
    script run (Slack, PagerDuty and ``secrets``); the output directory."""
    out = tmp_path / "out"
    argv = ["alerts", *selection, "--out", str(out), "--for", "5s", "--evaluation-interval", "1s"]
    argv += ["--group-wait", "1s", "--group-interval", "2s", "--secrets-dir", str(tmp_path / "s")]
    argv += ["--webhook-url", receivers.url + "/webhook"]
    argv += ["--pagerduty-url", receivers.url + "/pagerduty/v2/enqueue", *extra]
    assert cli.main(argv) == 0
    base = {
        "SLACK_PAGE_WEBHOOK_URL": receivers.url + "/slack/page",
        "SLACK_TICKET_WEBHOOK_URL": receivers.url + "/slack/ticket",
        "PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
    }
    stack.install_secrets(out / render.SECRETS, {**base, **(secrets or {})})
    return out


def test_errors_page_slack_and_pagerduty_resolve_and_a_down_service_inhibits(
    tmp_path: Path, receivers: Receivers
) -> None:
    """Errors reach Slack and PagerDuty with service, route and value; they resolve; a down
    service pages for being down while its error-ratio alert is inhibited."""
    need("yaml")
    out = generate(tmp_path, receivers, ["orders"])
    error_ratio = stack.error_ratio

    with stack.alertmanager(tmp_path, out / render.ALERTMANAGER) as am, stack.Exposition() as expo:
        expo.health = 1
        with stack.prometheus(tmp_path, out / "*.rules.yml", {"orders": expo.port}, am.port):
            started = time.monotonic()
            slack = stack.wait(lambda: receivers.find("/slack/page", error_ratio), timeout=120)
            pd = stack.wait(lambda: receivers.find("/pagerduty/v2/enqueue", error_ratio), 60)
            to_slack = (receivers.first_time("/slack/page", error_ratio) or started) - started
            to_pd = (
                receivers.first_time("/pagerduty/v2/enqueue", error_ratio) or started
            ) - started
            print(f"time to alert: Slack {to_slack:.1f} s, PagerDuty {to_pd:.1f} s")

            expo.set_error_share(0.0)
            expo.per_second = 50_000.0  # traffic recovers: the 5-minute error ratio falls below 5 %

            def resolved(body: dict[str, Any]) -> bool:
                return error_ratio(body) and "RESOLVED" in _title(body)

            slack_resolved = stack.wait(lambda: receivers.find("/slack/page", resolved), 120)
            key = pd[0]["dedup_key"] if pd else None

            def pd_resolve(body: dict[str, Any]) -> bool:
                return body.get("event_action") == "resolve" and body.get("dedup_key") == key

            pd_resolved = stack.wait(
                lambda: receivers.find("/pagerduty/v2/enqueue", pd_resolve), 60
            )

            def down(body: dict[str, Any]) -> bool:
                return "MsatraceServiceDown" in _title(body) and "FIRING" in _title(body)

            # (With for: 5s, Prometheus' first seconds, before its first scrape, may already
            # have sent one: count only the pages after the kill.)
            earlier = len(receivers.find("/slack/page", down))
            expo.close()  # the service dies
            down_pages = stack.wait(lambda: receivers.find("/slack/page", down)[earlier:], 120)

            # While it is down, an error-ratio alert for the same service reaches Alertmanager:
            # the inhibition rule must hold it back.
            def orders_errors(body: dict[str, Any]) -> bool:
                return error_ratio(body) and "FIRING" in _title(body) and "orders" in _title(body)

            before = len(receivers.find("/slack/page", orders_errors))
            _post_alert(am.url, "MsatraceHighErrorRatio", "orders")
            inhibited = stack.wait(lambda: _inhibited(am.url, "MsatraceHighErrorRatio"), 30)
            # A control alert for another service, posted after it, goes through the same
            # dispatcher: once it has arrived, the inhibited one would have arrived too.
            _post_alert(am.url, "MsatraceHighErrorRatio", "payments")
            control = stack.wait(
                lambda: receivers.find("/slack/page", lambda b: "payments" in _title(b)), 60
            )
            after = len(receivers.find("/slack/page", orders_errors))

    assert slack
    assert all(slack_shape(b) for b in slack)
    assert "[FIRING" in _title(slack[0])
    assert "orders" in _title(slack[0])
    assert "/orders/{id}" in _text(slack[0])
    assert "50%" in _text(slack[0])
    assert pd
    assert all(pagerduty_shape(b) for b in pd)
    trigger = pd[0]
    assert trigger["event_action"] == "trigger"
    assert "/orders/{id}" in trigger["payload"]["summary"]
    assert "50%" in trigger["payload"]["summary"]
    assert trigger["payload"]["custom_details"]["service"] == "orders"
    assert slack_resolved
    assert all(slack_shape(b) for b in slack_resolved)
    assert pd_resolved
    assert all(pagerduty_shape(b) for b in pd_resolved)
    assert down_pages
    assert "orders" in _title(down_pages[0])
    assert inhibited
    assert control
    assert after == before
    webhook = receivers.find("/webhook", error_ratio)
    assert webhook
    assert webhook[0]["version"] == "4"


def _post_alert(base: str, name: str, service: str) -> None:
    """Post one firing page alert for ``service`` to Alertmanager's API, as Prometheus would."""
    route = "/orders/{id}"
    alert = [
        {
            "labels": {
                "alertname": name,
                "service": service,
                "severity": "page",
                "http_route": route,
            },
            "annotations": {"summary": f"{service} {route}: posted by the test"},
        }
    ]
    request = urllib.request.Request(
        base + "/api/v2/alerts",
        data=json.dumps(alert).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def _inhibited(base: str, name: str) -> bool:
    with urllib.request.urlopen(base + "/api/v2/alerts?inhibited=true", timeout=10) as response:
        alerts = json.load(response)
    return any(a["labels"]["alertname"] == name and a["status"]["inhibitedBy"] for a in alerts)
