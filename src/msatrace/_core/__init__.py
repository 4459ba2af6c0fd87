"""Framework-free core of msatrace: stdlib, opentelemetry, structlog, wrapt and orjson only.

Grouped by meaning, each group a subpackage whose ``__init__`` docstring says its one job and
what it may import; import-linter (``pyproject.toml``) holds the layers, top to bottom:

- ``lifecycle``: one incoming request, one outgoing call, one task, from begin to end;
- ``runtime``: ``init()`` / ``shutdown()`` and the record of what they installed, which the
  lifecycles read per request;
- ``spans`` and ``logs`` (independent of each other): the TracerProvider and how spans start;
  every log line msatrace writes or bridges;
- ``redact``: personal data and secrets replaced in log events, span attributes, URLs and text
  (spans and logs call it);
- ``trace``: which trace is current, and what carries it across a boundary;
- ``config``: the settings, resolved once in ``init()``;
- ``patching``, then ``safety``, ``semconv`` and ``upstream``: the patch registry; "never raise
  into the application"; the semantic-convention names (attribute keys, span names) every layer
  writes; every private or undocumented third-party name msatrace touches, each probed once with
  a public fallback (standard library, opentelemetry and structlog only).

Metrics, error capture and health are to sit beside ``spans`` and ``logs``, below the
lifecycles. ``propagation`` at this level only keeps an old import path working (see its
docstring). The subpackages re-export nothing: callers import the module they need.
"""

from __future__ import annotations
