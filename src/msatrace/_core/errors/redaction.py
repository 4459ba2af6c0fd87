"""Error reports through the same redaction as log lines, before any of them leaves the process.

A report carries free text the application wrote: each exception's message, the source lines
shown around in-app frames (a literal in a ``raise`` line is there too), the route and the user
ID. :func:`redact_event` passes each through the :class:`~msatrace._core.redact.engine.Redactor`
that ``init()`` built from the ``redact*`` settings, the one every log line goes through, so a
value redacted in the logs is redacted in Slack, Jira, PagerDuty and every other notifier too.
IDs msatrace made (trace, span, request, fingerprint) and where the code is (file, module,
function, line number) are left as they are, as the log lines' schema fields are.

Runs on the delivery thread (``Dispatcher``), once per report-worthy occurrence: the request only
queues. The fingerprint is computed before, from the exception itself, so redaction never splits
or merges groups.

Imports: the standard library, ``_core.redact`` and this package.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from msatrace._core.errors.event import ErrorEvent, ExceptionInfo, Frame
from msatrace._core.redact.engine import Redactor

Redact = Callable[[ErrorEvent], ErrorEvent]


def event_redactor(redactor: Redactor) -> Redact | None:
    """What the dispatcher applies to each event; ``None`` with redaction off."""
    if not redactor.enabled:
        return None
    return lambda event: redact_event(redactor, event)


def redact_event(redactor: Redactor, event: ErrorEvent) -> ErrorEvent:
    """A copy of ``event`` with its free text redacted (``event`` itself when nothing changed)."""
    exceptions = tuple(_exception(redactor, e) for e in event.exceptions)
    route = redactor.url(event.route) if event.route else event.route
    user_id = redactor.text(event.user_id) if event.user_id else event.user_id
    changed = (
        route is not event.route
        or user_id is not event.user_id
        or any(a is not b for a, b in zip(exceptions, event.exceptions, strict=True))
    )
    if not changed:
        return event
    return dataclasses.replace(event, exceptions=exceptions, route=route, user_id=user_id)


def _exception(redactor: Redactor, info: ExceptionInfo) -> ExceptionInfo:
    message = redactor.text(info.message)
    frames = tuple(_frame(redactor, f) for f in info.frames)
    if message is info.message and all(a is b for a, b in zip(frames, info.frames, strict=True)):
        return info
    return dataclasses.replace(info, message=message, frames=frames)


def _frame(redactor: Redactor, frame: Frame) -> Frame:
    if not frame.context:
        return frame
    context = tuple(redactor.text(line) for line in frame.context)
    if all(a is b for a, b in zip(context, frame.context, strict=True)):
        return frame
    return dataclasses.replace(frame, context=context)
