"""Properties of the debug-on-demand token: its parser and its binding to one trace and key."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

import msatrace
from msatrace._core.debug import demand

SECRET = "s3cret-for-tests-only"
trace_ids = st.text("0123456789abcdef", min_size=32, max_size=32).filter(lambda t: set(t) != {"0"})


@given(st.text())
def test_parse_takes_any_text_and_returns_a_token_or_none(value: str) -> None:
    """Any text parses to None or to (expiry, 64 hex digits), never raises."""
    parsed = demand.parse(value)

    assert parsed is None or (
        isinstance(parsed[0], int)
        and len(parsed[1]) == 64
        and set(parsed[1]) <= set("0123456789abcdef")
    )


@given(st.binary().map(lambda b: b.decode("latin-1")))
def test_verify_never_trusts_arbitrary_text(value: str) -> None:
    """Random text is never a valid token."""
    assert not demand.verify(SECRET.encode(), value, "4bf92f3577b34da6a3ce929d0e0e4736", 0)


@given(trace_ids, trace_ids)
def test_a_token_is_valid_for_its_trace_only(trace_id: str, other: str) -> None:
    """A token verifies for the trace it was made for, and for no other."""
    token = msatrace.debug_header(SECRET, trace_id, 60)

    assert demand.verify(SECRET.encode(), token, trace_id, time.time())
    assert demand.verify(SECRET.encode(), token, other, time.time()) is (other == trace_id)


@given(trace_ids, st.integers(min_value=0, max_value=199), st.sampled_from("0123456789abcdef.v"))
def test_any_changed_character_invalidates_the_token(trace_id: str, at: int, char: str) -> None:
    """Changing any one character of a token makes it invalid."""
    token = msatrace.debug_header(SECRET, trace_id, 60)
    at %= len(token)
    changed = token[:at] + char + token[at + 1 :]

    valid = demand.verify(SECRET.encode(), changed, trace_id, time.time())

    assert valid is (changed == token)


@given(trace_ids, st.text(min_size=16, max_size=40))
def test_a_token_made_with_another_key_is_invalid(trace_id: str, key: str) -> None:
    """A token signed with any other key does not verify."""
    token = msatrace.debug_header(key, trace_id, 60)

    assert demand.verify(SECRET.encode(), token, trace_id, time.time()) is (key == SECRET)


@given(trace_ids, st.integers(min_value=1, max_value=10**6))
def test_a_token_expires(trace_id: str, later: int) -> None:
    """Past its expiry a token is no longer valid."""
    token = msatrace.debug_header(SECRET, trace_id, 60)
    parsed = demand.parse(token)
    assert parsed is not None

    assert not demand.verify(SECRET.encode(), token, trace_id, parsed[0] + later)
