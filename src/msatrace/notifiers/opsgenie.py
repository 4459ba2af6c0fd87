"""Opsgenie Alert API: one alert per bug (``alias`` = the fingerprint).

A thin adapter: Atlassian has announced Opsgenie's end of support (its successor is Jira Service
Management). New and returned bugs create an alert whose ``alias`` is the fingerprint, so
Opsgenie counts repeats on the open alert; digests are not sent. Field limits: ``message`` 130
characters, ``alias`` 512, ``description`` 15,000. Opsgenie answers 202 and processes the
request later.
"""

from __future__ import annotations

import json
from typing import Any

from msatrace._core.errors.http import post
from msatrace._core.errors.noise import Report
from msatrace.notifiers._text import headline, stack, trace_url, truncate

ALERTS_URL = "https://api.opsgenie.com/v2/alerts"
PRIORITIES = ("P1", "P2", "P3", "P4", "P5")


class OpsgenieNotifier:
    """Creates an Opsgenie alert with an API integration key."""

    name = "opsgenie"

    def __init__(
        self,
        api_key: str,
        *,
        priority: str = "P3",
        trace_url: str | None = None,
        url: str = ALERTS_URL,
        timeout: float = 5.0,
    ) -> None:
        if priority not in PRIORITIES:
            raise ValueError(f"priority={priority!r}: expected one of {', '.join(PRIORITIES)}")
        self._api_key = api_key.strip()
        self.priority = priority
        self.trace_url = trace_url
        self.url = url
        self.timeout = timeout

    def send(self, report: Report) -> None:
        if report.kind == "digest":
            return
        body = json.dumps(self.alert(report), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"GenieKey {self._api_key}"}
        post(self.url, body, headers, timeout=self.timeout)

    def alert(self, report: Report) -> dict[str, Any]:
        e = report.event
        link = trace_url(self.trace_url, e.trace_id)
        details = {
            "trace_id": e.trace_id, "trace_url": link, "request_id": e.request_id,
            "route": " ".join(p for p in (e.method, e.route) if p) or None,
            "status": None if e.status is None else str(e.status), "service": e.service,
            "environment": e.environment, "version": e.version, "culprit": e.culprit,
        }  # fmt: skip
        description = f"{headline(report)}\n\nTrace: {link or e.trace_id}\n\n{stack(report, 14000)}"
        return {
            "message": truncate(f"[{e.service}] {e.title}", 130),
            "alias": e.fingerprint[:512],
            "description": truncate(description, 15000),
            "priority": self.priority,
            "source": truncate(f"{e.service}@{e.host}", 100),
            "entity": truncate(e.service, 512),
            "tags": ["msatrace", e.environment] if e.environment else ["msatrace"],
            "details": {k: truncate(str(v), 8000) for k, v in details.items() if v},
        }
