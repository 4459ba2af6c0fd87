"""The OpenTelemetry SDK's own variables that msatrace documents: checked in ``init()``.

The SDK reads these itself when msatrace builds the ``TracerProvider`` (span limits) and the
``BatchSpanProcessor``; a value it cannot use surfaces there as its ``ValueError`` (or as an
``OverflowError`` at the first span), before msatrace could name the variable. ``check`` accepts
exactly what the SDK handles and refuses the rest with a ``ConfigError``. The configuration
reference lists them from ``SDK_VARIABLES``.

Imports: the standard library and ``msatrace._core.config.parsers``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from msatrace._core.config import parsers as parse
from msatrace.exceptions import ConfigError


@dataclass(frozen=True)
class SdkVariable:
    """An OpenTelemetry SDK variable the SDK reads itself; msatrace checks its value in init()."""

    name: str
    parse: Callable[[str, str], Any]
    doc: str


SDK_VARIABLES: tuple[SdkVariable, ...] = (
    SdkVariable("OTEL_BSP_SCHEDULE_DELAY", parse.positive, "Milliseconds between two exports."),
    SdkVariable(
        "OTEL_BSP_EXPORT_TIMEOUT", parse.count, "Milliseconds one export may take (`0`: none)."
    ),
    SdkVariable("OTEL_BSP_MAX_QUEUE_SIZE", parse.positive, "Spans kept waiting for export."),
    SdkVariable(
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        parse.positive,
        "Spans per export; at most `OTEL_BSP_MAX_QUEUE_SIZE`.",
    ),
    SdkVariable("OTEL_ATTRIBUTE_COUNT_LIMIT", parse.limit, "Attributes per span, event and link."),
    SdkVariable(
        "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", parse.limit, "Characters per attribute value."
    ),
    SdkVariable("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", parse.limit, "Attributes per span."),
    SdkVariable(
        "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
        parse.limit,
        "Characters per span attribute value.",
    ),
    SdkVariable("OTEL_SPAN_EVENT_COUNT_LIMIT", parse.limit, "Events per span."),
    SdkVariable("OTEL_SPAN_LINK_COUNT_LIMIT", parse.limit, "Links per span."),
    SdkVariable("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", parse.limit, "Attributes per span event."),
    SdkVariable("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", parse.limit, "Attributes per span link."),
)
# The SDK's defaults, for the one check between two of them.
_BSP_DEFAULTS = {"OTEL_BSP_MAX_QUEUE_SIZE": 2048, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": 512}


def check_sdk_variables(env: Mapping[str, str]) -> None:
    """Refuse a value of an SDK variable that the SDK would fail on, naming the variable.

    Raises:
        ConfigError: naming the variable, the value seen and what is accepted.
    """
    seen: dict[str, Any] = {}
    for var in SDK_VARIABLES:
        if var.name in env:
            seen[var.name] = var.parse(env[var.name], var.name)
    queue, batch = (
        seen.get(name, default) for name, default in _BSP_DEFAULTS.items()
    )  # BatchSpanProcessor: max_export_batch_size <= max_queue_size
    if batch > queue:
        name = next(n for n in _BSP_DEFAULTS if n in seen)
        raise ConfigError(
            f"{name}={env[name]!r}: OTEL_BSP_MAX_EXPORT_BATCH_SIZE ({batch}) must not be larger "
            f"than OTEL_BSP_MAX_QUEUE_SIZE ({queue})"
        )
