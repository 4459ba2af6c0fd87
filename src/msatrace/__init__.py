"""msatrace: one trace ID everywhere, for Python microservices.

    import msatrace
    msatrace.init()
    log = msatrace.get_logger(__name__)

The facade: re-exports the public API. Framework adapters (``msatrace.asgi``, ``msatrace.flask``,
``msatrace.django``, ...) load on first attribute access, so ``import msatrace`` imports no
framework.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from msatrace._version import __version__
from msatrace.exceptions import ConfigError, MsatraceError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    # Adapters, typed for checkers; at run time they load on first attribute access.
    from msatrace import asgi as asgi
    from msatrace import celery as celery
    from msatrace import django as django
    from msatrace import fastapi as fastapi
    from msatrace import flask as flask
    from msatrace import httpx as httpx
    from msatrace import requests as requests
    from msatrace import starlette as starlette
    from msatrace import wsgi as wsgi
    from msatrace._core.config.settings import Settings
    from msatrace._core.debug.demand import debug_header
    from msatrace._core.lifecycle.tasks import TracedExecutor, task, wrap
    from msatrace._core.logs.configure import get_logger
    from msatrace._core.logs.levels import set_log_level
    from msatrace._core.trace.context import (
        bind,
        bound,
        current_request_id,
        current_span_id,
        current_trace_id,
        set_user,
        unbind,
    )
    from msatrace._core.trace.propagation import XTraceIdPropagator
    from msatrace.notifiers import Notifier

# Loaded on first use, so that `import msatrace` costs next to nothing (issue #2): name -> module.
_LAZY = {
    "bind": "msatrace._core.trace.context",
    "bound": "msatrace._core.trace.context",
    "current_request_id": "msatrace._core.trace.context",
    "current_span_id": "msatrace._core.trace.context",
    "current_trace_id": "msatrace._core.trace.context",
    "set_user": "msatrace._core.trace.context",
    "unbind": "msatrace._core.trace.context",
    "get_logger": "msatrace._core.logs.configure",
    "Settings": "msatrace._core.config.settings",
    "XTraceIdPropagator": "msatrace._core.trace.propagation",
    "TracedExecutor": "msatrace._core.lifecycle.tasks",
    "task": "msatrace._core.lifecycle.tasks",
    "wrap": "msatrace._core.lifecycle.tasks",
    # --- debug ---
    "debug_header": "msatrace._core.debug.demand",
    "set_log_level": "msatrace._core.logs.levels",
}

__all__ = [
    "ConfigError",
    "MsatraceError",
    "Settings",
    "TracedExecutor",
    "XTraceIdPropagator",
    "__version__",
    "bind",
    "bound",
    "capture_exception",
    "capture_message",
    "current_request_id",
    "current_span_id",
    "current_trace_id",
    "debug_header",
    "get_logger",
    "init",
    "set_log_level",
    "set_user",
    "shutdown",
    "task",
    "unbind",
    "unpatch",
    "wrap",
]

_ADAPTERS = frozenset(
    (
        "asgi",
        "wsgi",
        "starlette",
        "fastapi",
        "flask",
        "django",
        "httpx",
        "requests",
        "celery",
        "health",
    )
)


def init(
    *,
    service_name: str | None = None,
    service_version: str | None = None,
    environment: str | None = None,
    log_level: str | int | None = None,
    log_levels: Mapping[str, str | int] | str | None = None,
    log_format: str | None = None,
    propagators: str | tuple[str, ...] | list[str] | None = None,
    sampler: str | None = None,
    sampler_arg: float | None = None,
    tracing: bool | None = None,
    traces_exporter: str | None = None,
    otlp_endpoint: str | None = None,
    otlp_traces_endpoint: str | None = None,
    otlp_protocol: str | None = None,
    otlp_headers: Mapping[str, str] | str | None = None,
    otlp_timeout: float | None = None,
    trace_header: str | None = None,
    request_id_header: str | None = None,
    patch: str | tuple[str, ...] | list[str] | None = None,
    propagate_to: str | tuple[str, ...] | list[str] | None = None,
    trust_incoming: bool | None = None,
    exclude_paths: str | tuple[str, ...] | list[str] | None = None,
    access_log: bool | None = None,
    expose_headers: bool | None = None,
    propagate_threads: bool | None = None,
    shutdown_timeout: float | None = None,
    flush_on_sigterm: bool | None = None,
    health: bool | None = None,
    health_live_path: str | None = None,
    health_ready_path: str | None = None,
    health_path: str | None = None,
    health_path_answers: str | None = None,
    health_cache_ttl: float | None = None,
    health_token: str | None = None,
    metrics_exporter: str | None = None,
    metrics_path: str | None = None,
    metrics_port: int | str | None = None,
    metrics_address: str | None = None,
    metrics_cardinality_limit: int | str | None = None,
    metrics_dir: str | None = None,
    notify: str | tuple[str, ...] | list[str] | None = None,
    notifiers: Sequence[Notifier] | None = None,
    trace_url: str | None = None,
    errors_redis_url: str | None = None,
    error_digest_window: float | None = None,
    error_quiet_period: float | None = None,
    error_rate_limit: int | None = None,
    redact: bool | None = None,
    redact_keys: str | tuple[str, ...] | list[str] | None = None,
    redact_allow_keys: str | tuple[str, ...] | list[str] | None = None,
    redact_patterns: Mapping[str, str] | tuple[str, ...] | list[str] | str | None = None,
    redact_recognisers: Callable[[str], Iterable[tuple[int, int] | tuple[int, int, str]]]
    | Sequence[Callable[[str], Iterable[tuple[int, int] | tuple[int, int, str]]]]
    | None = None,
    redact_hash: bool | None = None,
    redact_hash_secret: str | None = None,
    redact_keep_last4: bool | None = None,
    redact_ip: str | None = None,
    lean_spans: bool | None = None,
    debug_on_error: bool | None = None,
    debug_buffer_lines: int | None = None,
    debug_buffer_bytes: int | None = None,
    debug_secret: str | None = None,
    debug_header_name: str | None = None,
    debug_sample_rate: float | None = None,
    otlp_metrics_endpoint: str | None = None,
    metrics_export_interval: float | str | None = None,
    error_capture_logged: bool | None = None,
    error_excepthooks: bool | None = None,
) -> Settings:
    """Set up tracing, structured logging, propagation and client patches for this process.

    Every argument is optional and has an environment variable (``MSATRACE_*``, or the standard
    ``OTEL_*`` name where one exists); an argument wins over the environment. See the
    configuration reference for each setting, its variable and default. Calling ``init()`` again
    with the same settings does nothing; it never installs a second handler, processor or patch.
    Calling it again with other logging, propagation or patch settings applies them; settings
    that shape spans (service, sampler, exporter) cannot change until ``shutdown()``.

    Returns:
        The resolved settings.

    Raises:
        ConfigError: a setting has a value msatrace cannot accept, or a second call changes a
            setting that shapes spans; the message names it.
    """
    from msatrace._core import runtime

    arguments = {k: v for k, v in locals().items() if k != "runtime" and v is not None}
    return runtime.init(arguments).settings


def capture_exception(
    error: BaseException | None = None, *, fingerprint: str | None = None
) -> None:
    """Report a handled exception as unhandled ones are: grouped, once per bug, to the notifiers.

    Args:
        error: the exception; by default the one being handled (``sys.exc_info()``).
        fingerprint: groups this report with others of the same value instead of by the
            exception's type, message and frames.

    Does nothing without notifiers (``notify``) or before ``init()``; never raises.
    """
    from msatrace._core import runtime

    reporting = runtime.reporting()
    if reporting is None:
        return
    if error is None:
        import sys

        error = sys.exc_info()[1]
        if error is None:
            return
    try:
        reporting.capture(error, **({"fingerprint": fingerprint} if fingerprint else {}))
    except Exception:  # never into the application
        return


def capture_message(message: str, *, fingerprint: str | None = None) -> None:
    """Report a message as an error (grouped by its text with numbers and IDs normalised).

    Does nothing without notifiers (``notify``) or before ``init()``; never raises.
    """
    from msatrace._core.errors.event import ReportedMessage

    capture_exception(ReportedMessage(message), fingerprint=fingerprint)


def shutdown(timeout: float = 5.0) -> None:
    """Flush buffered spans and undo ``init()``: handlers, patches, providers.

    Runs by itself at interpreter exit (waiting at most ``MSATRACE_SHUTDOWN_TIMEOUT``). Safe to
    call when ``init()`` never ran. Returns within ``timeout`` whatever the collector does; spans
    not exported by then are dropped, and one warning says how many.

    Args:
        timeout: seconds to wait for buffered spans to be exported.
    """
    from msatrace._core import runtime

    runtime.shutdown(timeout)


def unpatch() -> None:
    """Restore every client library msatrace patched (``shutdown()`` does this too)."""
    from msatrace._core import runtime

    runtime.unpatch()


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
    if name in _ADAPTERS:
        adapter = importlib.import_module(f"msatrace.{name}")
        globals()[name] = adapter
        return adapter
    raise AttributeError(f"module 'msatrace' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, *_ADAPTERS})
