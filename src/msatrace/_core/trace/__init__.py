"""Trace context: which trace are we in, and what carries it across a boundary.

The current trace and the fields bound to it (``context``), the pure parsers and formatters of
trace headers (``headers``), W3C Trace Context for OpenTelemetry's objects (``tracecontext``),
the propagators and the trust-at-the-edge policy (``propagation``), and the hand-over of the
context to another thread (``threads``). Nothing here starts a span or writes a log line.

Imports: the standard library, opentelemetry, ``msatrace.exceptions``, ``_core.config``,
``_core.patching``, ``_core.safety`` and ``_core.semconv``; never spans, logs, the lifecycles or
``runtime`` (import-linter). Callers import the module they need; this package re-exports nothing.
"""
