"""Spans: the TracerProvider msatrace installs or adopts, and how msatrace starts its spans.

The provider and the one way a span is started (``tracing``), what the provider is built from:
its resource, sampler and exporter (``setup``); the lean tracer used for a provider msatrace
owns (``lean``), the span it records (``leanspan``) and the check, at install, that the SDK
still has the shape they rely on (``leanshape``); bounded, counted export (``export``). Decides
nothing about requests: the lifecycles say which span to start and when to end it.

Imports: the standard library, opentelemetry, ``msatrace.exceptions``, ``msatrace._version``,
``_core.config``, ``_core.trace``, ``_core.safety`` and ``_core.semconv``; never logs, the
lifecycles or ``runtime`` (import-linter). Callers import the module they need; this package
re-exports nothing.
"""
