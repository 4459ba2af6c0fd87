"""The settings: the frozen ``Settings`` and ``resolve()``, which fills it once in ``init()``.

Precedence for each option: keyword argument > ``MSATRACE_*`` > the standard ``OTEL_*`` variable
(where OpenTelemetry has a name for it) > default. Everything is resolved once, in ``init()``, into
a frozen :class:`Settings`; nothing reads ``os.environ`` per request. The table of options, with
their variables, parsers and defaults, is ``options`` (one module per area); ``OPTIONS`` and
``Option`` are importable from here too. The docs' configuration reference is generated from
``OPTIONS``.

Imports: the standard library, ``msatrace.exceptions`` and this package's ``options``,
``parsers``, ``redaction`` and ``sdkvars``.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from msatrace._core.config import parsers as parse
from msatrace._core.config import redaction
from msatrace._core.config.options import OPTIONS, Option
from msatrace._core.config.options.service import resource_attrs
from msatrace._core.config.parsers import (
    DEFAULT_OTLP_ENDPOINT,
    DEFAULT_OTLP_GRPC_ENDPOINT,
    METRICS_PATH,
    TRACES_PATH,
)
from msatrace._core.config.sdkvars import check_sdk_variables
from msatrace.exceptions import ConfigError

__all__ = ["OPTIONS", "Option", "Settings", "own_paths", "resolve", "unknown_variables"]


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
    values["resource_attributes"] = resource_attrs(env)
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
