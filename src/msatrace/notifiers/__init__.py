"""Where error reports go: Slack, Jira, PagerDuty, Opsgenie, a signed webhook, or your own.

A notifier is any object with a ``name`` and a ``send(report)`` method that raises
:class:`DeliveryError` when the report did not arrive (``retry=True`` for a temporary failure,
with ``retry_after`` seconds when the service said so). msatrace calls it from its own delivery
thread, never from a request.
"""

from __future__ import annotations

from msatrace._core.errors.dispatch import DeliveryError, Notifier
from msatrace._core.errors.event import ErrorEvent, ExceptionInfo, Frame
from msatrace._core.errors.noise import Report
from msatrace.notifiers.jira import JiraNotifier
from msatrace.notifiers.opsgenie import OpsgenieNotifier
from msatrace.notifiers.pagerduty import PagerDutyNotifier
from msatrace.notifiers.slack import SlackNotifier
from msatrace.notifiers.webhook import WebhookNotifier, verify_signature

__all__ = [
    "DeliveryError",
    "ErrorEvent",
    "ExceptionInfo",
    "Frame",
    "JiraNotifier",
    "Notifier",
    "OpsgenieNotifier",
    "PagerDutyNotifier",
    "Report",
    "SlackNotifier",
    "WebhookNotifier",
    "verify_signature",
]
