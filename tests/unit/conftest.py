"""Fixtures of the unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.fixed_trace import fixed_trace


@pytest.fixture
def in_trace() -> Iterator[None]:
    """Run the test inside a span with fixed trace and span IDs (``tests.fixed_trace``)."""
    with fixed_trace():
        yield
