"""Slack: a Block Kit message to an incoming webhook, with a plain-text fallback.

Within Slack's documented limits (header text 150 characters, section text 3,000, 10 fields of
2,000, 50 blocks); every cut is marked with "…". The trace ID links to the trace through
``trace_url`` (e.g. ``https://grafana.example.com/explore?traceId={trace_id}``).
"""

from __future__ import annotations

import json
from typing import Any

from msatrace._core.errors.http import post
from msatrace._core.errors.noise import Report
from msatrace.notifiers._text import headline, stack, trace_url, truncate


class SlackNotifier:
    """Posts each report to a Slack incoming webhook URL."""

    name = "slack"

    def __init__(self, webhook_url: str, *, trace_url: str | None = None, timeout: float = 5.0):
        self.webhook_url = webhook_url
        self.trace_url = trace_url
        self.timeout = timeout

    def send(self, report: Report) -> None:
        body = json.dumps(self.message(report), ensure_ascii=False).encode()
        post(self.webhook_url, body, {"Content-Type": "application/json"}, timeout=self.timeout)

    def message(self, report: Report) -> dict[str, Any]:
        """The JSON body: ``text`` (notifications, fallback) and ``blocks``."""
        event = report.event
        title = headline(report)
        fields = [
            (
                "Service",
                f"{event.service} ({event.environment})" if event.environment else event.service,
            ),
            ("Route", " ".join(p for p in (event.method, event.route) if p) or "—"),
            ("Status", str(event.status) if event.status is not None else "—"),
            ("Count", str(report.count)),
            ("Trace", self._trace(event.trace_id)),
            ("Where", event.culprit or "—"),
        ]
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": truncate(title, 150)}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": truncate(f"*{name}*\n{value or '—'}", 2000)}
                    for name, value in fields
                ],
            },
        ]
        if report.kind == "digest" and report.trace_ids:
            traces = ", ".join(self._trace(t) for t in report.trace_ids)
            blocks.append(
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": truncate(f"*Some of them:* {traces}", 3000)},
                }
            )
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "```" + stack(report, 2990) + "```"},
            }
        )
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": truncate(
                            f"fingerprint `{event.fingerprint}` · {event.host} pid {event.pid}"
                            + (f" · version {event.version}" if event.version else ""),
                            2000,
                        ),
                    }
                ],
            }
        )
        trace = f" (trace {event.trace_id})" if event.trace_id else ""
        text = truncate(f"[{event.service}] {title}{trace}", 3000)
        return {"text": text, "blocks": blocks}

    def _trace(self, trace_id: str | None) -> str:
        if not trace_id:
            return "—"
        url = trace_url(self.trace_url, trace_id)
        return f"<{url}|{trace_id}>" if url else f"`{trace_id}`"
