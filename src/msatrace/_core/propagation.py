"""The old path of ``XTraceIdPropagator``, kept importable; the class is in ``trace.propagation``.

An install made before ``_core/trace/`` existed (an editable install not reinstalled since) still
names ``msatrace._core.propagation:XTraceIdPropagator`` as its ``opentelemetry_propagator`` entry
point; ``OTEL_PROPAGATORS=xtraceid`` must keep loading through it. Today's entry point names the
public ``msatrace:XTraceIdPropagator``. Nothing in msatrace imports this module.

Imports: ``msatrace._core.trace.propagation`` only.
"""

from __future__ import annotations

from msatrace._core.trace.propagation import XTraceIdPropagator

__all__ = ["XTraceIdPropagator"]
