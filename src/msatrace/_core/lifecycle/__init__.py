"""The lifecycles: one incoming request, one outgoing call, one task, from begin to end.

An incoming request (``inbound``, with ``environ`` reading the CGI-style variables of WSGI and
Django), an outgoing HTTP call (``outbound``) and each of its hops (``hop``), background work
(``tasks``) and queue messages (``messages``); how each ended is an ``outcome``, handed to the
sinks chosen at ``init()``. Each decides what its span, headers, log fields and error policy
are, using the layers below; the adapters only translate their framework's objects into these
calls.

Imports: the standard library, opentelemetry, ``_core.config``, ``_core.trace``, ``_core.spans``,
``_core.logs``, ``_core.runtime`` (the state ``init()`` set up, read per request),
``_core.patching``, ``_core.safety`` and ``_core.semconv``; never a framework, never an adapter
(import-linter). Callers import the module they need; this package re-exports nothing.
"""
