"""Sentry users: msatrace's trace and request IDs on Sentry's events."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from tests.conftest import need

import msatrace


@pytest.fixture
def sentry_events() -> Iterator[list[dict[str, Any]]]:
    """sentry_sdk initialised with a transport that keeps the events it would send."""
    sentry_sdk = need("sentry_sdk")
    transport_mod = need("sentry_sdk.transport")
    events: list[dict[str, Any]] = []

    class Keep(transport_mod.Transport):  # type: ignore[misc]
        def capture_envelope(self, envelope: Any) -> None:
            event = envelope.get_event()
            if event is not None:
                events.append(event)

    # No integration: Sentry's patch threads, logging and frameworks for the whole process, and
    # never undo it (the rest of the suite would run under them).
    quiet = {"default_integrations": False, "auto_enabling_integrations": False}
    sentry_sdk.init(dsn="https://key@127.0.0.1/1", transport=Keep, **quiet)
    try:
        yield events
    finally:
        sentry_sdk.init(**quiet)  # no DSN: a client that sends nothing


def test_sentry_events_carry_the_trace_and_request_ids(
    sentry_events: list[dict[str, Any]],
) -> None:
    """An exception Sentry captures inside a span has msatrace's IDs as tags, and the link;
    after shutdown(), nothing is added."""
    import sentry_sdk
    from opentelemetry import trace

    msatrace.init(
        service_name="svc", patch="none", trace_url="https://grafana.example/trace/{trace_id}"
    )
    with trace.get_tracer("t").start_as_current_span("work"), msatrace.bound(request_id="r-7"):
        trace_id = msatrace.current_trace_id()
        try:
            raise ValueError("payment declined")
        except ValueError as exc:
            sentry_sdk.capture_exception(exc)
    msatrace.shutdown()
    sentry_sdk.capture_message("after shutdown")

    first, after = sentry_events
    assert first["tags"]["msatrace.trace_id"] == trace_id
    assert first["tags"]["msatrace.request_id"] == "r-7"
    assert first["contexts"]["msatrace"]["trace_url"] == f"https://grafana.example/trace/{trace_id}"
    assert "msatrace.trace_id" not in after.get("tags", {})


SENTRY_FIRST = """
import threading, sentry_sdk, msatrace
from sentry_sdk.integrations.threading import ThreadingIntegration

sentry_sdk.init(integrations=[ThreadingIntegration()], default_integrations=False,
                auto_enabling_integrations=False)
msatrace.init(service_name="svc", patch="none")
seen = []
with msatrace.bound(request_id="o-1"):
    t = threading.Thread(target=lambda: seen.append(msatrace.current_request_id()))
    t.start()
    t.join()
print(seen)
"""


def test_threads_run_when_sentry_patched_them_before_init() -> None:
    """Sentry's threading integration, then msatrace: a thread runs, with the caller's fields
    (Sentry calls ``run.__func__(thread)``; msatrace's run was a partial without one)."""
    need("sentry_sdk")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}

    done = subprocess.run(
        [sys.executable, "-c", SENTRY_FIRST], capture_output=True, text=True, env=env, timeout=60
    )

    assert done.stdout.strip().splitlines()[-1] == "['o-1']", done.stderr[-2000:]
