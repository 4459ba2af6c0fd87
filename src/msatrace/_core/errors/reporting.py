"""Error reporting: captured exceptions become events, grouped, and go to the notifiers.

``Reporting.from_settings`` builds the notifiers named by ``notify`` (``MSATRACE_NOTIFY``) and
those passed as objects to ``init(notifiers=...)``, the noise control (per process, or shared
through ``errors_redis_url``) and the dispatcher. Its :meth:`report` is a reporter for the
capture point: the first capture of an exception becomes an :class:`ErrorEvent` carrying the
trace, span and request IDs current where it was raised, and is handed to the dispatcher (memory
only: the request never waits), which redacts it with the log lines' rules before anything else
sees it. ``None`` when no notifier is configured: nothing is built.

``notify`` entries, comma-separated (secrets stay out of every message msatrace writes):

- ``slack:https://hooks.slack.com/services/...``
- ``webhook:https://receiver.example/hook#<secret>`` (the fragment is the signing secret)
- ``jira:https://<e-mail>:<API token>@<site>.atlassian.net?project=SHOP`` (options ``type=Bug``,
  ``api=cloud`` or ``datacenter``, ``on_done=new`` or ``reopen``)
- ``pagerduty:<routing key>[?severity=error]``
- ``opsgenie:<API key>[?priority=P3][&url=https://api.eu.opsgenie.com/v2/alerts]``

Imports: the standard library, ``msatrace.exceptions``, ``_core.config``, ``_core.redact``,
``_core.trace``, ``_core.safety`` and this package.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from msatrace._core.config.settings import Settings
from msatrace._core.errors.capture import Captured
from msatrace._core.errors.dispatch import Dispatcher, Notifier
from msatrace._core.errors.event import ReportedMessage, build
from msatrace._core.errors.noise import Noise
from msatrace._core.errors.notify.jira import JiraNotifier
from msatrace._core.errors.notify.opsgenie import ALERTS_URL, OpsgenieNotifier
from msatrace._core.errors.notify.pagerduty import EVENTS_URL, PagerDutyNotifier
from msatrace._core.errors.notify.slack import SlackNotifier
from msatrace._core.errors.notify.webhook import WebhookNotifier
from msatrace._core.errors.redaction import event_redactor
from msatrace._core.errors.resp import Redis
from msatrace._core.errors.shared import SharedNoise
from msatrace._core.redact.engine import Redactor
from msatrace._core.trace import context
from msatrace.exceptions import ConfigError

SHUTDOWN_TIMEOUT = 2.0
KINDS = ("slack", "webhook", "jira", "pagerduty", "opsgenie")


class Reporting:
    """The reporter ``init()`` installs at the capture point when notifiers are configured."""

    def __init__(self, settings: Settings, notifiers: Sequence[Notifier]) -> None:
        self.settings = settings
        limits = {
            "window": settings.error_digest_window,
            "quiet": settings.error_quiet_period,
            "cap_per_minute": settings.error_rate_limit,
        }
        noise = (
            SharedNoise(settings.errors_redis_url, **limits)  # type: ignore[arg-type]
            if settings.errors_redis_url
            else Noise(**limits)  # type: ignore[arg-type]
        )
        # Every report through the log lines' redaction (issue: personal data), off the request.
        redact = event_redactor(Redactor.from_settings(settings))
        self.dispatcher = Dispatcher(notifiers, noise, redact=redact)
        self._redis: list[Redis] = []
        if settings.errors_redis_url:
            for notifier in notifiers:
                if isinstance(notifier, JiraNotifier):  # one issue per bug across workers
                    self._redis.append(Redis(settings.errors_redis_url))
                    notifier.share(self._redis[-1])

    @classmethod
    def from_settings(cls, settings: Settings) -> Reporting | None:
        notifiers = [parse_destination(d, settings.trace_url) for d in settings.notify]
        notifiers += list(settings.notifiers)
        return cls(settings, notifiers) if notifiers else None

    def report(self, captured: Captured) -> None:
        """A capture point reporter: the first capture of each exception is reported."""
        if captured.first:
            self.capture(captured.error, **_request_fields(captured.fields))

    def capture(self, error: BaseException, **fields: Any) -> None:
        s = self.settings
        fingerprint = fields.pop("fingerprint", None)
        event = build(
            error,
            context={
                "service": s.service_name,
                "environment": s.environment,
                "version": s.service_version,
                "trace_id": context.current_trace_id(),
                "span_id": context.current_span_id(),
                "request_id": context.current_request_id(),
                "user_id": _text(context.fields().get("user_id")),
                **fields,
            },
            fingerprint_override=fingerprint,
        )
        self.dispatcher.observe(event)

    def health_changed(self, result: Any, previous: str | None) -> None:
        """A health check changed state (``health.on_change``): reported like an error, one
        group per check and state, so a failure and its recovery each reach the team once."""
        key = result.check.key
        if result.status == "pass":
            text = f"health check {key} recovered (was {previous})"
        else:
            text = f"health check {key} {'failed' if result.status == 'fail' else 'is degraded'}"
            if result.output:
                text += f": {result.output}"
        self.capture(ReportedMessage(text), fingerprint=f"health:{key}:{result.status}")

    def close(self) -> None:
        self.dispatcher.close(SHUTDOWN_TIMEOUT)
        for redis in self._redis:
            redis.close()


def _request_fields(fields: Any) -> dict[str, Any]:
    keep = ("method", "route", "status")
    return {k: fields[k] for k in keep if isinstance(fields, dict) and fields.get(k) is not None}


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def parse_destination(entry: str, trace_url: str | None) -> Notifier:
    """One ``notify`` entry as a notifier; a ConfigError names the kind, never the secret."""
    kind, _, target = entry.strip().partition(":")
    kind = kind.lower()
    if kind not in KINDS or not target:
        raise ConfigError(
            f"notify / MSATRACE_NOTIFY: an entry is not <kind>:<target> with a kind among "
            f"{', '.join(KINDS)} (its value is not shown: it may hold a secret)"
        )
    try:
        return _build(kind, target, trace_url)
    except (ValueError, KeyError, IndexError) as exc:
        # the message of a notifier's own check never contains the secret it was given
        detail = str(exc) if isinstance(exc, ValueError) else f"missing {exc}"
        raise ConfigError(f"notify / MSATRACE_NOTIFY entry {kind!r}: {detail}") from None


def _build(kind: str, target: str, trace_url: str | None) -> Notifier:
    if kind == "slack":
        _https(target, kind)
        return SlackNotifier(target, trace_url=trace_url)
    if kind == "webhook":
        url, _, secret = target.partition("#")
        _https(url, kind)
        if not secret:
            raise ValueError("the signing secret goes after '#': webhook:https://host/path#secret")
        return WebhookNotifier(url, secret=unquote(secret), trace_url=trace_url)
    if kind == "jira":
        parts = urlsplit(target)
        _https(target, kind)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if not parts.username or not parts.password:
            raise ValueError(
                "expected jira:https://<e-mail or user>:<API token>@<site>?project=KEY"
            )
        host = parts.hostname or ""
        netloc = host if parts.port is None else f"{host}:{parts.port}"
        base = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
        api = query.get("api", "cloud")
        return JiraNotifier(
            base,
            project=query["project"],
            email=unquote(parts.username) if api == "cloud" else None,
            api_token=unquote(parts.password),
            issue_type=query.get("type", "Bug"),
            api=api,
            on_done=query.get("on_done", "new"),
            trace_url=trace_url,
        )
    key, _, q = target.partition("?")
    query = {k: v[-1] for k, v in parse_qs(q).items()}
    if kind == "pagerduty":
        return PagerDutyNotifier(
            unquote(key),
            severity=query.get("severity", "error"),
            url=query.get("url", EVENTS_URL),
            trace_url=trace_url,
        )
    return OpsgenieNotifier(
        unquote(key),
        priority=query.get("priority", "P3"),
        url=query.get("url", ALERTS_URL),
        trace_url=trace_url,
    )


def _https(url: str, kind: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"expected {kind}:https://... (an http or https URL)")
