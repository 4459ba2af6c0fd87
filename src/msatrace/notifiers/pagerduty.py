"""PagerDuty Events API v2: one alert per bug (``dedup_key`` = the fingerprint).

A new bug, or one that returned, triggers with the fingerprint as ``dedup_key``: PagerDuty adds
repeats to the open alert instead of opening another. Digests are not sent (PagerDuty counts
repeats itself). Field limits: ``summary`` 1,024 characters, ``dedup_key`` 255.
"""

from __future__ import annotations

import json
import time
from typing import Any

from msatrace._core.errors.http import post
from msatrace._core.errors.noise import Report
from msatrace.notifiers._text import headline, trace_url, truncate

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
SEVERITIES = ("critical", "error", "warning", "info")


class PagerDutyNotifier:
    """Triggers a PagerDuty alert through an Events API v2 integration (routing) key."""

    name = "pagerduty"

    def __init__(
        self,
        routing_key: str,
        *,
        severity: str = "error",
        trace_url: str | None = None,
        url: str = EVENTS_URL,
        timeout: float = 5.0,
    ) -> None:
        if len(routing_key) != 32:
            raise ValueError("PagerDuty routing keys are 32 characters (an Events API v2 key)")
        if severity not in SEVERITIES:
            raise ValueError(f"severity={severity!r}: expected one of {', '.join(SEVERITIES)}")
        self._routing_key = routing_key
        self.severity = severity
        self.trace_url = trace_url
        self.url = url
        self.timeout = timeout

    def send(self, report: Report) -> None:
        if report.kind == "digest":
            return
        body = json.dumps(self.event(report), ensure_ascii=False).encode()
        post(self.url, body, {"Content-Type": "application/json"}, timeout=self.timeout)

    def event(self, report: Report) -> dict[str, Any]:
        e = report.event
        link = trace_url(self.trace_url, e.trace_id)
        details = {
            "trace_id": e.trace_id, "trace_url": link, "request_id": e.request_id,
            "route": " ".join(p for p in (e.method, e.route) if p) or None, "status": e.status,
            "service": e.service, "environment": e.environment, "version": e.version,
            "culprit": e.culprit, "count": report.count, "kind": report.kind,
        }  # fmt: skip
        event: dict[str, Any] = {
            "routing_key": self._routing_key,
            "event_action": "trigger",
            "dedup_key": e.fingerprint[:255],
            "payload": {
                "summary": truncate(f"[{e.service}] {headline(report)}", 1024),
                "source": truncate(f"{e.service}@{e.host}", 255),
                "severity": self.severity,
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(e.timestamp)),
                "component": e.service or None,
                "group": e.route,
                "class": e.exceptions[0].type,
                "custom_details": {k: v for k, v in details.items() if v is not None},
            },
        }
        if link:
            event["links"] = [{"href": link, "text": f"Trace {e.trace_id}"}]
        event["payload"] = {k: v for k, v in event["payload"].items() if v is not None}
        return event
