"""The settings table: every option of ``msatrace.init()``, its environment variables and parser.

Precedence for each option: keyword argument > ``MSATRACE_*`` > the standard ``OTEL_*`` variable
(where OpenTelemetry has a name for it) > default. Everything is resolved once, in ``init()``, into
a frozen :class:`Settings`; nothing reads ``os.environ`` per request. The docs' configuration
reference is generated from ``OPTIONS``.

Imports: the standard library only.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from msatrace.exceptions import ConfigError

ENVIRONMENTS = ("development", "staging", "production")
LOG_FORMATS = ("json", "console")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SAMPLERS = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)
CLIENTS = ("httpx", "requests", "celery")
TRACES_EXPORTERS = ("otlp", "console", "none")
DEFAULT_OTLP_ENDPOINT = "http://localhost:4318/v1/traces"
# Short names people write for the three environments.
_ENV_ALIASES = {"dev": "development", "prod": "production", "stage": "staging"}
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token, fullmatch


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


@dataclass(frozen=True)
class Option:
    """One row of the settings table."""

    name: str
    env: tuple[str, ...]
    parse: Callable[[str, str], Any]
    default: Callable[[Mapping[str, str]], Any]
    doc: str
    default_doc: str


# --- parsers: (value, where-it-came-from) -> parsed value, or ConfigError -----------------------


def _choice(options: tuple[str, ...]) -> Callable[[str, str], str]:
    def parse(value: str, origin: str) -> str:
        if not isinstance(value, str):
            raise ConfigError(f"{origin}={value!r}: expected a string")
        v = value.strip().lower() if options != LEVELS else value.strip().upper()
        if options == ENVIRONMENTS:
            v = _ENV_ALIASES.get(v, v)
        if v == "warn" and options == LEVELS:
            v = "WARNING"
        if v not in options:
            accepted = " or ".join(repr(o) for o in options)
            raise ConfigError(f"{origin}={value!r}: expected {accepted}")
        return v

    return parse


def _text(value: str, origin: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{origin}={value!r}: expected a non-empty string")
    return value.strip()


def _bool(value: object, origin: str) -> bool:
    if isinstance(value, bool):
        return value
    v = str(value).strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{origin}={value!r}: expected true or false")


def _list(value: str | tuple[str, ...] | list[str], origin: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(p.strip() for p in value.split(",") if p.strip())
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"{origin}={value!r}: expected a comma-separated string or a list of strings")


def _propagators(value: str | tuple[str, ...], origin: str) -> tuple[str, ...]:
    names = tuple(n.lower() for n in _list(value, origin))
    return () if names == ("none",) else names


def _clients(value: str | tuple[str, ...], origin: str) -> tuple[str, ...]:
    names = _list(value, origin)
    if names in (("none",), ()):
        return ()
    if names == ("all",):
        return CLIENTS
    for n in names:
        if n not in CLIENTS:
            raise ConfigError(f"{origin}={value!r}: expected names from {', '.join(CLIENTS)}")
    return names


def _header(value: str, origin: str) -> str:
    if not isinstance(value, str) or not _HEADER_NAME.fullmatch(value):
        raise ConfigError(f"{origin}={value!r}: expected an HTTP header name such as 'X-Trace-ID'")
    return value


def _ratio(value: str | float, origin: str) -> float:
    try:
        f = float(value)
    except (TypeError, ValueError):
        f = -1.0
    if not 0.0 <= f <= 1.0:
        raise ConfigError(f"{origin}={value!r}: expected a number from 0 to 1")
    return f


def _seconds(value: str | float, origin: str) -> float:
    try:
        f = float(value)
    except (TypeError, ValueError):
        f = -1.0
    if f <= 0:
        raise ConfigError(f"{origin}={value!r}: expected a positive number of seconds")
    return f


def _pairs(value: str | Mapping[str, str], origin: str) -> dict[str, str]:
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    out: dict[str, str] = {}
    for part in str(value).split(","):
        if not part.strip():
            continue
        key, sep, val = part.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{origin}={value!r}: expected key=value pairs separated by commas")
        out[key.strip()] = val.strip()
    return out


def _log_levels(value: str | Mapping[str, str], origin: str) -> dict[str, str]:
    pairs = _pairs(value, origin)
    level = _choice(LEVELS)
    return {name: level(lvl, f"{origin}[{name}]") for name, lvl in pairs.items()}


def _patterns(value: str | tuple[str, ...], origin: str) -> tuple[str, ...]:
    pats = _list(value, origin)
    for p in pats:
        if p.startswith("re:"):
            try:
                re.compile(p[3:])
            except re.error as exc:
                raise ConfigError(f"{origin}={value!r}: bad regex {p[3:]!r} ({exc})") from None
        else:
            fnmatch.translate(p)
    return pats


def _url(value: str, origin: str) -> str:
    v = _text(value, origin)
    if not v.startswith(("http://", "https://")):
        raise ConfigError(f"{origin}={value!r}: expected an http:// or https:// URL")
    return v.rstrip("/")


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
        return _choice(ENVIRONMENTS)(raw, "OTEL_RESOURCE_ATTRIBUTES[deployment.environment.name]")
    return "production"


def _resource_attrs(env: Mapping[str, str]) -> dict[str, str]:
    raw = env.get("OTEL_RESOURCE_ATTRIBUTES", "")
    return _pairs(raw, "OTEL_RESOURCE_ATTRIBUTES") if raw else {}


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
        return _url(env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"], "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        base = _url(env["OTEL_EXPORTER_OTLP_ENDPOINT"], "OTEL_EXPORTER_OTLP_ENDPOINT")
        return base + "/v1/traces"  # OTLP exporter spec: signal path appended to the base URL
    return None


OPTIONS: tuple[Option, ...] = (
    Option(
        "service_name",
        ("MSATRACE_SERVICE_NAME", "OTEL_SERVICE_NAME"),
        _text,
        _service_default,
        "Name of this service: `service.name` on spans, `service` in logs.",
        "`service.name` from `OTEL_RESOURCE_ATTRIBUTES`, else the running program's name",
    ),
    Option(
        "service_version",
        ("MSATRACE_SERVICE_VERSION",),
        _text,
        _version_default,
        "Version of this service: `service.version` on spans, `version` in logs.",
        "`service.version` from `OTEL_RESOURCE_ATTRIBUTES`, else `0.0.0`",
    ),
    Option(
        "environment",
        ("MSATRACE_ENVIRONMENT",),
        _choice(ENVIRONMENTS),
        _environment_default,
        "Deployment environment: `development`, `staging` or `production`.",
        "`deployment.environment.name` from `OTEL_RESOURCE_ATTRIBUTES`, else `production`",
    ),
    Option(
        "log_level",
        ("MSATRACE_LOG_LEVEL",),
        _choice(LEVELS),
        _const(None),
        "Lowest level logged.",
        "`DEBUG` in development, `INFO` otherwise",
    ),
    Option(
        "log_levels",
        ("MSATRACE_LOG_LEVELS",),
        _log_levels,
        _const({}),
        "Per-logger levels, e.g. `uvicorn=WARNING,myapp.db=DEBUG`.",
        "none",
    ),
    Option(
        "log_format",
        ("MSATRACE_LOG_FORMAT",),
        _choice(LOG_FORMATS),
        _const(None),
        "`json` (one line per event) or `console` (coloured, aligned).",
        "`console` in development, `json` otherwise",
    ),
    Option(
        "propagators",
        ("MSATRACE_PROPAGATORS", "OTEL_PROPAGATORS"),
        _propagators,
        _const(("tracecontext", "baggage")),
        "Propagators for incoming and outgoing headers (OpenTelemetry names, plus `xtraceid`).",
        "`tracecontext,baggage`",
    ),
    Option(
        "sampler",
        ("MSATRACE_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER"),
        _choice(SAMPLERS),
        _const("parentbased_always_on"),
        "OpenTelemetry sampler name.",
        "`parentbased_always_on`",
    ),
    Option(
        "sampler_arg",
        ("MSATRACE_TRACES_SAMPLER_ARG", "OTEL_TRACES_SAMPLER_ARG"),
        _ratio,
        _const(1.0),
        "Sampling ratio for the `*traceidratio` samplers.",
        "`1.0`",
    ),
    Option(
        "tracing",
        ("MSATRACE_TRACING",),
        _bool,
        _tracing_default,
        "Create spans. When off, trace IDs still flow through headers and logs.",
        "`true`, or `false` when `OTEL_SDK_DISABLED=true`",
    ),
    Option(
        "traces_exporter",
        ("MSATRACE_TRACES_EXPORTER", "OTEL_TRACES_EXPORTER"),
        _choice(TRACES_EXPORTERS),
        _const(None),
        "Where spans go: `otlp`, `console` or `none`.",
        "`otlp` when an endpoint is set, else `none`; `otlp` alone sends to `localhost:4318`",
    ),
    Option(
        "otlp_endpoint",
        ("MSATRACE_OTLP_ENDPOINT",),
        _url,
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
        _pairs,
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
        _seconds,
        _const(10.0),
        "Seconds an OTLP export may take (the Python SDK's unit).",
        "`10`",
    ),
    Option(
        "trace_header",
        ("MSATRACE_TRACE_HEADER",),
        _header,
        _const("X-Trace-ID"),
        "Legacy trace-ID header accepted, echoed and sent.",
        "`X-Trace-ID`",
    ),
    Option(
        "request_id_header",
        ("MSATRACE_REQUEST_ID_HEADER",),
        _header,
        _const("X-Request-ID"),
        "Request-ID header accepted, echoed and sent.",
        "`X-Request-ID`",
    ),
    Option(
        "patch",
        ("MSATRACE_PATCH",),
        _clients,
        _const(CLIENTS),
        "Client libraries patched by `init()`: `httpx`, `requests`, `celery`, `all` or `none`.",
        "`all`",
    ),
    Option(
        "propagate_to",
        ("MSATRACE_PROPAGATE_TO",),
        _patterns,
        _const(("*",)),
        "Hosts that receive trace headers: globs (`*.internal`) or `re:` regexes.",
        "`*` (every host)",
    ),
    Option(
        "trust_incoming",
        ("MSATRACE_TRUST_INCOMING",),
        _bool,
        _const(True),
        "Continue incoming traces. Off: start a new trace and link the incoming one.",
        "`true`",
    ),
    Option(
        "exclude_paths",
        ("MSATRACE_EXCLUDE_PATHS",),
        _list,
        _const(("/health", "/healthz", "/livez", "/readyz")),
        "Paths neither traced nor access-logged.",
        "`/health,/healthz,/livez,/readyz`",
    ),
    Option(
        "access_log",
        ("MSATRACE_ACCESS_LOG",),
        _bool,
        _const(True),
        "One access-log line per request (replaces uvicorn's and gunicorn's).",
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
