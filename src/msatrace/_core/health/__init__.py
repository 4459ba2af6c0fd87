"""Health: the checks that say whether this process and its dependencies can serve.

A registry of checks (``registry``) that runs them concurrently, each with its own timeout, caches
the results for a short time so frequent probes do not hammer a dependency, and notices when a
check changes state; the built-in probes (``probes``: an HTTP URL, a TCP port, Redis, a Celery
broker, disk space); and the ``application/health+json`` response of the IETF draft "Health Check
Response Format for HTTP APIs" (``report``). Knows nothing of frameworks: adapters serve the bytes.

Imports: the standard library, ``_core.safety``; never spans, logs, the lifecycles or ``runtime``.
Callers import the module they need; this package re-exports nothing.
"""
