"""Junk in every documented variable: init() succeeds or raises a ConfigError naming the variable.

Each variable gets random text, numbers written every way, huge integers, whitespace and
near-misses of valid values. ``attempt`` runs what a service runs: ``init()``, one span with an
attribute, an event and a link (span limits are applied there), and ``shutdown()``; an exception
in a background thread (the batch span processor's worker) counts as a failure too.
"""

from __future__ import annotations

import os
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry import trace

import msatrace
from msatrace.exceptions import ConfigError

# Every variable the configuration reference documents, msatrace's and OpenTelemetry's.
VARIABLES = (
    "MSATRACE_SERVICE_NAME", "OTEL_SERVICE_NAME", "MSATRACE_SERVICE_VERSION",
    "MSATRACE_ENVIRONMENT", "MSATRACE_LOG_LEVEL", "MSATRACE_LOG_LEVELS", "MSATRACE_LOG_FORMAT",
    "MSATRACE_PROPAGATORS", "OTEL_PROPAGATORS", "MSATRACE_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER",
    "MSATRACE_TRACES_SAMPLER_ARG", "OTEL_TRACES_SAMPLER_ARG", "MSATRACE_TRACING",
    "MSATRACE_TRACES_EXPORTER", "OTEL_TRACES_EXPORTER",
    "MSATRACE_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT",
    "MSATRACE_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "MSATRACE_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL",
    "MSATRACE_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS",
    "MSATRACE_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT",
    "MSATRACE_TRACE_HEADER", "MSATRACE_REQUEST_ID_HEADER", "MSATRACE_PATCH",
    "MSATRACE_PROPAGATE_TO", "MSATRACE_TRUST_INCOMING", "MSATRACE_EXCLUDE_PATHS",
    "MSATRACE_ACCESS_LOG", "MSATRACE_EXPOSE_HEADERS", "MSATRACE_PROPAGATE_THREADS",
    "MSATRACE_SHUTDOWN_TIMEOUT", "MSATRACE_FLUSH_ON_SIGTERM",
    "MSATRACE_HEALTH", "MSATRACE_HEALTH_LIVE_PATH", "MSATRACE_HEALTH_READY_PATH",
    "MSATRACE_HEALTH_PATH", "MSATRACE_HEALTH_PATH_ANSWERS", "MSATRACE_HEALTH_CACHE_TTL",
    "MSATRACE_HEALTH_TOKEN",
    # --- metrics ---
    "MSATRACE_METRICS_EXPORTER", "OTEL_METRICS_EXPORTER", "MSATRACE_METRICS_PATH",
    "MSATRACE_METRICS_PORT", "MSATRACE_METRICS_ADDRESS", "MSATRACE_METRICS_CARDINALITY_LIMIT",
    "MSATRACE_METRICS_DIR", "PROMETHEUS_MULTIPROC_DIR",
    "MSATRACE_NOTIFY", "MSATRACE_TRACE_URL", "MSATRACE_ERRORS_REDIS_URL",
    "MSATRACE_ERROR_DIGEST_WINDOW", "MSATRACE_ERROR_QUIET_PERIOD", "MSATRACE_ERROR_RATE_LIMIT",
    "MSATRACE_REDACT", "MSATRACE_REDACT_KEYS", "MSATRACE_REDACT_ALLOW_KEYS",
    "MSATRACE_REDACT_PATTERNS", "MSATRACE_REDACT_HASH", "MSATRACE_REDACT_HASH_SECRET",
    "MSATRACE_REDACT_KEEP_LAST4", "MSATRACE_REDACT_IP",
    "MSATRACE_LEAN_SPANS",
    "MSATRACE_DEBUG_ON_ERROR", "MSATRACE_DEBUG_BUFFER_LINES", "MSATRACE_DEBUG_BUFFER_BYTES",
    "MSATRACE_DEBUG_SECRET", "MSATRACE_DEBUG_HEADER_NAME", "MSATRACE_DEBUG_SAMPLE_RATE",
    "MSATRACE_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "MSATRACE_METRICS_EXPORT_INTERVAL", "OTEL_METRIC_EXPORT_INTERVAL",
    "MSATRACE_ERROR_CAPTURE_LOGGED", "MSATRACE_ERROR_EXCEPTHOOKS",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_SDK_DISABLED",
    "OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_EXPORT_TIMEOUT", "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_SPAN_EVENT_COUNT_LIMIT",
    "OTEL_SPAN_LINK_COUNT_LIMIT", "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
)  # fmt: skip

# What an environment variable can hold: any text but NUL (the OS cannot store it) and lone
# surrogates other than those os.environ makes from undecodable bytes.
ENV_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=30,
)
NUMBERS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["0", "-1", "1e400", "nan", "-inf", "1_000", "٣", "+5", "0x10", "1.5"]),
)
NEAR_MISSES = st.sampled_from(
    [
        "", " ", "\t", "\n", "none", "all", "true", "maybe", "WARN", "warn", "b3", "b3multi",
        "jaeger", "tracecontext,,baggage", "TraceContext", "http://", "https://", " http://a ",
        "http://127.0.0.1:99999", "http://[::1", "http://[::1]:4318", "http://h:0", "grpc",
        "http/json", "http/protobuf", "a=b", "=b", "a=", "a=\n", "x y=z", "re:(", "99999999999",
        "2147483648", "unset", "qa", "dev-eu", "pre prod", "x" * 300, "http://h:4318/v1/traces",
    ]
)  # fmt: skip
JUNK = st.one_of(ENV_TEXT, NUMBERS, NEAR_MISSES)
# Variables that only matter alongside another: the batch span processor exists only when spans
# are exported (to the console here: tests stay offline).
COMPANIONS = {"OTEL_BSP_": {"OTEL_TRACES_EXPORTER": "console"}}


def attempt(variable: str, value: str) -> str | None:
    """``None`` if ``init()`` with ``variable=value`` succeeded or raised a ConfigError naming it.

    Otherwise a one-line description of what went wrong.
    """
    crashed: list[BaseException] = []
    previous_hook = threading.excepthook
    threading.excepthook = lambda args: crashed.append(args.exc_value or RuntimeError())
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith(("OTEL_", "MSATRACE_")):
                mp.delenv(name)
        for prefix, companions in COMPANIONS.items():
            if variable.startswith(prefix):
                for name, companion in companions.items():
                    mp.setenv(name, companion)
        mp.setenv(variable, value)
        try:
            outcome = _init_and_trace()
        except ConfigError as exc:
            outcome = None if variable in str(exc) else f"ConfigError without the name: {exc}"
        except Exception as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        finally:
            try:
                msatrace.shutdown(timeout=1)
            except Exception as exc:
                outcome = f"shutdown: {type(exc).__name__}: {exc}"
            threading.excepthook = previous_hook
    if crashed and outcome is None:
        outcome = f"in a thread: {type(crashed[0]).__name__}: {crashed[0]}"
    return outcome


def _init_and_trace() -> None:
    settings = msatrace.init()
    if settings.traces_exporter == "otlp":
        return  # a span would be sent to whatever host the value names: tests stay offline
    tracer = trace.get_tracer("fuzz")
    parent = tracer.start_span("parent")
    link = trace.Link(parent.get_span_context(), {"k": "v"})
    with tracer.start_as_current_span("s", attributes={"a": "x" * 10}, links=[link]) as span:
        span.add_event("e", {"k": "v"})
    parent.end()


@pytest.mark.parametrize("variable", VARIABLES)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=JUNK)
def test_junk_in_a_variable_gives_success_or_a_config_error_naming_it(
    variable: str, value: str
) -> None:
    """init() with any value of a documented variable works or names that variable."""

    outcome = attempt(variable, value)

    assert outcome is None, f"{variable}={value!r}: {outcome}"


def test_the_fuzz_covers_every_documented_variable() -> None:
    """Every variable of the settings table and of the SDK's table is in VARIABLES."""
    from msatrace._core.config.sdkvars import SDK_VARIABLES
    from msatrace._core.config.settings import OPTIONS

    documented = {v for o in OPTIONS for v in o.env} | {v.name for v in SDK_VARIABLES}
    documented |= {"OTEL_RESOURCE_ATTRIBUTES", "OTEL_SDK_DISABLED"}

    assert documented <= set(VARIABLES), documented - set(VARIABLES)
