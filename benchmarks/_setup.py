"""msatrace set up as the benchmarks measure it, and a span exporter that drops every batch.

``init_msatrace(**overrides)`` calls ``msatrace.init()`` with the settings every benchmark shares
(a production service at INFO writing JSON lines, to the process's stdout, which the benchmarks
point at ``/dev/null``; no span exporter of msatrace's own; no client library patched), the
benchmark's own settings on top. With ``drop_spans=True``, spans then go where production sends
them: the provider msatrace installed gets a ``BatchSpanProcessor`` whose exporter drops the batch
(no network).
"""

from __future__ import annotations

from typing import Any

SETTINGS: dict[str, Any] = {
    "service_name": "bench",
    "service_version": "1.0.0",
    "environment": "production",
    "log_level": "INFO",
    "log_format": "json",
    "traces_exporter": "none",
    "patch": "none",
}


def init_msatrace(*, drop_spans: bool = False, **overrides: Any) -> Any:
    """``msatrace.init()`` with ``SETTINGS`` and ``overrides``; the runtime it set up."""
    import msatrace
    from msatrace._core import runtime

    msatrace.init(**{**SETTINGS, **overrides})
    rt = runtime.current()
    assert rt is not None
    if drop_spans and rt.tracing.provider is not None:
        add_dropping_processor(rt.tracing.provider)
    return rt


def noop_exporter() -> Any:
    """An SDK span exporter that drops every batch it is given."""
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class Noop(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    return Noop()


def add_dropping_processor(provider: Any) -> None:
    """A ``BatchSpanProcessor`` of ``noop_exporter()`` on ``provider``."""
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider.add_span_processor(BatchSpanProcessor(noop_exporter()))
