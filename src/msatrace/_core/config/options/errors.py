"""Options: error reports, where they go and how often.

Imports: the standard library and this package's ``parsers``.
"""

from __future__ import annotations

from msatrace._core.config import parsers as parse
from msatrace._core.config.options.option import Option, const

OPTIONS: tuple[Option, ...] = (
    Option(
        "notify",
        ("MSATRACE_NOTIFY",),
        parse.comma_list,
        const(()),
        "Where unhandled exceptions are reported, grouped by fingerprint: comma-separated "
        "`slack:<webhook URL>`, `webhook:<URL>#<secret>`, `jira:https://<e-mail>:<token>@<site>"
        "?project=KEY`, `pagerduty:<routing key>`, `opsgenie:<API key>` (see Error tracking). "
        "Holds secrets: never logged.",
        "none (nothing reported)",
    ),
    Option(
        "notifiers",
        (),
        parse.notifiers,
        const(()),
        "Notifier objects (`msatrace.notifiers`, or your own with `name` and `send(report)`), "
        "besides those named by `notify`. Keyword only.",
        "none",
    ),
    Option(
        "trace_url",
        ("MSATRACE_TRACE_URL",),
        parse.trace_url,
        const(None),
        "Link from an error report to its trace: a URL with `{trace_id}`, e.g. "
        "`https://grafana.example.com/explore?traceId={trace_id}`.",
        "none (the trace ID as text)",
    ),
    Option(
        "errors_redis_url",
        ("MSATRACE_ERRORS_REDIS_URL",),
        parse.redis_url,
        const(None),
        "A Redis all processes of the service share (`redis://host:6379/0`): workers and "
        "replicas then report each bug once between them. Unset: each process decides alone.",
        "none",
    ),
    Option(
        "error_digest_window",
        ("MSATRACE_ERROR_DIGEST_WINDOW",),
        parse.seconds,
        const(600.0),
        "Seconds between digests of a bug's repeats (its first occurrence is reported at once).",
        "`600`",
    ),
    Option(
        "error_quiet_period",
        ("MSATRACE_ERROR_QUIET_PERIOD",),
        parse.seconds,
        const(3600.0),
        "A bug silent this long is reported at once again when it comes back.",
        "`3600`",
    ),
    Option(
        "error_rate_limit",
        ("MSATRACE_ERROR_RATE_LIMIT",),
        parse.positive_number,
        const(30),
        "Immediate reports per minute at most (a storm of different bugs); the rest go into "
        "their digests.",
        "`30`",
    ),
)

# More capture points (added after the OTLP metrics options).
CAPTURE_POINTS: tuple[Option, ...] = (
    Option(
        "error_capture_logged",
        ("MSATRACE_ERROR_CAPTURE_LOGGED",),
        parse.boolean,
        const(False),
        "Also report exceptions the application logs with their traceback at ERROR or above "
        "(`log.exception(...)`, stdlib `logger.exception(...)`), as unhandled ones are: "
        "grouped, once per bug, to the notifiers. Each exception is reported once, however "
        "many lines carry it.",
        "`false`",
    ),
    Option(
        "error_excepthooks",
        ("MSATRACE_ERROR_EXCEPTHOOKS",),
        parse.boolean,
        const(False),
        "Also report exceptions nothing caught in threads (`threading.excepthook`), asyncio "
        "tasks and callbacks (the event loop's exception handler; transport errors excepted) "
        "and the main thread (`sys.excepthook`). The hooks that were there still run after "
        "msatrace's.",
        "`false`",
    ),
)
