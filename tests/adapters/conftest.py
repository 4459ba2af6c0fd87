"""Every adapter test runs on each span path: lean tracer, SDK tracer, adopted provider."""

from __future__ import annotations

from tests.span_paths import pytest_generate_tests, span_path

__all__ = ["pytest_generate_tests", "span_path"]
