"""Logs: every line msatrace writes or bridges, built, rendered and written here.

structlog configuration, the standard-library bridge and the event builder (``structured``), the
JSON and console renderers and the output (``render``), and msatrace's access line, one per
request (``access``). Knows which trace is current (``_core.trace.context``), never starts a span.

Imports: the standard library, opentelemetry, structlog, orjson, ``_core.config``, ``_core.trace``,
``_core.safety`` and ``_core.semconv``; never spans, the lifecycles or ``runtime`` (import-linter).
Callers import the module they need; this package re-exports nothing.
"""
