"""Errors: one capture point per exception the application lets out of a request or a task.

``capture`` decides, for each exception handed to it, which line logs it (msatrace's own, or one
the application or its framework already wrote at ERROR), remembers that decision without writing
anything onto the application's exception object, and hands one event per capture to the
reporters ``init()`` registered: today the one that writes msatrace's exception line; error
reporting (fingerprints, notifiers) attaches here too.

Sits below ``logs`` (the log bridge asks it whether an exception's line is already written) and
above ``trace`` and ``redact`` (reports go through the log lines' redaction: ``redaction``).
Imports: the standard library, ``_core.safety``, ``_core.config``, ``_core.trace`` and
``_core.redact``; never logs, spans, the lifecycles or ``runtime`` (import-linter). Callers
import the module they need; this package re-exports nothing.
"""

from __future__ import annotations
