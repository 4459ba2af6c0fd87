"""Fixtures for background-work tests: msatrace initialised, spans and log events captured."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import msatrace
import msatrace.testing

# Every task test runs on each span path: lean tracer, SDK tracer, adopted provider.
from tests.span_paths import pytest_generate_tests, span_path

__all__ = ["Captured", "pytest_generate_tests", "span_path"]


@dataclass
class Captured:
    """What a test saw: finished spans and log events."""

    spans: InMemorySpanExporter
    events: list[dict[str, Any]]

    def logged(self, event: str) -> list[dict[str, Any]]:
        """The log events whose message is ``event``."""
        return [e for e in self.events if e.get("event") == event]

    def wait_for(self, predicate: Callable[[Captured], bool], timeout: float = 30.0) -> None:
        """Wait until ``predicate(self)`` holds (a worker finishes after its result is stored)."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"never satisfied; events: {self.events[-10:]}")
            time.sleep(0.01)


@pytest.fixture
def captured(env: pytest.MonkeyPatch) -> Iterator[Captured]:
    """msatrace initialised (no client patches); every span and log event recorded."""
    msatrace.init(service_name="worker", environment="production", patch="none")
    with msatrace.testing.capture_spans() as spans, msatrace.testing.capture_logs() as events:
        yield Captured(spans, events)


@pytest.fixture
def threads_off(env: pytest.MonkeyPatch) -> Iterator[Captured]:
    """As ``captured``, with ``propagate_threads=False``: threads and pools as Python made them."""
    msatrace.init(
        service_name="worker", environment="production", patch="none", propagate_threads=False
    )
    with msatrace.testing.capture_spans() as spans, msatrace.testing.capture_logs() as events:
        yield Captured(spans, events)
