"""Canary tests for ``msatrace._core.upstream``: each entry's shape, and its public fallback.

A canary fails with the entry's name (as ``upstream``'s docstring lists it) when an installed
release of the library changes what msatrace relies on; ``nox -s prerelease`` runs them against
the newest pre-releases. Each fallback test simulates the change with monkeypatch.
"""

from __future__ import annotations

import pytest

from msatrace._core import upstream
from tests.outbound.conftest import echo, traced

__all__ = ["echo", "fresh_probes", "traced"]


@pytest.fixture(autouse=True)
def fresh_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test probes afresh and leaves the probes' caches and "fell back" record as they were."""
    monkeypatch.setattr(upstream, "_fell_back", set())
    monkeypatch.setattr(upstream, "_hop_methods", {})
    monkeypatch.setattr(upstream, "_provider_once_ok", None)


def canary(entry: str, library: str, what: str) -> str:
    """The failure message of a canary: which entry, which release, what changed."""
    return f"upstream entry {entry}: {library} changed {what}; see msatrace._core.upstream"
