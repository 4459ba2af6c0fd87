"""Logging: one JSON log event through msatrace's logger and through the loggers users pick instead.

Every variant lives in one process and writes one line per event to the same sink: the real
``sys.stdout`` of the worker, whose descriptor points at ``/dev/null`` (each line is written and
flushed, as on a container's stdout). The event is the same everywhere: ``info("user logged in",
user="alice", attempt=3)``.

- ``msatrace``: ``msatrace.get_logger()`` after ``msatrace.init()`` (JSON, production), called
  inside an active, sampled SDK span with a request ID bound, as in a request handler: the line
  carries timestamp, level, logger, event, service, environment, version, trace_id, span_id,
  request_id and the call's fields.
- ``structlog-orjson``: raw structlog (``add_log_level``, ``TimeStamper(iso, utc)``,
  ``JSONRenderer(orjson.dumps)``, ``BytesLogger``, filtering bound logger): no trace fields.
- ``structlog-json``: the same with the standard library's ``json`` and ``PrintLogger``.
- ``stdlib-pjl``: ``logging`` with python-json-logger's ``JsonFormatter`` on a ``StreamHandler``.
- ``loguru``: loguru with ``serialize=True``.
- ``*-below``: a ``debug()`` call while the level is INFO (nothing is written).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from _harness import Batch, timed
from _setup import init_msatrace

UNAVAILABLE: dict[str, str] = {}
MESSAGE = "user logged in"


def build(group: str) -> dict[str, Batch]:
    variants: dict[str, Batch] = {}
    variants.update(_msatrace())
    variants.update(_structlog())
    variants.update(_stdlib())
    variants.update(_loguru())
    return variants


def _msatrace() -> dict[str, Batch]:
    from opentelemetry import context as otel_context
    from opentelemetry import trace

    import msatrace
    from msatrace._core.trace import context

    rt = init_msatrace(drop_spans=True)
    assert rt.tracing.tracer is not None
    span = rt.tracing.tracer.start_span("GET /orders/{order_id}", kind=trace.SpanKind.SERVER)
    log = msatrace.get_logger("bench.orders")

    def in_request(op: Any) -> Batch:
        inner = timed(op)

        def batch(n: int) -> int:
            token = otel_context.attach(trace.set_span_in_context(span))
            scope = context.start_scope({"request_id": "3f1c2a9e-bench"})
            try:
                return inner(n)
            finally:
                context.end_scope(scope)
                otel_context.detach(token)

        return batch

    return {
        "logging:msatrace": in_request(lambda: log.info(MESSAGE, user="alice", attempt=3)),
        "logging:msatrace-below": in_request(lambda: log.debug(MESSAGE, user="alice", attempt=3)),
    }


def _structlog() -> dict[str, Batch]:
    import json

    import orjson
    import structlog

    fast = structlog.wrap_logger(
        structlog.BytesLogger(sys.stdout.buffer),
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        cache_logger_on_first_use=True,
    )
    std = structlog.wrap_logger(
        structlog.PrintLogger(sys.stdout),
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(serializer=json.dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        cache_logger_on_first_use=True,
    )
    return {
        "logging:structlog-orjson": timed(lambda: fast.info(MESSAGE, user="alice", attempt=3)),
        "logging:structlog-orjson-below": timed(
            lambda: fast.debug(MESSAGE, user="alice", attempt=3)
        ),
        "logging:structlog-json": timed(lambda: std.info(MESSAGE, user="alice", attempt=3)),
    }


def _stdlib() -> dict[str, Batch]:
    try:
        from pythonjsonlogger.json import JsonFormatter
    except ImportError:
        UNAVAILABLE["logging:stdlib-pjl"] = "python-json-logger is not installed"
        return {}
    logger = logging.getLogger("bench.pjl")
    logger.propagate = False  # msatrace's bridge on the root logger must not see these records
    logger.setLevel(logging.INFO)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger.addHandler(handler)
    extra = {"user": "alice", "attempt": 3}
    return {
        "logging:stdlib-pjl": timed(lambda: logger.info(MESSAGE, extra=extra)),
        "logging:stdlib-below": timed(lambda: logger.debug(MESSAGE, extra=extra)),
    }


def _loguru() -> dict[str, Batch]:
    try:
        from loguru import logger
    except ImportError:
        UNAVAILABLE["logging:loguru"] = "loguru is not installed"
        return {}
    logger.remove()
    logger.add(sys.stdout, serialize=True, level="INFO")
    return {"logging:loguru": timed(lambda: logger.info(MESSAGE, user="alice", attempt=3))}
