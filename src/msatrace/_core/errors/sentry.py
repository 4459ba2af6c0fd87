"""Sentry users: msatrace's trace and request IDs on every Sentry event, to find one from the other.

When ``sentry_sdk`` is imported (now or later), one global event processor is added through its
public ``sentry_sdk.scope.add_global_event_processor``: each event Sentry sends while msatrace is
initialised carries the tags ``msatrace.trace_id`` and ``msatrace.request_id`` (the IDs current
where it was captured, the ones msatrace's log lines, spans and error reports carry) and, with
``trace_url``, a ``msatrace`` context holding the trace's link. Search Sentry for
``msatrace.trace_id:<id>`` from a Slack report or a log line; open the trace from a Sentry event.

Sentry keeps no way to remove a global processor: it is added once per process and does nothing
after ``shutdown()`` (``unpatch_all`` turns it off; the next ``init()`` on again).

This module never imports ``sentry_sdk``: the post-import hook hands it the module.

Imports: the standard library, ``_core.patching``, ``_core.trace`` and this package.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from msatrace._core import patching
from msatrace._core.errors.notify._text import trace_url
from msatrace._core.trace import context

KEY = "errors.sentry"
_state: dict[str, Any] = {"on": False, "added": False, "trace_url": None}


def install(trace_url_template: str | None) -> None:
    """Tag Sentry's events from now until ``unpatch_all()`` (once sentry_sdk is imported)."""
    _state["trace_url"] = trace_url_template
    if patching.record(KEY, _off):
        patching.when_imported("sentry_sdk", _add)


def _off() -> None:
    _state["on"] = False


def _add(sentry_sdk: ModuleType) -> None:
    _state["on"] = True
    if not _state["added"]:
        sentry_sdk.scope.add_global_event_processor(tag_event)
        _state["added"] = True


def tag_event(event: Any, hint: Any) -> Any:
    """Sentry's event processor: the current trace and request IDs as tags. Never raises."""
    if not _state["on"] or not isinstance(event, dict):
        return event
    try:
        trace_id = context.current_trace_id()
        request_id = context.current_request_id()
        if trace_id is None and request_id is None:
            return event
        tags = event.setdefault("tags", {})
        if isinstance(tags, dict):
            if trace_id is not None:
                tags["msatrace.trace_id"] = trace_id
            if request_id is not None:
                tags["msatrace.request_id"] = request_id
        link = trace_url(_state["trace_url"], trace_id)
        contexts = event.setdefault("contexts", {})
        if link and isinstance(contexts, dict):
            contexts["msatrace"] = {"trace_id": trace_id, "trace_url": link}
    except Exception:  # Sentry's event must go out whatever happens here
        return event
    return event
