"""Which tracer makes msatrace's spans: the lean one, or the SDK's when asked or when needed."""

from __future__ import annotations

import logging

import pytest
from opentelemetry.sdk.trace import SpanProcessor, SynchronousMultiSpanProcessor, Tracer
from opentelemetry.trace import SpanKind

import msatrace
from msatrace import testing
from msatrace._core import runtime
from msatrace._core.spans import leanshape
from msatrace._core.spans.lean import LeanTracer
from msatrace._core.spans.tracing import start_span
from msatrace.exceptions import ConfigError


def _tracer() -> object:
    rt = runtime.current()
    assert rt is not None
    return rt.tracing.tracer


def test_the_lean_tracer_is_the_default(env: pytest.MonkeyPatch) -> None:
    """With the provider msatrace installs, its own spans come from the lean tracer."""
    msatrace.init(service_name="svc")

    assert type(_tracer()) is LeanTracer


@pytest.mark.parametrize("how", ["argument", "variable"])
def test_lean_spans_false_uses_the_sdk_tracer(env: pytest.MonkeyPatch, how: str) -> None:
    """lean_spans=False (or MSATRACE_LEAN_SPANS=false): the provider's SDK tracer, same scope."""
    if how == "variable":
        env.setenv("MSATRACE_LEAN_SPANS", "false")
    msatrace.init(service_name="svc", **({"lean_spans": False} if how == "argument" else {}))
    rt = runtime.current()
    assert rt is not None

    with testing.capture_spans() as exporter:
        start_span(rt.tracing, "op", SpanKind.INTERNAL, None, {"a": 1}).end()

    assert type(_tracer()) is Tracer
    (span,) = exporter.get_finished_spans()
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "msatrace"
    assert dict(span.attributes or {}) == {"a": 1}


def test_a_bad_lean_spans_value_is_refused(env: pytest.MonkeyPatch) -> None:
    """MSATRACE_LEAN_SPANS takes a boolean; anything else names the variable."""
    env.setenv("MSATRACE_LEAN_SPANS", "maybe")

    with pytest.raises(ConfigError, match="MSATRACE_LEAN_SPANS"):
        msatrace.init(service_name="svc")


def test_an_sdk_of_another_shape_gets_the_sdk_tracer_and_one_warning(
    env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A shape check that fails at install: SDK tracer, and one warning naming the entry."""

    def changed(processor: SpanProcessor) -> str | None:
        return "reads back something else"

    env.setattr(leanshape, "ENTRIES", {**leanshape.ENTRIES, "BoundedList": changed})

    with caplog.at_level(logging.WARNING, logger="msatrace"):
        msatrace.init(service_name="svc")

    assert type(_tracer()) is Tracer
    warnings = [r.getMessage() for r in caplog.records if r.name == "msatrace"]
    assert len(warnings) == 1
    assert "BoundedList: reads back something else" in warnings[0]
    assert "lean_spans=false" in warnings[0]


def test_the_installed_sdk_has_the_shape_the_lean_tracer_needs() -> None:
    """Every shape check passes on the OpenTelemetry SDK installed here."""
    assert leanshape.unusable(SynchronousMultiSpanProcessor()) is None  # type: ignore[no-untyped-call]
