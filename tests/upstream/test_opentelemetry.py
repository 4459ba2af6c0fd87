"""OpenTelemetry entries: suppression keys, the global provider's reset, span and baggage keys."""

from __future__ import annotations

import subprocess
import sys

import pytest
from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState
from opentelemetry.version import __version__ as otel_version

import msatrace
from msatrace._core import upstream
from tests.upstream.conftest import canary


@pytest.mark.parametrize(
    "name", ["_SUPPRESS_INSTRUMENTATION_KEY", "_SUPPRESS_HTTP_INSTRUMENTATION_KEY"]
)
def test_canary_suppress_keys(name: str) -> None:
    """OpenTelemetry still keeps its suppression keys as strings under these names."""
    found = upstream._suppress_key(name, "plain")

    message = canary("otel.suppress-keys", f"opentelemetry-api {otel_version}", name)
    assert found == getattr(otel_context, name, None), message
    assert "otel.suppress-keys" not in upstream.fallen_back(), message


def test_suppress_keys_fall_back_to_the_plain_spelling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the private key the probe answers the plain spelling and reports the entry."""
    monkeypatch.delattr(otel_context, "_SUPPRESS_HTTP_INSTRUMENTATION_KEY")

    found = upstream._suppress_key(
        "_SUPPRESS_HTTP_INSTRUMENTATION_KEY", "suppress_http_instrumentation"
    )

    assert found == "suppress_http_instrumentation"
    assert upstream.fallen_back() == {"otel.suppress-keys"}


def test_client_adapters_import_without_the_suppression_keys() -> None:
    """With both keys gone from OpenTelemetry, the client adapters still import and patch."""
    code = (
        "import opentelemetry.sdk.trace.export\n"  # the SDK imports them itself: loaded first
        "import opentelemetry.context as c\n"
        "del c._SUPPRESS_INSTRUMENTATION_KEY, c._SUPPRESS_HTTP_INSTRUMENTATION_KEY\n"
        "import msatrace, msatrace.httpx, msatrace.requests\n"
        "from msatrace._core import upstream\n"
        "msatrace.init(service_name='t', traces_exporter='none')\n"
        "print(upstream.SUPPRESS_HTTP_INSTRUMENTATION_KEY, sorted(upstream.fallen_back()))\n"
    )

    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )

    assert done.returncode == 0, done.stderr
    assert "suppress_http_instrumentation ['otel.suppress-keys']" in done.stdout.splitlines()


@pytest.fixture
def no_global_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenTelemetry's global provider unset for this test, put back as it was afterwards."""
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    monkeypatch.setattr(trace, "_TRACER_PROVIDER_SET_ONCE", type(trace._TRACER_PROVIDER_SET_ONCE)())


def test_canary_tracer_provider_once(no_global_provider: None) -> None:
    """The provider set once can be un-set, and a second provider then installs."""
    first, second = TracerProvider(), TracerProvider()
    trace.set_tracer_provider(first)

    forgotten = upstream.forget_tracer_provider(first)
    trace.set_tracer_provider(second)

    message = canary(
        "otel.tracer-provider-once", f"opentelemetry-api {otel_version}", "the global provider"
    )
    assert forgotten, message
    assert trace.get_tracer_provider() is second, message


def test_shutdown_never_raises_when_the_set_once_flag_changed(
    monkeypatch: pytest.MonkeyPatch, no_global_provider: None, env: pytest.MonkeyPatch
) -> None:
    """Without ``_TRACER_PROVIDER_SET_ONCE``, shutdown() resets nothing and raises nothing."""
    msatrace.init(service_name="t", traces_exporter="none")
    installed = trace.get_tracer_provider()
    monkeypatch.delattr(trace, "_TRACER_PROVIDER_SET_ONCE")

    msatrace.shutdown()

    assert trace.get_tracer_provider() is installed
    assert upstream.fallen_back() == {"otel.tracer-provider-once"}


def test_canary_span_key() -> None:
    """``set_span_in_context`` writes one string key that ``get_current_span`` reads back."""
    span = NonRecordingSpan(SpanContext(1, 2, False, TraceFlags(1)))

    key = upstream._span_key()

    message = canary("otel.span-key", f"opentelemetry-api {otel_version}", "the span's key")
    assert key == upstream.SPAN_KEY, message
    assert trace.get_current_span(Context({key: span})) is span, message


def test_span_key_layout_change_fails_naming_the_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A context layout with more than one key fails loudly, naming the entry (no fallback)."""
    monkeypatch.setattr(trace, "set_span_in_context", lambda span, ctx: Context({"a": 1, "b": 2}))

    with pytest.raises(RuntimeError, match=r"otel\.span-key"):
        upstream._span_key()


def test_canary_baggage_key() -> None:
    """``set_baggage`` writes one string key holding the name/value mapping."""
    key = upstream._baggage_key()

    message = canary("otel.baggage-key", f"opentelemetry-api {otel_version}", "baggage's key")
    assert key is not None, message
    assert key == upstream.BAGGAGE_KEY, message
    assert baggage.set_baggage("k", "v", Context())[key] == {"k": "v"}, message


def test_baggage_key_falls_back_to_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another layout gives ``None`` (propagation then calls the baggage propagator each time)."""
    monkeypatch.setattr(baggage, "set_baggage", lambda *a, **k: Context({"a": 1, "b": 2}))

    assert upstream._baggage_key() is None
    assert upstream.fallen_back() == {"otel.baggage-key"}


def test_canary_span_context_is_its_declared_tuple() -> None:
    """``SpanContext`` reads as ``(trace_id, span_id, is_remote, flags, state, is_valid)``."""
    state = TraceState([("k", "v")])
    sc = SpanContext(7, 9, True, TraceFlags(1), state)

    message = canary("otel.span-context-tuple", f"opentelemetry-api {otel_version}", "its layout")
    assert tuple(sc) == (7, 9, True, TraceFlags(1), state, True), message
