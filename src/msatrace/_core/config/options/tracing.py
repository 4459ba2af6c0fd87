"""Options: spans, their export and propagation, the access line and the flush at exit.

Imports: the standard library, ``msatrace.exceptions`` and this package's ``parsers``.
"""

from __future__ import annotations

from collections.abc import Mapping

from msatrace._core.config import parsers as parse
from msatrace._core.config.options.option import Option, const
from msatrace._core.config.parsers import CLIENTS, SAMPLERS, TRACES_EXPORTERS
from msatrace.exceptions import ConfigError


def _tracing_default(env: Mapping[str, str]) -> bool:
    # OpenTelemetry's general switch: OTEL_SDK_DISABLED=true turns the SDK (our spans) off. The
    # specification's booleans are `true` or `false` (any case), not 1/yes/on: a value the SDK
    # would read as false must not turn our spans off, so anything else is refused.
    raw = env.get("OTEL_SDK_DISABLED", "").strip().lower()
    if raw not in ("", "true", "false"):
        raise ConfigError(f"OTEL_SDK_DISABLED={env['OTEL_SDK_DISABLED']!r}: expected true or false")
    return raw != "true"


OPTIONS: tuple[Option, ...] = (
    Option(
        "propagators",
        ("MSATRACE_PROPAGATORS", "OTEL_PROPAGATORS"),
        parse.propagators,
        const(("tracecontext", "baggage")),
        "Propagators for incoming and outgoing headers (OpenTelemetry names, plus `xtraceid`).",
        "`tracecontext,baggage`",
    ),
    Option(
        "sampler",
        ("MSATRACE_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER"),
        parse.choice(SAMPLERS),
        const("parentbased_always_on"),
        "OpenTelemetry sampler name.",
        "`parentbased_always_on`",
    ),
    Option(
        "sampler_arg",
        ("MSATRACE_TRACES_SAMPLER_ARG", "OTEL_TRACES_SAMPLER_ARG"),
        parse.ratio,
        const(1.0),
        "Sampling ratio for the `*traceidratio` samplers.",
        "`1.0`",
    ),
    Option(
        "tracing",
        ("MSATRACE_TRACING",),
        parse.boolean,
        _tracing_default,
        "Create spans. When off, trace IDs still flow through headers and logs.",
        "`true`, or `false` when `OTEL_SDK_DISABLED=true`",
    ),
    Option(
        "traces_exporter",
        ("MSATRACE_TRACES_EXPORTER", "OTEL_TRACES_EXPORTER"),
        parse.choice(TRACES_EXPORTERS),
        const(None),
        "Where spans go: `otlp`, `console` or `none`.",
        "`otlp` when an endpoint is set, else `none`; `otlp` alone sends to `localhost:4318`",
    ),
    Option(
        "otlp_endpoint",
        ("MSATRACE_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
        parse.url,
        const(None),
        "Base URL of the OTLP receiver, e.g. `http://collector:4318`: spans go to this URL + "
        "`/v1/traces` (a URL that already ends in `/v1/traces` is used as it is). With `grpc`, "
        "the URL as it is.",
        "none: spans are not exported",
    ),
    Option(
        "otlp_traces_endpoint",
        ("MSATRACE_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        parse.url,
        const(None),
        "Full URL spans are sent to, used as it is; wins over `otlp_endpoint` set at the same "
        "level (argument, `MSATRACE_*` or `OTEL_*`).",
        "none",
    ),
    Option(
        "otlp_protocol",
        (
            "MSATRACE_OTLP_PROTOCOL",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ),
        parse.protocol,
        const("http/protobuf"),
        "`http/protobuf`, or `grpc` (needs `msatrace[otlp-grpc]`). `http/json` is refused: "
        "OpenTelemetry's Python SDK has no exporter for it.",
        "`http/protobuf`",
    ),
    Option(
        "otlp_headers",
        (
            "MSATRACE_OTLP_HEADERS",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "OTEL_EXPORTER_OTLP_HEADERS",
        ),
        parse.headers,
        const({}),
        "Headers sent with every OTLP export, `key=value,...` (values percent-encoded).",
        "none",
    ),
    Option(
        "otlp_timeout",
        (
            "MSATRACE_OTLP_TIMEOUT",
            "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
            "OTEL_EXPORTER_OTLP_TIMEOUT",
        ),
        parse.seconds,
        const(10.0),
        "Seconds an OTLP export may take (the Python SDK's unit).",
        "`10`",
    ),
    Option(
        "trace_header",
        ("MSATRACE_TRACE_HEADER",),
        parse.header,
        const("X-Trace-ID"),
        "Legacy trace-ID header accepted, echoed and sent.",
        "`X-Trace-ID`",
    ),
    Option(
        "request_id_header",
        ("MSATRACE_REQUEST_ID_HEADER",),
        parse.header,
        const("X-Request-ID"),
        "Request-ID header accepted, echoed and sent.",
        "`X-Request-ID`",
    ),
    Option(
        "patch",
        ("MSATRACE_PATCH",),
        parse.clients,
        const(CLIENTS),
        "Client libraries patched by `init()`: `httpx`, `requests`, `celery`, `all` or `none`.",
        "`all`",
    ),
    Option(
        "propagate_to",
        ("MSATRACE_PROPAGATE_TO",),
        parse.patterns,
        const(("*",)),
        "Hosts that receive trace headers: globs (`*.internal`) or `re:` regexes.",
        "`*` (every host)",
    ),
    Option(
        "trust_incoming",
        ("MSATRACE_TRUST_INCOMING",),
        parse.boolean,
        const(True),
        "Continue incoming traces. Off: start a new trace and link the incoming one.",
        "`true`",
    ),
    Option(
        "exclude_paths",
        ("MSATRACE_EXCLUDE_PATHS",),
        parse.comma_list,
        const(("/health", "/healthz", "/livez", "/readyz")),
        "Paths neither traced nor access-logged.",
        "`/health,/healthz,/livez,/readyz`",
    ),
    Option(
        "access_log",
        ("MSATRACE_ACCESS_LOG",),
        parse.boolean,
        const(True),
        "One access-log line per request (replaces uvicorn's and gunicorn's).",
        "`true`",
    ),
    Option(
        "expose_headers",
        ("MSATRACE_EXPOSE_HEADERS",),
        parse.boolean,
        const(False),
        "Add `Access-Control-Expose-Headers` naming the trace and request-ID headers to every "
        "response (merged with the application's own), so a browser front end may read them.",
        "`false`",
    ),
    Option(
        "propagate_threads",
        ("MSATRACE_PROPAGATE_THREADS",),
        parse.boolean,
        const(True),
        "Work started in a `threading.Thread` or submitted to a `ThreadPoolExecutor` (and "
        "`loop.run_in_executor`) keeps the trace and bound fields of the code that started it.",
        "`true`",
    ),
    Option(
        "shutdown_timeout",
        ("MSATRACE_SHUTDOWN_TIMEOUT",),
        parse.seconds,
        const(5.0),
        "Seconds the span flush may take at exit, at `SIGTERM` and at an ASGI server's "
        "lifespan shutdown, whatever the collector does; keep it below the platform's grace "
        "period.",
        "`5`",
    ),
    Option(
        "flush_on_sigterm",
        ("MSATRACE_FLUSH_ON_SIGTERM",),
        parse.boolean,
        const(True),
        "When `SIGTERM` would kill the process at once (no handler of its own), flush spans "
        "first, then let it end the process as before.",
        "`true`",
    ),
)

# Which tracer makes msatrace's spans (added after the error-report options).
SPANS: tuple[Option, ...] = (
    Option(
        "lean_spans",
        ("MSATRACE_LEAN_SPANS",),
        parse.boolean,
        const(True),
        "msatrace's own spans (requests, outgoing calls, tasks) come from its lean tracer: the "
        "same spans as the OpenTelemetry SDK tracer's, at a fraction of the cost. `false` uses "
        "the SDK tracer of the provider msatrace installs instead, with the same names, "
        "attributes and sampling. An adopted provider's own tracer is used either way.",
        "`true`",
    ),
)
