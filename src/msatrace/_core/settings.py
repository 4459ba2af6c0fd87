"""The settings table: every option of ``msatrace.init()``, its environment variables and parser.

Precedence for each option: keyword argument > ``MSATRACE_*`` > the standard ``OTEL_*`` variable
(where OpenTelemetry has a name for it) > default. Everything is resolved once, in ``init()``, into
a frozen :class:`Settings`; nothing reads ``os.environ`` per request. The docs' configuration
reference is generated from ``OPTIONS``.

Imports: the standard library and ``msatrace._core.parsers``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from msatrace._core import parsers as parse
from msatrace._core.parsers import (
    CLIENTS,
    DEFAULT_OTLP_ENDPOINT,
    ENVIRONMENTS,
    LEVELS,
    LOG_FORMATS,
    SAMPLERS,
    TRACES_EXPORTERS,
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
    shutdown_timeout: float = 5.0
    flush_on_sigterm: bool = True


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
    raw = attrs.get("deployment.environment.name") or attrs.get("deployment.environment")
    if raw:
        return parse.choice(ENVIRONMENTS)(
            raw, "OTEL_RESOURCE_ATTRIBUTES[deployment.environment.name]"
        )
    return "production"


def _resource_attrs(env: Mapping[str, str]) -> dict[str, str]:
    raw = env.get("OTEL_RESOURCE_ATTRIBUTES", "")
    return parse.pairs(raw, "OTEL_RESOURCE_ATTRIBUTES") if raw else {}


def _const(value: Any) -> Callable[[Mapping[str, str]], Any]:
    return lambda env: value


def _tracing_default(env: Mapping[str, str]) -> bool:
    # OpenTelemetry's general switch: OTEL_SDK_DISABLED=true turns the SDK (our spans) off.
    return env.get("OTEL_SDK_DISABLED", "").strip().lower() != "true"


def _service_default(env: Mapping[str, str]) -> str:
    return _resource_attrs(env).get("service.name") or _program_name(env)


def _version_default(env: Mapping[str, str]) -> str:
    return _resource_attrs(env).get("service.version") or "0.0.0"


def _endpoint_default(env: Mapping[str, str]) -> str | None:
    if env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return parse.url(
            env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"], "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
        )
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        base = parse.url(env["OTEL_EXPORTER_OTLP_ENDPOINT"], "OTEL_EXPORTER_OTLP_ENDPOINT")
        return base + "/v1/traces"  # OTLP exporter spec: signal path appended to the base URL
    return None


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
        parse.choice(ENVIRONMENTS),
        _environment_default,
        "Deployment environment: `development`, `staging` or `production`.",
        "`deployment.environment.name` from `OTEL_RESOURCE_ATTRIBUTES`, else `production`",
    ),
    Option(
        "log_level",
        ("MSATRACE_LOG_LEVEL",),
        parse.choice(LEVELS),
        _const(None),
        "Lowest level logged.",
        "`DEBUG` in development, `INFO` otherwise",
    ),
    Option(
        "log_levels",
        ("MSATRACE_LOG_LEVELS",),
        parse.log_levels,
        _const({}),
        "Per-logger levels, e.g. `uvicorn=WARNING,myapp.db=DEBUG`.",
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
        ("MSATRACE_OTLP_ENDPOINT",),
        parse.url,
        _endpoint_default,
        "OTLP/HTTP traces URL (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or "
        "`OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`).",
        "none: spans are not exported",
    ),
    Option(
        "otlp_headers",
        (
            "MSATRACE_OTLP_HEADERS",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "OTEL_EXPORTER_OTLP_HEADERS",
        ),
        parse.pairs,
        _const({}),
        "Headers sent with every OTLP export, `key=value,...`.",
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
)

_BY_NAME = {o.name: o for o in OPTIONS}


def resolve(arguments: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Settings:
    """Resolve keyword arguments and environment variables into frozen settings.

    Raises:
        ConfigError: naming the argument or variable, the value seen and what is accepted.
    """
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for opt in OPTIONS:
        if arguments.get(opt.name) is not None:
            values[opt.name] = opt.parse(arguments[opt.name], opt.name)
            continue
        for var in opt.env:
            if env.get(var, "").strip():
                values[opt.name] = opt.parse(env[var], var)
                break
        else:
            values[opt.name] = opt.default(env)
    unknown = set(arguments) - set(_BY_NAME)
    if unknown:
        raise ConfigError(f"unknown setting(s) {sorted(unknown)}: expected {sorted(_BY_NAME)}")
    if values["log_level"] is None:
        values["log_level"] = "DEBUG" if values["environment"] == "development" else "INFO"
    if values["log_format"] is None:
        values["log_format"] = "console" if values["environment"] == "development" else "json"
    if values["traces_exporter"] is None:
        values["traces_exporter"] = "otlp" if values["otlp_endpoint"] else "none"
    if values["traces_exporter"] == "otlp" and not values["otlp_endpoint"]:
        values["otlp_endpoint"] = DEFAULT_OTLP_ENDPOINT  # the OTLP exporter spec's default
    values["resource_attributes"] = _resource_attrs(env)
    return Settings(**values)
