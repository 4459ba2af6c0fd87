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
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from msatrace._core.config import parsers as parse
from msatrace._core.config.parsers import (
    CLIENTS,
    DEFAULT_OTLP_ENDPOINT,
    DEFAULT_OTLP_GRPC_ENDPOINT,
    LOG_FORMATS,
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
    # --- spans ---
    lean_spans: bool = True


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
    traces_endpoint = _traces_endpoint(values, rank)
    if values["traces_exporter"] is None:
        values["traces_exporter"] = "otlp" if traces_endpoint else "none"
    if values["traces_exporter"] == "otlp" and not traces_endpoint:
        # the OTLP exporter spec's defaults
        grpc = values["otlp_protocol"] == "grpc"
        traces_endpoint = DEFAULT_OTLP_GRPC_ENDPOINT if grpc else DEFAULT_OTLP_ENDPOINT
    values["otlp_traces_endpoint"] = traces_endpoint
    values["resource_attributes"] = _resource_attrs(env)
    return Settings(**values)


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
