"""Configuration: what ``init()`` was asked for, resolved once into a frozen ``Settings``.

The settings (``settings``: ``Settings`` and ``resolve()``), the table of options with their
environment variables (``options``, one module per area), the value parsers (``parsers``,
``redaction``), the OpenTelemetry SDK variables msatrace checks (``sdkvars``) and the
minimum supported versions (``versions``, also loaded by path by the noxfile and the docs).
Nothing here runs per request.

Imports: the standard library, ``msatrace.exceptions`` and ``_core.semconv`` only: the lowest of
the groups, with only ``patching``, ``safety`` and ``semconv`` below it (import-linter). Callers
import the module they need; this package re-exports nothing.
"""
