"""The settings table: every option of ``msatrace.init()``, its environment variables and parser.

Precedence for each option: keyword argument > ``MSATRACE_*`` > the standard ``OTEL_*`` variable
(where OpenTelemetry has a name for it) > default. Everything is resolved once, in ``init()``, into
a frozen :class:`Settings`; nothing reads ``os.environ`` per request. The docs' configuration
reference is generated from ``OPTIONS``.

Imports: the standard library, ``msatrace.exceptions``, ``msatrace._core.semconv`` and this
package's ``parsers`` and ``sdkvars``.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from msatrace._core.config import parsers as parse
from msatrace._core.config import redaction
from msatrace._core.config.parsers import (
    CLIENTS,
    DEFAULT_OTLP_ENDPOINT,
    DEFAULT_OTLP_GRPC_ENDPOINT,
    LOG_FORMATS,
    METRICS_EXPORTERS,
    METRICS_PATH,
    SAMPLERS,
    TRACES_EXPORTERS,
    TRACES_PATH,
)
from msatrace._core.config.sdkvars import check_sdk_variables
from msatrace._core.semconv import (
    DEPLOYMENT_ENVIRONMENT,
    DEPLOYMENT_ENVIRONMENT_NAME,
    SERVICE_NAME,
    SERVICE_VERSION,
)
from msatrace.exceptions import ConfigError


@dataclass(frozen=True)
class Settings:
    """Resolved configuration. Built by :func:`resolve`; never mutated."""

    service_name: str
    service_version: str
    environment: str
    log_level: str
    log_levels: Mapping[str, str]
    log_format: str
    propagators: tuple[str, ...]
    sampler: str
    sampler_arg: float
    tracing: bool
    traces_exporter: str
    otlp_endpoint: str | None
    # The URL spans are sent to: the signal-specific endpoint as given, or otlp_endpoint with
    # /v1/traces appended (OTLP/HTTP), or the default when only the exporter was asked for.
    otlp_traces_endpoint: str | None
    otlp_protocol: str
    otlp_headers: Mapping[str, str]
    otlp_timeout: float
    trace_header: str
    request_id_header: str
    patch: tuple[str, ...]
    propagate_to: tuple[str, ...]
    trust_incoming: bool
    exclude_paths: tuple[str, ...]
    access_log: bool
    resource_attributes: Mapping[str, str] = field(default_factory=dict)
    expose_headers: bool = False
    propagate_threads: bool = True
    shutdown_timeout: float = 5.0
    flush_on_sigterm: bool = True
    # --- health ---
    health: bool = True
    health_live_path: str = "/livez"
    health_ready_path: str = "/readyz"
    health_path: str = "/healthz"
    health_path_answers: str = "live"
    health_cache_ttl: float = 5.0
    health_token: str | None = field(default=None, repr=False)
    # --- metrics ---
    metrics_exporter: str = "prometheus"
    metrics_path: str | None = "/metrics"
    metrics_port: int | None = None
    metrics_address: str = "0.0.0.0"
    metrics_cardinality_limit: int = 2000
    metrics_dir: str | None = None
    # --- error reports ---
    notify: tuple[str, ...] = field(default=(), repr=False)
    notifiers: tuple[Any, ...] = ()
    trace_url: str | None = None
    errors_redis_url: str | None = field(default=None, repr=False)
    error_digest_window: float = 600.0
    error_quiet_period: float = 3600.0
    error_rate_limit: int = 30
    # --- redaction ---
    redact: bool = True
    redact_keys: tuple[str, ...] = ()
    redact_allow_keys: tuple[str, ...] = ()
    redact_patterns: Mapping[str, re.Pattern[str]] = field(default_factory=dict)
    redact_recognisers: tuple[Callable[[str], Any], ...] = ()
    redact_hash: bool = False
    redact_hash_secret: str | None = field(default=None, repr=False)
    redact_keep_last4: bool = False
    redact_ip: str = "off"
    # --- spans ---
    lean_spans: bool = True
    # --- debug ---
    debug_on_error: bool = False
    debug_buffer_lines: int = 200
    debug_buffer_bytes: int = 65536
    debug_secret: str | None = field(default=None, repr=False)
    debug_header_name: str = "X-Msatrace-Debug"
    debug_sample_rate: float = 0.0
    # --- metrics (OTLP) ---
    # The URL metrics are sent to with metrics_exporter="otlp": the signal-specific endpoint as
    # given, or otlp_endpoint with /v1/metrics appended (OTLP/HTTP), or the exporter's default.
    otlp_metrics_endpoint: str | None = None
    metrics_export_interval: float = 60.0
    # --- error reports: more capture points ---
    error_capture_logged: bool = False
    error_excepthooks: bool = False


@dataclass(frozen=True)
class Option:
    """One row of the settings table."""

    name: str
    env: tuple[str, ...]
    parse: Callable[[str, str], Any]
    default: Callable[[Mapping[str, str]], Any]
    doc: str
    default_doc: str


# --- defaults -----------------------------------------------------------------------------------


def _program_name(env: Mapping[str, str]) -> str:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name and spec.name != "__main__":
        name = str(spec.name).removesuffix(".__main__")
    else:
        name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
        name = name.removesuffix(".py")
    if name in ("", "-c", "python", "python3"):
        name = "python"
    return name


def _environment_default(env: Mapping[str, str]) -> str:
    attrs = _resource_attrs(env)
    for key in (DEPLOYMENT_ENVIRONMENT_NAME, DEPLOYMENT_ENVIRONMENT):
        if attrs.get(key):
            return parse.environment(attrs[key], f"OTEL_RESOURCE_ATTRIBUTES[{key}]")
    return "production"


def _resource_attrs(env: Mapping[str, str]) -> dict[str, str]:
    raw = env.get("OTEL_RESOURCE_ATTRIBUTES", "")
    return parse.pairs(raw, "OTEL_RESOURCE_ATTRIBUTES") if raw else {}


def _const(value: Any) -> Callable[[Mapping[str, str]], Any]:
    return lambda env: value


def _tracing_default(env: Mapping[str, str]) -> bool:
    # OpenTelemetry's general switch: OTEL_SDK_DISABLED=true turns the SDK (our spans) off. The
    # specification's booleans are `true` or `false` (any case), not 1/yes/on: a value the SDK
    # would read as false must not turn our spans off, so anything else is refused.
    raw = env.get("OTEL_SDK_DISABLED", "").strip().lower()
    if raw not in ("", "true", "false"):
        raise ConfigError(f"OTEL_SDK_DISABLED={env['OTEL_SDK_DISABLED']!r}: expected true or false")
    return raw != "true"


def _metrics_default(env: Mapping[str, str]) -> str:
    # Installed but not asked for: on. Not installed and not asked for: off, rather than an
    # init() that fails for every user without the extra (asked for by name, build() says which
    # extra is missing).
    return "prometheus" if importlib.util.find_spec("prometheus_client") else "none"


def _service_default(env: Mapping[str, str]) -> str:
    return _resource_attrs(env).get(SERVICE_NAME) or _program_name(env)


def _version_default(env: Mapping[str, str]) -> str:
    return _resource_attrs(env).get(SERVICE_VERSION) or "0.0.0"


OPTIONS: tuple[Option, ...] = (
    Option(
        "service_name",
        ("MSATRACE_SERVICE_NAME", "OTEL_SERVICE_NAME"),
        parse.text,
        _service_default,
        "Name of this service: `service.name` on spans, `service` in logs.",
        "`service.name` from `OTEL_RESOURCE_ATTRIBUTES`, else the running program's name",
    ),
    Option(
        "service_version",
        ("MSATRACE_SERVICE_VERSION",),
        parse.text,
        _version_default,
        "Version of this service: `service.version` on spans, `version` in logs.",
        "`service.version` from `OTEL_RESOURCE_ATTRIBUTES`, else `0.0.0`",
    ),
    Option(
        "environment",
        ("MSATRACE_ENVIRONMENT",),
        parse.environment,
        _environment_default,
        "Deployment environment (`deployment.environment.name`), any name your team uses: "
        "`production`, `staging`, `qa`, `dev-eu`, ... `development`, `dev` and `local` get the "
        "development defaults (console logs, `DEBUG`); every other name the production ones "
        "(JSON logs, `INFO`).",
        "`deployment.environment.name` from `OTEL_RESOURCE_ATTRIBUTES`, else `production`",
    ),
    Option(
        "log_level",
        ("MSATRACE_LOG_LEVEL",),
        parse.level,
        _const(None),
        "Lowest level logged: a name (`DEBUG`, `INFO`, `WARNING` or `WARN`, `ERROR`, "
        "`CRITICAL`, any case) or a number (`logging.DEBUG`).",
        "`DEBUG` in development, `INFO` otherwise",
    ),
    Option(
        "log_levels",
        ("MSATRACE_LOG_LEVELS",),
        parse.log_levels,
        _const({}),
        "Per-logger levels, e.g. `uvicorn=WARNING,myapp.db=DEBUG` (or a dict, whose values may "
        "be `logging.DEBUG` and the like).",
        "none",
    ),
    Option(
        "log_format",
        ("MSATRACE_LOG_FORMAT",),
        parse.choice(LOG_FORMATS),
        _const(None),
        "`json` (one line per event) or `console` (coloured, aligned).",
        "`console` in development, `json` otherwise",
    ),
    Option(
        "propagators",
        ("MSATRACE_PROPAGATORS", "OTEL_PROPAGATORS"),
        parse.propagators,
        _const(("tracecontext", "baggage")),
        "Propagators for incoming and outgoing headers (OpenTelemetry names, plus `xtraceid`).",
        "`tracecontext,baggage`",
    ),
    Option(
        "sampler",
        ("MSATRACE_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER"),
        parse.choice(SAMPLERS),
        _const("parentbased_always_on"),
        "OpenTelemetry sampler name.",
        "`parentbased_always_on`",
    ),
    Option(
        "sampler_arg",
        ("MSATRACE_TRACES_SAMPLER_ARG", "OTEL_TRACES_SAMPLER_ARG"),
        parse.ratio,
        _const(1.0),
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
        _const(None),
        "Where spans go: `otlp`, `console` or `none`.",
        "`otlp` when an endpoint is set, else `none`; `otlp` alone sends to `localhost:4318`",
    ),
    Option(
        "otlp_endpoint",
        ("MSATRACE_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
        parse.url,
        _const(None),
        "Base URL of the OTLP receiver, e.g. `http://collector:4318`: spans go to this URL + "
        "`/v1/traces` (a URL that already ends in `/v1/traces` is used as it is). With `grpc`, "
        "the URL as it is.",
        "none: spans are not exported",
    ),
    Option(
        "otlp_traces_endpoint",
        ("MSATRACE_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        parse.url,
        _const(None),
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
        _const("http/protobuf"),
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
        _const({}),
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
        _const(10.0),
        "Seconds an OTLP export may take (the Python SDK's unit).",
        "`10`",
    ),
    Option(
        "trace_header",
        ("MSATRACE_TRACE_HEADER",),
        parse.header,
        _const("X-Trace-ID"),
        "Legacy trace-ID header accepted, echoed and sent.",
        "`X-Trace-ID`",
    ),
    Option(
        "request_id_header",
        ("MSATRACE_REQUEST_ID_HEADER",),
        parse.header,
        _const("X-Request-ID"),
        "Request-ID header accepted, echoed and sent.",
        "`X-Request-ID`",
    ),
    Option(
        "patch",
        ("MSATRACE_PATCH",),
        parse.clients,
        _const(CLIENTS),
        "Client libraries patched by `init()`: `httpx`, `requests`, `celery`, `all` or `none`.",
        "`all`",
    ),
    Option(
        "propagate_to",
        ("MSATRACE_PROPAGATE_TO",),
        parse.patterns,
        _const(("*",)),
        "Hosts that receive trace headers: globs (`*.internal`) or `re:` regexes.",
        "`*` (every host)",
    ),
    Option(
        "trust_incoming",
        ("MSATRACE_TRUST_INCOMING",),
        parse.boolean,
        _const(True),
        "Continue incoming traces. Off: start a new trace and link the incoming one.",
        "`true`",
    ),
    Option(
        "exclude_paths",
        ("MSATRACE_EXCLUDE_PATHS",),
        parse.comma_list,
        _const(("/health", "/healthz", "/livez", "/readyz")),
        "Paths neither traced nor access-logged.",
        "`/health,/healthz,/livez,/readyz`",
    ),
    Option(
        "access_log",
        ("MSATRACE_ACCESS_LOG",),
        parse.boolean,
        _const(True),
        "One access-log line per request (replaces uvicorn's and gunicorn's).",
        "`true`",
    ),
    Option(
        "expose_headers",
        ("MSATRACE_EXPOSE_HEADERS",),
        parse.boolean,
        _const(False),
        "Add `Access-Control-Expose-Headers` naming the trace and request-ID headers to every "
        "response (merged with the application's own), so a browser front end may read them.",
        "`false`",
    ),
    Option(
        "propagate_threads",
        ("MSATRACE_PROPAGATE_THREADS",),
        parse.boolean,
        _const(True),
        "Work started in a `threading.Thread` or submitted to a `ThreadPoolExecutor` (and "
        "`loop.run_in_executor`) keeps the trace and bound fields of the code that started it.",
        "`true`",
    ),
    Option(
        "shutdown_timeout",
        ("MSATRACE_SHUTDOWN_TIMEOUT",),
        parse.seconds,
        _const(5.0),
        "Seconds the span flush may take at exit, at `SIGTERM` and at an ASGI server's "
        "lifespan shutdown, whatever the collector does; keep it below the platform's grace "
        "period.",
        "`5`",
    ),
    Option(
        "flush_on_sigterm",
        ("MSATRACE_FLUSH_ON_SIGTERM",),
        parse.boolean,
        _const(True),
        "When `SIGTERM` would kill the process at once (no handler of its own), flush spans "
        "first, then let it end the process as before.",
        "`true`",
    ),
    # --- health ---
    Option(
        "health",
        ("MSATRACE_HEALTH",),
        parse.boolean,
        _const(True),
        "Answer the health probes (`health_live_path`, `health_ready_path`, `health_path`) in "
        "msatrace's middleware, before the application; `false` leaves those paths to the app.",
        "`true`",
    ),
    Option(
        "health_live_path",
        ("MSATRACE_HEALTH_LIVE_PATH",),
        parse.path,
        _const("/livez"),
        "Liveness: 200 while the process answers; asks no dependency. `off` turns it off.",
        "`/livez`",
    ),
    Option(
        "health_ready_path",
        ("MSATRACE_HEALTH_READY_PATH",),
        parse.path,
        _const("/readyz"),
        "Readiness: runs the checks registered with `msatrace.health.add_check`; 503 when a "
        "critical one fails. `off` turns it off.",
        "`/readyz`",
    ),
    Option(
        "health_path",
        ("MSATRACE_HEALTH_PATH",),
        parse.path,
        _const("/healthz"),
        "An alias answering as liveness or readiness (`health_path_answers`). `off` turns it off.",
        "`/healthz`",
    ),
    Option(
        "health_path_answers",
        ("MSATRACE_HEALTH_PATH_ANSWERS",),
        parse.choice(("live", "ready")),
        _const("live"),
        "What `health_path` answers: `live` (no dependency asked: safe for a liveness probe) "
        "or `ready`.",
        "`live`",
    ),
    Option(
        "health_cache_ttl",
        ("MSATRACE_HEALTH_CACHE_TTL",),
        parse.seconds,
        _const(5.0),
        "Seconds a readiness result is reused, so frequent probes reach each dependency at most "
        "once per period.",
        "`5`",
    ),
    Option(
        "health_token",
        ("MSATRACE_HEALTH_TOKEN",),
        parse.text,
        _const(None),
        "A secret: a probe sending `Authorization: Bearer <token>` sees each check's error "
        "text; others see only each check's status. Never logged.",
        "none (error text never shown)",
    ),
    # --- metrics ---
    Option(
        "metrics_exporter",
        ("MSATRACE_METRICS_EXPORTER", "OTEL_METRICS_EXPORTER"),
        parse.choice(METRICS_EXPORTERS),
        _metrics_default,
        "RED metrics of requests, calls and tasks: `prometheus` (an endpoint to scrape; needs "
        "`msatrace[prometheus]`), `otlp` (sent to `otlp_metrics_endpoint` every "
        "`metrics_export_interval`; needs `msatrace[otlp]`) or `none` (nothing recorded, "
        "nothing spent).",
        "`prometheus` when `prometheus_client` is installed (`msatrace[prometheus]`), else `none`",
    ),
    Option(
        "metrics_path",
        ("MSATRACE_METRICS_PATH",),
        parse.url_path,
        _const("/metrics"),
        "Path the application's middleware answers scrapes on (neither traced, logged nor "
        "measured), or `none` to serve metrics only on `metrics_port`.",
        "`/metrics`",
    ),
    Option(
        "metrics_port",
        ("MSATRACE_METRICS_PORT",),
        parse.port,
        _const(None),
        "Also serve metrics on this port of their own (a small threaded server, stopped at "
        "`shutdown()`), for a service that keeps them off its public port.",
        "none",
    ),
    Option(
        "metrics_address",
        ("MSATRACE_METRICS_ADDRESS",),
        parse.text,
        _const("0.0.0.0"),
        "Address the `metrics_port` server listens on.",
        "`0.0.0.0`",
    ),
    Option(
        "metrics_cardinality_limit",
        ("MSATRACE_METRICS_CARDINALITY_LIMIT",),
        parse.cardinality,
        _const(2000),
        "Distinct attribute sets per metric; past it, measurements go to one series labelled "
        '`otel_metric_overflow="true"` and are counted in `msatrace_metrics_overflow_total`.',
        "`2000` (as OpenTelemetry's SDK)",
    ),
    Option(
        "metrics_dir",
        ("MSATRACE_METRICS_DIR", "PROMETHEUS_MULTIPROC_DIR"),
        parse.directory,
        _const(None),
        "An existing directory shared by the worker processes of one server (gunicorn, "
        "`uvicorn --workers`): each scrape then returns the totals of all workers, live and "
        "recycled. Unset: each process counts alone.",
        "none (single process)",
    ),
    # --- error reports ---
    Option(
        "notify",
        ("MSATRACE_NOTIFY",),
        parse.comma_list,
        _const(()),
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
        _const(()),
        "Notifier objects (`msatrace.notifiers`, or your own with `name` and `send(report)`), "
        "besides those named by `notify`. Keyword only.",
        "none",
    ),
    Option(
        "trace_url",
        ("MSATRACE_TRACE_URL",),
        parse.trace_url,
        _const(None),
        "Link from an error report to its trace: a URL with `{trace_id}`, e.g. "
        "`https://grafana.example.com/explore?traceId={trace_id}`.",
        "none (the trace ID as text)",
    ),
    Option(
        "errors_redis_url",
        ("MSATRACE_ERRORS_REDIS_URL",),
        parse.redis_url,
        _const(None),
        "A Redis all processes of the service share (`redis://host:6379/0`): workers and "
        "replicas then report each bug once between them. Unset: each process decides alone.",
        "none",
    ),
    Option(
        "error_digest_window",
        ("MSATRACE_ERROR_DIGEST_WINDOW",),
        parse.seconds,
        _const(600.0),
        "Seconds between digests of a bug's repeats (its first occurrence is reported at once).",
        "`600`",
    ),
    Option(
        "error_quiet_period",
        ("MSATRACE_ERROR_QUIET_PERIOD",),
        parse.seconds,
        _const(3600.0),
        "A bug silent this long is reported at once again when it comes back.",
        "`3600`",
    ),
    Option(
        "error_rate_limit",
        ("MSATRACE_ERROR_RATE_LIMIT",),
        lambda value, origin: parse.positive(str(value), origin),
        _const(30),
        "Immediate reports per minute at most (a storm of different bugs); the rest go into "
        "their digests.",
        "`30`",
    ),
    # --- redaction ---
    Option(
        "redact",
        ("MSATRACE_REDACT",),
        parse.boolean,
        _const(True),
        "Redact personal data and secrets from log lines and exported spans (see Privacy).",
        "`true`",
    ),
    Option(
        "redact_keys",
        ("MSATRACE_REDACT_KEYS",),
        parse.comma_list,
        _const(()),
        "More key names whose values are always redacted (case and `-`/`_`/`.` ignored; a key "
        "ending in one of them counts too).",
        "none (the defaults are listed on the Privacy page)",
    ),
    Option(
        "redact_allow_keys",
        ("MSATRACE_REDACT_ALLOW_KEYS",),
        parse.comma_list,
        _const(()),
        "Key names whose values are never redacted, neither by name nor by value.",
        "none",
    ),
    Option(
        "redact_patterns",
        ("MSATRACE_REDACT_PATTERNS",),
        redaction.patterns,
        _const({}),
        "More value rules: `{kind: regex}` or a list of regexes; in the variable, a JSON object "
        "or array, or one regex. Matches become `[REDACTED:<kind>]`. A bad regex fails `init()`.",
        "none",
    ),
    Option(
        "redact_recognisers",
        (),
        redaction.recognisers,
        _const(()),
        "Callables `text -> [(start, end) or (start, end, kind)]` run on every string; one that "
        "raises is reported once and its text redacted whole. Keyword only.",
        "none",
    ),
    Option(
        "redact_hash",
        ("MSATRACE_REDACT_HASH",),
        parse.boolean,
        _const(False),
        "Append a keyed hash of the value to each replacement (`[REDACTED:email:1f0c2a9b3e4d]`, "
        "HMAC-SHA256 with `redact_hash_secret`), so one customer's lines can be followed.",
        "`false`",
    ),
    Option(
        "redact_hash_secret",
        ("MSATRACE_REDACT_HASH_SECRET",),
        redaction.secret,
        _const(None),
        "The deployment secret of the keyed hash (at least 16 characters).",
        "none",
    ),
    Option(
        "redact_keep_last4",
        ("MSATRACE_REDACT_KEEP_LAST4",),
        parse.boolean,
        _const(False),
        "Card numbers keep their last four digits: `[REDACTED:card:last4=1111]`.",
        "`false`",
    ),
    Option(
        "redact_ip",
        ("MSATRACE_REDACT_IP",),
        parse.choice(redaction.IP_MODES),
        _const("off"),
        "IP addresses: `off` (kept), `redact`, or `hash` (keyed hash; needs the secret).",
        "`off`",
    ),
    # --- spans ---
    Option(
        "lean_spans",
        ("MSATRACE_LEAN_SPANS",),
        parse.boolean,
        _const(True),
        "msatrace's own spans (requests, outgoing calls, tasks) come from its lean tracer: the "
        "same spans as the OpenTelemetry SDK tracer's, at a fraction of the cost. `false` uses "
        "the SDK tracer of the provider msatrace installs instead, with the same names, "
        "attributes and sampling. An adopted provider's own tracer is used either way.",
        "`true`",
    ),
    # --- debug ---
    Option(
        "debug_on_error",
        ("MSATRACE_DEBUG_ON_ERROR",),
        parse.boolean,
        _const(None),  # resolved by environment in resolve()
        "Lines below the log level written during a request or task are kept in a small "
        "buffer of that request, not written; if it ends in an error (a 5xx, an exception) or "
        'writes an ERROR line, they are written first, each with `"buffered": true`.',
        "`true`, `false` in a development environment (DEBUG is written there anyway)",
    ),
    Option(
        "debug_buffer_lines",
        ("MSATRACE_DEBUG_BUFFER_LINES",),
        lambda value, origin: parse.positive(str(value), origin),
        _const(200),
        "The most lines one request's debug-on-error buffer keeps; the oldest go first, counted.",
        "`200`",
    ),
    Option(
        "debug_buffer_bytes",
        ("MSATRACE_DEBUG_BUFFER_BYTES",),
        lambda value, origin: parse.positive(str(value), origin),
        _const(65536),
        "The most bytes (estimated from the messages and text fields) one request's buffer keeps.",
        "`65536`",
    ),
    Option(
        "debug_secret",
        ("MSATRACE_DEBUG_SECRET",),
        redaction.secret,
        _const(None),
        "The shared secret of debug on demand (at least 16 characters): a request carrying a "
        "header signed with it (`msatrace.debug_header`) logs at DEBUG in every service of its "
        "trace. Without it the header is ignored.",
        "none",
    ),
    Option(
        "debug_header_name",
        ("MSATRACE_DEBUG_HEADER_NAME",),
        parse.header,
        _const("X-Msatrace-Debug"),
        "The request header that carries a signed debug-on-demand token.",
        "`X-Msatrace-Debug`",
    ),
    Option(
        "debug_sample_rate",
        ("MSATRACE_DEBUG_SAMPLE_RATE",),
        parse.ratio,
        _const(0.0),
        "The fraction of traces logged at DEBUG throughout, chosen from the trace ID so that "
        "every service chooses the same traces.",
        "`0`",
    ),
    # --- metrics (OTLP) ---
    Option(
        "otlp_metrics_endpoint",
        ("MSATRACE_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"),
        parse.url,
        _const(None),
        "Full URL metrics are sent to with `metrics_exporter=otlp`, used as it is; wins over "
        "`otlp_endpoint` set at the same level. The exporter reads "
        "`OTEL_EXPORTER_OTLP_METRICS_HEADERS`, `_TIMEOUT`, `_COMPRESSION` and `_CERTIFICATE` "
        "(or the general `OTEL_EXPORTER_OTLP_*` ones) itself.",
        "`otlp_endpoint` + `/v1/metrics`, else `http://localhost:4318/v1/metrics` "
        "(gRPC: `otlp_endpoint`, else `http://localhost:4317`)",
    ),
    Option(
        "metrics_export_interval",
        ("MSATRACE_METRICS_EXPORT_INTERVAL", "OTEL_METRIC_EXPORT_INTERVAL"),
        parse.export_interval,
        _const(60.0),
        "Seconds between two OTLP metric exports (`metrics_exporter=otlp`); "
        "`OTEL_METRIC_EXPORT_INTERVAL` is in milliseconds, as the specification says, "
        "`MSATRACE_METRICS_EXPORT_INTERVAL` and the argument in seconds. The last export runs "
        "at `shutdown()`.",
        "`60`",
    ),
    # --- error reports: more capture points ---
    Option(
        "error_capture_logged",
        ("MSATRACE_ERROR_CAPTURE_LOGGED",),
        parse.boolean,
        _const(False),
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
        _const(False),
        "Also report exceptions nothing caught in threads (`threading.excepthook`), asyncio "
        "tasks and callbacks (the event loop's exception handler; transport errors excepted) "
        "and the main thread (`sys.excepthook`). The hooks that were there still run after "
        "msatrace's.",
        "`false`",
    ),
)

_BY_NAME = {o.name: o for o in OPTIONS}


def unknown_variables(env: Mapping[str, str]) -> list[str]:
    """``MSATRACE_*`` variables that are set but mean nothing, each with the nearest known name."""
    prefix = "MSATRACE_"
    known = sorted(v[len(prefix) :] for o in OPTIONS for v in o.env if v.startswith(prefix))
    out = []
    for name in sorted(env):
        if name.startswith(prefix) and name[len(prefix) :] not in known:
            # compared without the prefix they all share, which would make every name "close"
            near = difflib.get_close_matches(name[len(prefix) :], known, n=1)
            out.append(f"{name} (did you mean {prefix}{near[0]}?)" if near else name)
    return out


def resolve(arguments: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Settings:
    """Resolve keyword arguments and environment variables into frozen settings.

    Raises:
        ConfigError: naming the argument or variable, the value seen and what is accepted.
    """
    env = os.environ if env is None else env
    unknown = set(arguments) - set(_BY_NAME)
    if unknown:
        raise ConfigError(f"unknown setting(s) {sorted(unknown)}: expected {sorted(_BY_NAME)}")
    values: dict[str, Any] = {}
    # Where each value came from: 0 the argument, 1.. the option's variables in order, else the
    # default. The two OTLP endpoints compare these (see _traces_endpoint).
    rank: dict[str, int] = {}
    for opt in OPTIONS:
        if arguments.get(opt.name) is not None:
            values[opt.name] = opt.parse(arguments[opt.name], opt.name)
            rank[opt.name] = 0
            continue
        for i, var in enumerate(opt.env, start=1):
            if env.get(var, "").strip():
                values[opt.name] = opt.parse(env[var], var)
                rank[opt.name] = i
                break
        else:
            values[opt.name] = opt.default(env)
            rank[opt.name] = len(opt.env) + 1
    check_sdk_variables(env)
    development = parse.is_development(values["environment"])
    if values["log_level"] is None:
        values["log_level"] = "DEBUG" if development else "INFO"
    if values["log_format"] is None:
        values["log_format"] = "console" if development else "json"
    if values["debug_on_error"] is None:
        values["debug_on_error"] = not development
    traces_endpoint = _traces_endpoint(values, rank)
    if values["traces_exporter"] is None:
        values["traces_exporter"] = "otlp" if traces_endpoint else "none"
    if values["traces_exporter"] == "otlp" and not traces_endpoint:
        # the OTLP exporter spec's defaults
        grpc = values["otlp_protocol"] == "grpc"
        traces_endpoint = DEFAULT_OTLP_GRPC_ENDPOINT if grpc else DEFAULT_OTLP_ENDPOINT
    values["otlp_traces_endpoint"] = traces_endpoint
    values["otlp_metrics_endpoint"] = _metrics_endpoint(values, rank)
    values["resource_attributes"] = _resource_attrs(env)
    redaction.check(values)
    return Settings(**values)


def own_paths(settings: Settings) -> frozenset[str]:
    """The paths msatrace's middleware answers itself (never traced, logged or measured)."""
    paths: list[str | None] = []
    if settings.health:
        paths += (settings.health_live_path, settings.health_ready_path, settings.health_path)
    if settings.metrics_exporter == "prometheus":
        paths.append(settings.metrics_path)
    return frozenset(p for p in paths if p)


def _traces_endpoint(values: Mapping[str, Any], rank: Mapping[str, int]) -> str | None:
    """The URL spans go to, per the OTLP exporter spec.

    The signal-specific endpoint is used as it is and wins over the base URL set at the same
    level (argument, MSATRACE_*, OTEL_*); an argument or MSATRACE_* variable still wins over an
    OTEL_* one. The base URL gets /v1/traces for OTLP/HTTP, unless it already ends so (what
    ``otlp_endpoint`` meant in earlier versions); gRPC takes the base URL as it is.
    """
    full, base = values["otlp_traces_endpoint"], values["otlp_endpoint"]
    if full and (not base or rank["otlp_traces_endpoint"] <= rank["otlp_endpoint"]):
        return str(full)
    if not base:
        return None
    if values["otlp_protocol"] == "grpc" or base.endswith(TRACES_PATH):
        return str(base)
    return f"{base}{TRACES_PATH}"


def _metrics_endpoint(values: Mapping[str, Any], rank: Mapping[str, int]) -> str:
    """The URL metrics go to with ``metrics_exporter="otlp"``, as ``_traces_endpoint`` decides
    for spans (the signal-specific URL as it is; the base URL + ``/v1/metrics``)."""
    full, base = values["otlp_metrics_endpoint"], values["otlp_endpoint"]
    grpc = values["otlp_protocol"] == "grpc"
    if full and (not base or rank["otlp_metrics_endpoint"] <= rank["otlp_endpoint"]):
        return str(full)
    if not base:
        return DEFAULT_OTLP_GRPC_ENDPOINT if grpc else "http://localhost:4318" + METRICS_PATH
    if grpc or base.endswith(METRICS_PATH):
        return str(base)
    return f"{base.removesuffix(TRACES_PATH)}{METRICS_PATH}"
