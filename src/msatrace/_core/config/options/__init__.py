"""The settings table, one module per area, joined in the order the options were added.

Each area module holds its rows (``Option``: name, environment variables, parser, default, docs)
and the defaults only it uses. ``OPTIONS`` keeps the order of the table as it grew, which is the
order of the generated configuration reference (docs/hooks.py) and of ``msatrace.init()``'s
keywords: a new area's rows go at its end.

Imports: the standard library, ``msatrace.exceptions``, ``_core.semconv`` and the configuration's
``parsers`` and ``redaction``.
"""

from __future__ import annotations

from msatrace._core.config.options import debug, errors, health, metrics, redact, service, tracing
from msatrace._core.config.options.option import Option

OPTIONS: tuple[Option, ...] = (
    *service.OPTIONS,
    *tracing.OPTIONS,
    *health.OPTIONS,
    *metrics.OPTIONS,
    *errors.OPTIONS,
    *redact.OPTIONS,
    *tracing.SPANS,
    *debug.OPTIONS,
    *metrics.OTLP,
    *errors.CAPTURE_POINTS,
)

__all__ = ["OPTIONS", "Option"]
