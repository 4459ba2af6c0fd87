"""Noise control: first occurrence now, repeats as one digest per window, storms capped."""

from __future__ import annotations

from msatrace._core.errors.event import ErrorEvent, ExceptionInfo
from msatrace._core.errors.noise import Noise


def _event(fp: str = "f" * 32, trace: str | None = None) -> ErrorEvent:
    info = ExceptionInfo(type="ValueError", message="boom", frames=())
    return ErrorEvent(fingerprint=fp, exceptions=(info,), timestamp=0.0, trace_id=trace)


def test_first_occurrence_now_then_one_digest_per_window() -> None:
    """1 report at once; 36 more are one digest with the count and at most 5 trace IDs."""
    noise = Noise(window=600, quiet=3600)
    first = noise.observe(_event(trace="t0"), 1000.0)
    assert first is not None
    assert (first.kind, first.count, first.trace_ids) == ("new", 1, ("t0",))
    for i in range(36):
        assert noise.observe(_event(trace=f"t{i + 1}"), 1001.0 + i) is None
    assert noise.due(1500.0) == []  # window not over
    [digest] = noise.due(1600.0)
    assert (digest.kind, digest.count) == ("digest", 36)
    assert digest.trace_ids == ("t1", "t2", "t3", "t4", "t5")
    assert noise.due(2300.0) == []  # nothing new since


def test_a_bug_that_comes_back_after_quiet_is_reported_again() -> None:
    """Silence longer than ``quiet``, then the same fingerprint: reported at once as returned."""
    noise = Noise(window=60, quiet=300)
    assert noise.observe(_event(), 0.0) is not None
    again = noise.observe(_event(), 1000.0)
    assert again is not None
    assert again.kind == "returned"


def test_the_global_cap_turns_a_storm_of_bugs_into_digests() -> None:
    """Past the cap per minute, new bugs are counted, then sent as digests."""
    noise = Noise(window=60, cap_per_minute=3)
    reports = [noise.observe(_event(fp=f"{i:032x}"), 10.0 + i * 0.01) for i in range(10)]
    assert sum(r is not None for r in reports) == 3
    digests = noise.due(100.0)
    assert sorted(d.count for d in digests) == [1] * 7


def test_memory_is_bounded_and_evicted_counts_are_not_lost() -> None:
    """Past max_groups the least recently seen group goes, its pending count as a digest."""
    noise = Noise(window=600, max_groups=2, cap_per_minute=100)
    noise.observe(_event(fp="a" * 32), 0.0)
    noise.observe(_event(fp="a" * 32), 1.0)  # pending 1
    noise.observe(_event(fp="b" * 32), 2.0)
    noise.observe(_event(fp="c" * 32), 3.0)  # evicts a
    [digest] = noise.due(4.0)
    assert (digest.event.fingerprint, digest.count) == ("a" * 32, 1)


def test_final_due_sends_every_pending_digest() -> None:
    """At shutdown every pending count goes out, whatever the window."""
    noise = Noise(window=600)
    noise.observe(_event(), 0.0)
    noise.observe(_event(), 1.0)
    [digest] = noise.due(2.0, final=True)
    assert digest.count == 1
