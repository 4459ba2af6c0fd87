"""``init()``, ``shutdown()`` and ``unpatch()``: the single record of what msatrace installed.

``init()`` resolves settings, installs the tracer provider, structured logging and the global
propagator, and patches client libraries (now if imported, else on import) and, with
``propagate_threads``, ``threading`` and thread pools (``_core.trace.threads``). A second call with
the same settings is a no-op; with different settings it reconfigures logging, propagation and
patches, and refuses (``ConfigError``) to change what shapes spans: the tracer provider, its
resource, sampler and exporter stay those of the first call until ``shutdown()``
(OpenTelemetry allows one global provider per process, and tracers handed out earlier keep it).
``shutdown()`` flushes buffered spans within its timeout and undoes everything.

Spans still queued when the process ends are flushed, each time within
``settings.shutdown_timeout``: at interpreter exit (``atexit``); on ``SIGTERM`` when nothing else
handles it (its default action kills the process before ``atexit``: msatrace flushes, then lets
the signal end the process as before); and at an ASGI server's lifespan shutdown (``flush()``,
called by ``msatrace.asgi``), since uvicorn re-raises ``SIGTERM`` once it has served.

Imports: the standard library, opentelemetry and ``msatrace._core``. Adapters are loaded by name
(``importlib``) only when their library is present: ``_core`` never imports a framework.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import importlib.util
import logging
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import TextMapPropagator

from msatrace._core import metrics, patching, semconv
from msatrace._core.config.settings import Settings, own_paths, resolve, unknown_variables
from msatrace._core.errors import capture, excepthooks, sentry
from msatrace._core.errors.reporting import Reporting
from msatrace._core.health.registry import REGISTRY as HEALTH
from msatrace._core.logs import builder, configure
from msatrace._core.metrics.store import ScrapeGauge
from msatrace._core.redact.engine import Redactor
from msatrace._core.spans import tracing
from msatrace._core.trace import threads
from msatrace._core.trace.propagation import Propagation, XTraceIdPropagator, otel_propagate
from msatrace._core.trace.tracecontext import TraceContextPropagator
from msatrace.exceptions import ConfigError

_log = logging.getLogger("msatrace")
# Client libraries patched by init(): setting name -> (library module, adapter, entry point).
CLIENT_ADAPTERS = {
    "httpx": ("httpx", "msatrace.httpx", "patch"),
    "requests": ("requests", "msatrace.requests", "patch"),
    "celery": ("celery", "msatrace.celery", "patch"),
}


@dataclass
class Runtime:
    """Everything ``init()`` set up, read by adapters on each request."""

    settings: Settings
    tracing: tracing.Tracing
    propagation: Propagation
    exclude_paths: frozenset[str]
    previous_textmap: TextMapPropagator | None
    # The RED recorder and the scrape answer, or None with metrics off.
    metrics: metrics.Metrics | None = None


def _redaction(settings: Settings) -> builder.Transform | None:
    """Every log line's event is redacted before it is rendered (issue: personal data)."""
    redactor = Redactor.from_settings(settings)
    return redactor.event if redactor.enabled else None


builder.register_transform(_redaction)

_runtime: Runtime | None = None
_lock = threading.RLock()
_atexit_registered = False
# Called with the new runtime (or None) whenever it changes: see watch().
_watchers: list[Callable[[Runtime | None], object]] = []
# Settings that shape spans: fixed by the first init() until shutdown() (see the docstring).
_SPAN_SETTINGS = (
    "tracing",
    "service_name",
    "service_version",
    "environment",
    "resource_attributes",
    "sampler",
    "sampler_arg",
    "traces_exporter",
    "otlp_endpoint",
    "otlp_traces_endpoint",
    "otlp_protocol",
    "otlp_headers",
    "otlp_timeout",
    "lean_spans",
)


def current() -> Runtime | None:
    """The active runtime, or ``None`` before ``init()`` / after ``shutdown()``."""
    return _runtime


def watch(callback: Callable[[Runtime | None], object]) -> None:
    """Call ``callback(runtime)`` now and whenever ``init()``/``shutdown()`` change the runtime.

    For state derived from the runtime that the request path reads on every request (the
    adapters' ``inbound.active``): kept current here instead of checked per request.
    """
    _watchers.append(callback)
    callback(_runtime)


def _set(runtime: Runtime | None) -> None:
    global _runtime
    _runtime = runtime
    for callback in _watchers:
        callback(runtime)


def init(arguments: dict[str, Any]) -> Runtime:
    """Resolve settings and install tracing, logging, propagation and client patches."""
    global _atexit_registered
    explicit_patch = arguments.get("patch") is not None
    settings = resolve(arguments)
    with _lock:
        if _runtime is not None:
            if _runtime.settings == settings:
                return _runtime
            _refuse_span_changes(_runtime.settings, settings)
            _log.debug("msatrace: init() called again with new settings; reconfiguring")
            propagation = Propagation(settings)
            patching.unpatch_all()
            reporting = Reporting.from_settings(settings)  # a bad notify entry: nothing changed
            configure.configure(settings)
            rt = Runtime(
                settings,
                _runtime.tracing,
                propagation,
                frozenset(settings.exclude_paths) | own_paths(settings),
                _runtime.previous_textmap,
                _metrics_again(_runtime, settings),
            )
            _report_with(reporting)
            _set(rt)
            _install_textmap(settings, propagation)
            _patch_clients(settings, explicit_patch)
            _watch_sigterm(settings.flush_on_sigterm)
            return rt
        _check_clients(settings, explicit_patch)
        propagation = Propagation(settings)  # validates propagator names before any side effect
        tracer = tracing.install(settings)
        try:
            reporting = Reporting.from_settings(settings)
            configure.configure(settings)
            recorded = metrics.build(settings, _GAUGES)
        except BaseException:
            tracer.shutdown(0)  # no half-initialised provider left global for the next init()
            raise
        previous = otel_propagate().get_global_textmap()
        _announce(settings, tracer)
        rt = Runtime(
            settings,
            tracer,
            propagation,
            frozenset(settings.exclude_paths) | own_paths(settings),
            previous,
            recorded,
        )
        _report_with(reporting)
        _set(rt)
        _install_textmap(settings, propagation)
        _patch_clients(settings, explicit_patch)
        _watch_sigterm(settings.flush_on_sigterm)
        if not _atexit_registered:
            atexit.register(_at_exit)
            _atexit_registered = True
        return rt


_METRICS_SETTINGS = (
    "metrics_exporter",
    "metrics_path",
    "metrics_port",
    "metrics_address",
    "metrics_cardinality_limit",
    "metrics_dir",
    "otlp_metrics_endpoint",
    "metrics_export_interval",
    "otlp_protocol",
    "resource_attributes",
    "shutdown_timeout",
    "service_name",
    "service_version",
    "environment",
)


# Read at each scrape: every health check's state, the metric the generated alerts page on.
_GAUGES = (
    ScrapeGauge(
        semconv.METRIC_HEALTH_CHECK_STATUS,
        "1",
        (semconv.MSATRACE_HEALTH_CHECK, semconv.MSATRACE_HEALTH_CRITICAL),
        "Each health check's state: 1 pass, 0 fail (or warn, for a non-critical check).",
        HEALTH.status_rows,
    ),
)


def _metrics_again(old: Runtime, settings: Settings) -> metrics.Metrics | None:
    """A second init(): the same metrics (and counts) unless their settings changed."""
    if all(getattr(old.settings, n) == getattr(settings, n) for n in _METRICS_SETTINGS):
        return old.metrics
    built = metrics.build(settings, _GAUGES)
    if old.metrics is not None:
        with contextlib.suppress(Exception):
            old.metrics.close()
    return built


# Error reports (notifiers configured): handed every captured exception; None without notifiers.
_reporting: Reporting | None = None


def _report_with(reporting: Reporting | None) -> None:
    """Install what every captured exception is handed to (``errors.capture``) for this init():
    msatrace's exception line, and the error reports when notifiers are configured."""
    global _reporting
    previous, _reporting = _reporting, reporting
    reporters: tuple[capture.Reporter, ...] = (_exception_line,)
    if previous is not None:
        HEALTH.unlisten(previous.health_changed)
    if reporting is not None:
        reporters += (reporting.report,)
        HEALTH.listen(reporting.health_changed)  # a check's change of state is reported too
    logged = reporting is not None and reporting.settings.error_capture_logged
    capture.install(reporters, report_logged=logged)
    if previous is not None and previous is not reporting:
        with contextlib.suppress(Exception):
            previous.close()


def reporting() -> Reporting | None:
    """The error reports of this init(), or None (no notifier configured, or not initialised)."""
    return _reporting


def _report_with_none() -> None:
    global _reporting
    _reporting = None


def _exception_line(event: capture.Captured) -> None:
    """msatrace's line for a captured exception, when the capture decided it is the one."""
    if event.write_line:
        builder.log_exception(event.logger, event.message, event.error, **event.fields)


def _announce(settings: Settings, installed: tracing.Tracing) -> None:
    """Once per init(), after logging is set up: where spans go, and misspelt variables."""
    _log.info(tracing.destination(settings, installed))
    unknown = unknown_variables(os.environ)
    if unknown:
        _log.warning("msatrace: unknown environment variable(s) ignored: %s", ", ".join(unknown))


def _refuse_span_changes(old: Settings, new: Settings) -> None:
    changed = [n for n in _SPAN_SETTINGS if getattr(old, n) != getattr(new, n)]
    if changed:
        detail = ", ".join(f"{n}={getattr(new, n)!r} (now {getattr(old, n)!r})" for n in changed)
        raise ConfigError(
            f"init() called again with {detail}: settings that shape spans (service, "
            "resource, sampler, exporter) cannot change while msatrace runs; call "
            "msatrace.shutdown() first, or init() again with the same values"
        )


def _check_clients(settings: Settings, explicit: bool) -> None:
    for name in settings.patch:
        library = CLIENT_ADAPTERS[name][0]
        if importlib.util.find_spec(library) is None:
            if explicit:
                raise ConfigError(
                    f"patch={name!r}: {library} is not installed; install 'msatrace[{name}]' "
                    "or remove it from patch / MSATRACE_PATCH"
                )
            _log.debug("msatrace: %s is not installed; not patching it", library)


def _install_textmap(settings: Settings, propagation: Propagation) -> None:
    props: list[TextMapPropagator] = []
    for name in settings.propagators:
        if name == "tracecontext":
            props.append(TraceContextPropagator())
        elif name == "xtraceid":
            props.append(XTraceIdPropagator())
    props.extend(propagation.others)
    otel_propagate().set_global_textmap(CompositePropagator(props))


def _patch_clients(settings: Settings, explicit: bool) -> None:
    patching.enable()
    if settings.propagate_threads:
        threads.patch()
    if settings.error_excepthooks:
        excepthooks.install()
    sentry.install(settings.trace_url)  # Sentry's events carry our trace ID, if it is used
    for name in settings.patch:
        library, adapter, entry = CLIENT_ADAPTERS[name]
        if importlib.util.find_spec(library) is None:
            continue

        def hook(_: ModuleType, adapter: str = adapter, entry: str = entry) -> None:
            patching.call_when_loaded(adapter, entry)

        patching.when_imported(library, hook)


def unpatch() -> None:
    """Restore every client library msatrace patched."""
    patching.unpatch_all()


def server_started() -> None:
    """A server has set up its own logging (``uvicorn.run(app)`` does, after an ``init()`` at
    import): route its loggers through msatrace again, so no line is printed twice."""
    if _runtime is not None:
        configure.adopt_framework_loggers()


def flush(timeout: float | None = None) -> bool:
    """Export the spans buffered so far, waiting at most ``timeout`` seconds (default: the
    ``shutdown_timeout`` setting); True if everything was handed over in time. Never raises."""
    runtime = _runtime
    if runtime is None:
        return True
    bound = runtime.settings.shutdown_timeout if timeout is None else timeout
    return runtime.tracing.flush(bound)


def shutdown(timeout: float = 5.0) -> None:
    """Flush buffered spans (waiting at most ``timeout`` seconds) and undo ``init()``."""
    with _lock:
        runtime = _runtime
        if runtime is None:
            return
        _set(None)
        capture.install(())
        if _reporting is not None:
            HEALTH.unlisten(_reporting.health_changed)
            with contextlib.suppress(Exception):
                _reporting.close()  # pending reports and digests, within their own bound
            _report_with_none()
        _watch_sigterm(False)
        patching.unpatch_all()
        try:
            if runtime.metrics is not None:
                with contextlib.suppress(Exception):
                    runtime.metrics.close()
            runtime.tracing.shutdown(timeout)
        finally:
            if runtime.previous_textmap is not None:
                otel_propagate().set_global_textmap(runtime.previous_textmap)
            configure.unconfigure()


def _at_exit() -> None:
    runtime = _runtime
    if runtime is not None:
        with contextlib.suppress(Exception):
            shutdown(runtime.settings.shutdown_timeout)


def _watch_sigterm(wanted: bool) -> None:
    """Install (or remove) :func:`_on_sigterm`, only where SIGTERM has its default action.

    A handler the application or its server installed (gunicorn's worker, uvicorn while it
    serves) ends the process its own way, through ``atexit`` or the ASGI lifespan: left alone.
    Signal handlers can only be set from the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    with contextlib.suppress(ValueError, OSError):
        current = signal.getsignal(signal.SIGTERM)
        if wanted and current is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _on_sigterm)
        elif not wanted and current is _on_sigterm:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _on_sigterm(signum: int, frame: object) -> None:
    # SIGTERM's default action ends the process before atexit runs, losing the queued spans:
    # flush them (within the shutdown bound), then let the signal end the process as before,
    # with the same exit status.
    runtime = _runtime
    if runtime is not None:
        with contextlib.suppress(Exception):
            shutdown(runtime.settings.shutdown_timeout)
    signal.signal(signum, signal.SIG_DFL)
    signal.raise_signal(signum)
