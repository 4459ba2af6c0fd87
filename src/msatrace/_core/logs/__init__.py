"""Logs: every line msatrace writes or bridges, built, rendered and written here.

``configure``: structlog's configuration, the standard-library bridge, levels and ``get_logger``.
``builder``: the one event builder every line goes through (structlog calls, bridged records,
exception lines, access lines), with the event transforms where redaction hooks in. ``stdlib``: the
standard-library bridge, the gates of ``Logger``'s methods (debug on error), the levels they read,
and what a standard-library record says. ``levels``: ``set_log_level``. ``render``: the JSON line,
the output. ``console``: the console line, for eyes. ``throttle``: OpenTelemetry's own repeated
lines cut to one a minute. ``access``: msatrace's access line, one per request. Within the package:
``access`` and ``levels`` above ``configure`` above ``stdlib`` above ``builder`` above ``console``
above ``render`` and ``throttle`` (import-linter). Knows which trace is current
(``_core.trace.context``), never starts a span.

Imports: the standard library, opentelemetry, structlog, orjson, ``_core.config``, ``_core.trace``,
``_core.safety`` and ``_core.semconv``; never spans, the lifecycles or ``runtime`` (import-linter).
Callers import the module they need; this package re-exports nothing.
"""
