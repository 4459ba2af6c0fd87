"""Debug on error and debug on demand: which lines of a request are kept, written or dropped.

``buffer`` holds the per-request mode (a ``ContextVar``, so threads and asyncio tasks the request
starts share it, and no other request ever sees it): nothing (the normal level), a bounded
buffer of the lines below the level (debug on error), or DEBUG for the whole request (debug on
demand). ``demand`` signs and checks the debug-on-demand token. Writing the lines is the event
builder's job (``_core.logs``), deciding when the lifecycles' (``_core.lifecycle``).

Imports: the standard library, opentelemetry (baggage) and ``msatrace._core`` (config, safety).
"""
