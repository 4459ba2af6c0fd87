"""Framework-free core of msatrace: stdlib, opentelemetry, structlog, wrapt and orjson only."""

from __future__ import annotations
